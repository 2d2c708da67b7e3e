// Elementwise activations, forward and backward side by side:
//
//   forward:  output[i] = f(input[i])
//   backward: dinput[i] (+)= doutput[i] * f'(input[i])
//
// The backward pass recomputes f' from the saved forward INPUT, so every kind shares one
// interface. Forward is out of place: WebGPU forbids binding one buffer both read-only and
// read-write in the same dispatch.
//
// This part is shared: activation.wgsl appends the f32 bindings and an element a thread's
// entry points, activation_vec4.wgsl vec4 bindings and a vec4 a thread's, for lengths of a
// multiple of 4.

struct ActivationParams {
    len: u32,        // elements
    kind: u32,       // 0 relu, 1 leaky relu, 2 selu, 3 tanh, 4 sigmoid
    slope: f32,      // leaky relu: f(x) = slope * x for x <= 0
    accumulate: u32, // backward: 1 adds into dinput instead of overwriting it
}

@group(0) @binding(0) var<uniform> p: ActivationParams;
// Bindings 1-4: input, doutput (backward only), output (forward only), dinput (backward only).

const GROUP: u32 = 256u;

const RELU: u32 = 0u;
const LEAKY_RELU: u32 = 1u;
const SELU: u32 = 2u;
const TANH: u32 = 3u;
const SIGMOID: u32 = 4u;

// PyTorch's SELU constants (Klambauer et al. 2017).
const SELU_ALPHA: f32 = 1.6732632423543772;
const SELU_SCALE: f32 = 1.0507009873554805;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// tanh(10) already rounds to 1 in f32; clamping keeps an implementation that computes
// (e^2x - 1) / (e^2x + 1) away from inf / inf = NaN at large |x|.
fn stable_tanh(x: f32) -> f32 {
    return tanh(clamp(x, -10.0, 10.0));
}

// sigma(x) = 1 / (1 + e^-x) = e^x / (1 + e^x): exp only ever sees -|x|, so it cannot overflow.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn activate(x: f32) -> f32 {
    switch p.kind {
        case RELU: {
            return max(x, 0.0);
        }
        case LEAKY_RELU: {
            return select(p.slope * x, x, x > 0.0);
        }
        case SELU: {
            // scale * alpha * (e^x - 1) for x <= 0; min keeps exp finite in the discarded branch
            return SELU_SCALE * select(SELU_ALPHA * (exp(min(x, 0.0)) - 1.0), x, x > 0.0);
        }
        case TANH: {
            return stable_tanh(x);
        }
        case SIGMOID, default: {
            return sigmoid(x);
        }
    }
}

// f'(x). At the kink of relu and leaky relu (x = 0) the left slope, as PyTorch.
fn derivative(x: f32) -> f32 {
    switch p.kind {
        case RELU: {
            return select(0.0, 1.0, x > 0.0);
        }
        case LEAKY_RELU: {
            return select(p.slope, 1.0, x > 0.0);
        }
        case SELU: {
            return SELU_SCALE * select(SELU_ALPHA * exp(min(x, 0.0)), 1.0, x > 0.0);
        }
        case TANH: {
            // d tanh = 1 - tanh^2
            let t = stable_tanh(x);
            return 1.0 - t * t;
        }
        case SIGMOID, default: {
            // d sigmoid = s (1 - s)
            let s = sigmoid(x);
            return s * (1.0 - s);
        }
    }
}

// In-place optimizer updates over param[0..len], one thread per element, as torch.optim:
//   adam: g = grad + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//         p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//   sgd:  g = grad + wd p;  momentum = mu momentum + g;  p -= lr momentum
//   clip: p = clamp(p, -c, c)   (the WGAN critic's weight clipping)
//   ema:  avg = beta avg + (1 - beta) p   (G_ema, the generator StyleGAN and ProGAN sample)
//   ema_copy: avg = p                      (initialises avg)
// The moving average lives here rather than in a shader of its own: it is one more in-place
// update over a parameter tensor, recorded after the optimizer's, and needs one more binding
// (avg; param is already bound) of the 8 storage buffers a stage may have (7 in all).
// Adam's step count t lives on the GPU in counter[counter_index], so that several steps can
// be recorded into one submission: `tick` adds 1 before the step's updates read it.

struct OptimParams {
    len: u32,           // elements updated
    counter_index: u32, // adam, tick: counter[counter_index] is the step count t
    clip: f32,          // clip: the bound c
    beta: f32,          // ema: the decay, in [0, 1]
}

// One optimizer's hyper-parameters, shared by the updates of all its tensors, so that one
// buffer write changes the learning rate of them all.
struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32, // L2 added to the gradient, as torch's weight_decay
    momentum: f32,     // sgd
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: OptimParams;
@group(0) @binding(1) var<uniform> hyper: Hyper;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;        // adam: first moment
@group(0) @binding(5) var<storage, read_write> v: array<f32>;        // adam: second moment
@group(0) @binding(6) var<storage, read_write> momentum: array<f32>; // sgd: momentum buffer
@group(0) @binding(7) var<storage, read_write> counter: array<u32>;
@group(0) @binding(8) var<storage, read_write> avg: array<f32>;      // ema: the average

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// counter[counter_index] += 1: one thread, recorded once per step before the updates.
@compute @workgroup_size(1)
fn tick() {
    counter[p.counter_index] += 1u;
}

// Four elements a thread: the step's two bias corrections (two pow calls) once for the four,
// and a quarter of the invocations: pix2pix64's 32 M parameters took 272 ms a step on
// lavapipe one element a thread, 208 so. What is left is the loads and stores, which lavapipe
// makes lane by lane (the arithmetic alone is a few ms).
@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let first = flat_id(wg, n, l) * 4u;
    if (first >= p.len) {
        return;
    }
    // t = 0 (no tick recorded) divides by 1 - b^0 = 0: the result is inf/NaN, not a silent error.
    let t = f32(counter[p.counter_index]);
    let c1 = 1.0 - pow(hyper.beta1, t);
    let c2 = 1.0 - pow(hyper.beta2, t);
    for (var j = 0u; j < 4u; j++) {
        let i = first + j;
        if (i < p.len) {
            // param read once: the two uses would be two loads, each a loop over the lanes
            // on CPU adapters, which cannot tell that the stores between do not alias it.
            let w = param[i];
            let g = grad[i] + hyper.weight_decay * w;
            let m_new = hyper.beta1 * m[i] + (1.0 - hyper.beta1) * g;
            let v_new = hyper.beta2 * v[i] + (1.0 - hyper.beta2) * g * g;
            m[i] = m_new;
            v[i] = v_new;
            let m_hat = m_new / c1;
            let v_hat = v_new / c2;
            param[i] = w - hyper.lr * m_hat / (sqrt(v_hat) + hyper.eps);
        }
    }
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i >= p.len) {
        return;
    }
    let g = grad[i] + hyper.weight_decay * param[i];
    // PyTorch sets the buffer to g on the first step; from a zeroed buffer mu 0 + g is g.
    let b = hyper.momentum * momentum[i] + g;
    momentum[i] = b;
    param[i] -= hyper.lr * b;
}

@compute @workgroup_size(256)
fn clip(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        param[i] = clamp(param[i], -p.clip, p.clip);
    }
}

@compute @workgroup_size(256)
fn ema(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        // As written in the reference, so that both round the same: two products and a sum.
        avg[i] = p.beta * avg[i] + (1.0 - p.beta) * param[i];
    }
}

@compute @workgroup_size(256)
fn ema_copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        avg[i] = param[i];
    }
}

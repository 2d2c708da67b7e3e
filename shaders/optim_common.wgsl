// In-place optimizer updates over param[0..len], as torch.optim:
//   adam: g = grad + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//         p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//   sgd:  g = grad + wd p;  momentum = mu momentum + g;  p -= lr momentum
//   clip: p = clamp(p, -c, c)   (the WGAN critic's weight clipping)
//   ema:  avg = beta avg + (1 - beta) p   (G_ema, the generator StyleGAN and ProGAN sample)
//   ema_copy: avg = p                      (initialises avg)
// The moving average lives here rather than in a shader of its own: it is one more in-place
// update over a parameter tensor, recorded after the optimizer's, and needs one more binding
// (avg; param is already bound) of the 8 storage buffers a stage may have (7 in all).
// This part is shared: optim.wgsl appends the f32 bindings and one element a thread's entry
// points, optim_vec4.wgsl vec4 bindings and Adam four elements a thread.
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
@group(0) @binding(7) var<storage, read_write> counter: array<u32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// counter[counter_index] += 1: one thread, recorded once per step before the updates.
@compute @workgroup_size(1)
fn tick() {
    counter[p.counter_index] += 1u;
}

// Adam's bias corrections (1 - b1^t, 1 - b2^t) at the step count the last tick left.
// t = 0 (no tick recorded) divides by 1 - b^0 = 0: the result is inf/NaN, not a silent error.
fn adam_corrections() -> vec2<f32> {
    let t = f32(counter[p.counter_index]);
    return vec2<f32>(1.0 - pow(hyper.beta1, t), 1.0 - pow(hyper.beta2, t));
}

// One Adam update of up to 4 elements: (param, m, v) after it, from param w, gradient grad and
// moments m and v, at bias corrections c. optim.wgsl's f32 adam uses lane x alone, so that
// both kernels round alike.
fn adam_update(w: vec4<f32>, grad: vec4<f32>, m: vec4<f32>, v: vec4<f32>, c: vec2<f32>) -> mat3x4<f32> {
    let g = grad + hyper.weight_decay * w;
    let m_new = hyper.beta1 * m + (1.0 - hyper.beta1) * g;
    let v_new = hyper.beta2 * v + (1.0 - hyper.beta2) * g * g;
    let m_hat = m_new / c.x;
    let v_hat = v_new / c.y;
    return mat3x4<f32>(w - hyper.lr * m_hat / (sqrt(v_hat) + hyper.eps), m_new, v_new);
}

// Image-sized losses between a prediction x[0..len] and a target t[0..len] (`input` and
// `targets`: WGSL reserves the word `target`), PyTorch's
// nn.L1Loss() and nn.MSELoss() (the mean over every element) times a weight λ:
//
//   kind 0  l1   loss = λ/len Σ |x - t|      dloss/dx = λ/len sign(x - t)     (sign 0 = 0)
//   kind 1  mse  loss = λ/len Σ (x - t)^2    dloss/dx = λ/len 2 (x - t)
//   and dloss/dt = -dloss/dx for both.
//
// pix2pix's λ·L1 (λ = 100), CycleGAN's cycle (λ = 10) and identity (0.5 λ) losses. The tensor
// has millions of elements, so the sum is split in two dispatches:
//   partial: workgroup g takes the segment [g·segment, (g + 1)·segment) (segment a multiple of
//            256: each pass of its threads reads 256 neighbours), writes the gradients of its
//            elements and the segment's sum into partials[g];
//   finish:  one workgroup sums the `groups` partials and writes λ/len times it into stats[slot].
// At most 1,024 workgroups (a quarter of a million threads, enough to fill a large GPU), so the
// grid needs no folding and `finish` reads at most 4 partials a thread. A term's path to the
// total is ceil(len / 262,144) running additions (2 for two 256×256 RGB images, 128 for the
// 32 Mi floats of WebGPU's largest default binding) and two trees of depth 8: a few dozen
// roundings, where one running f32 sum over the tensor would take len of them.

struct PixelLossParams {
    len: u32,                 // elements of x and t
    kind: u32,                // 0 l1, 1 mse
    segment: u32,             // elements per workgroup of `partial`, a multiple of 256
    groups: u32,              // workgroups of `partial`, so partials written
    loss_scale: f32,          // λ / len
    grad_scale: f32,          // λ / len (l1), 2 λ / len (mse)
    slot: u32,                // stats[slot] receives the loss
    accumulate_loss: u32,     // 1: stats[slot] += loss instead of =
    accumulate_grad: u32,     // 1: dinput += gradient instead of =
    write_dtargets: u32,      // 1: dtargets receives dloss/dt
    accumulate_dtargets: u32, // 1: dtargets += instead of =
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: PixelLossParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> dinput: array<f32>;
@group(0) @binding(4) var<storage, read_write> dtargets: array<f32>;  // a spare when unused
@group(0) @binding(5) var<storage, read_write> partials: array<f32>; // [groups]
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

const GROUP: u32 = 256u;

// Per element: the gradients written (or added) elementwise, the loss term summed per segment.
@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let g = wg.x;
    let begin = g * p.segment;
    let end = min(begin + p.segment, p.len);
    var sum = 0.0;
    for (var i = begin + l; i < end; i += GROUP) {
        let d = input[i] - targets[i];
        var grad: f32;
        if (p.kind == 0u) {
            sum += abs(d);
            // WGSL's sign(0) is 0, as PyTorch's: x = t gets no gradient.
            grad = p.grad_scale * sign(d);
        } else {
            sum += d * d;
            grad = p.grad_scale * d;
        }
        if (p.accumulate_grad != 0u) {
            dinput[i] += grad;
        } else {
            dinput[i] = grad;
        }
        if (p.write_dtargets != 0u) {
            if (p.accumulate_dtargets != 0u) {
                dtargets[i] -= grad;
            } else {
                dtargets[i] = -grad;
            }
        }
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        partials[g] = total;
    }
}

// One workgroup: stats[slot] (+)= λ/len Σ partials.
@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) l: u32) {
    var sum = 0.0;
    for (var g = l; g < p.groups; g += GROUP) {
        sum += partials[g];
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        let loss = p.loss_scale * total;
        if (p.accumulate_loss != 0u) {
            stats[p.slot] += loss;
        } else {
            stats[p.slot] = loss;
        }
    }
}

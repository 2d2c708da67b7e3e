// Batch normalisation over the channels of an NCHW tensor [batch, channels, pixels]
// (pixels = height * width; 1 after a dense layer), with PyTorch's semantics. For channel c,
// over its M = batch * pixels values:
//
//   train:    mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2   (biased)
//             xhat = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps)
//             y = gamma * xhat + beta
//             running_mean <- (1 - momentum) running_mean + momentum mean
//             running_var  <- (1 - momentum) running_var  + momentum var * M / (M - 1)  (unbiased)
//   eval:     y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
//   backward: dbeta = sum dy,   dgamma = sum dy * xhat
//             dx = gamma * invstd / M * (M dy - sum dy - xhat * sum dy * xhat)
//
// Entry points, in the order a step runs them: statistics, normalize (forward);
// backward_reduce, backward_input (backward). statistics and backward_reduce run one
// workgroup per channel and reduce in workgroup memory; the others one thread per element.
//
// Per-channel vectors travel in pairs, so that one layout of 8 storage buffers (WebGPU's
// default limit per stage) serves forward and backward; separately they would be 11:
//   affine  [2, channels] = [gamma; beta]
//   daffine [2, channels] = [dgamma; dbeta]
//   running [2, channels] = [running_mean; running_var]
//   saved   [4, channels] = [mean; invstd; sum dy; sum dy * xhat], from forward to backward

struct BatchNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    momentum: f32,
    eval: u32,       // normalize: 1 uses the running statistics instead of the saved batch ones
    accumulate: u32, // backward_reduce: 1 adds into daffine; backward_input: 1 adds into dinput
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: BatchNormParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read> affine: array<f32>;
@group(0) @binding(4) var<storage, read_write> running: array<f32>;
@group(0) @binding(5) var<storage, read_write> saved: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<storage, read_write> dinput: array<f32>;
@group(0) @binding(8) var<storage, read_write> daffine: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// Index in [batch, channels, pixels] of the i-th of the M values of channel c.
fn channel_element(c: u32, i: u32) -> u32 {
    return ((i / p.pixels) * p.channels + c) * p.pixels + i % p.pixels;
}

// Channel of element i of [batch, channels, pixels].
fn channel_of(i: u32) -> u32 {
    return (i / p.pixels) % p.channels;
}

var<workgroup> partial: array<vec2<f32>, 256>;

// Tree sum of two values at once over the workgroup; every thread gets the totals.
fn workgroup_sum(l: u32, v: vec2<f32>) -> vec2<f32> {
    partial[l] = v;
    workgroupBarrier();
    for (var half = GROUP / 2u; half > 0u; half /= 2u) {
        if (l < half) {
            partial[l] += partial[l + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

// One workgroup per channel: batch mean and invstd into saved, running statistics updated.
// Two passes (mean, then sum of squared deviations) rather than E[x^2] - mean^2, which
// cancels catastrophically in f32 when |mean| >> std.
@compute @workgroup_size(256)
fn statistics(@builtin(workgroup_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = g.x;
    let m = p.batch * p.pixels;
    var s = 0.0;
    for (var i = l; i < m; i += GROUP) {
        s += input[channel_element(c, i)];
    }
    let mean = workgroup_sum(l, vec2(s, 0.0)).x / f32(m);
    var q = 0.0;
    for (var i = l; i < m; i += GROUP) {
        let d = input[channel_element(c, i)] - mean;
        q += d * d;
    }
    let variance = workgroup_sum(l, vec2(q, 0.0)).x / f32(m);
    if (l == 0u) {
        let C = p.channels;
        saved[c] = mean;
        saved[C + c] = inverseSqrt(variance + p.eps);
        // The Rust side guarantees M >= 2, as PyTorch does in train mode.
        let unbiased = variance * f32(m) / f32(m - 1u);
        running[c] = mix(running[c], mean, p.momentum);
        running[C + c] = mix(running[C + c], unbiased, p.momentum);
    }
}

// y = gamma * (x - mean) * invstd + beta, from the batch statistics in saved (train) or the
// running ones (eval).
@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let C = p.channels;
    let c = channel_of(i);
    var mean: f32;
    var invstd: f32;
    if (p.eval != 0u) {
        mean = running[c];
        invstd = inverseSqrt(running[C + c] + p.eps);
    } else {
        mean = saved[c];
        invstd = saved[C + c];
    }
    output[i] = affine[c] * (input[i] - mean) * invstd + affine[C + c];
}

// One workgroup per channel: sum dy and sum dy * xhat, kept in saved for backward_input and
// written (or added) to dbeta and dgamma.
@compute @workgroup_size(256)
fn backward_reduce(@builtin(workgroup_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = g.x;
    let C = p.channels;
    let m = p.batch * p.pixels;
    let mean = saved[c];
    let invstd = saved[C + c];
    var s = vec2(0.0);
    for (var i = l; i < m; i += GROUP) {
        let k = channel_element(c, i);
        let dy = doutput[k];
        s += vec2(dy, dy * (input[k] - mean) * invstd);
    }
    let total = workgroup_sum(l, s);
    if (l == 0u) {
        saved[2u * C + c] = total.x;
        saved[3u * C + c] = total.y;
        if (p.accumulate != 0u) {
            daffine[c] += total.y;
            daffine[C + c] += total.x;
        } else {
            daffine[c] = total.y;
            daffine[C + c] = total.x;
        }
    }
}

// dx = gamma * invstd / M * (M dy - sum dy - xhat * sum dy * xhat): the gradient through the
// batch statistics as well as through the normalisation itself.
@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let C = p.channels;
    let c = channel_of(i);
    let m = f32(p.batch * p.pixels);
    let invstd = saved[C + c];
    let xhat = (input[i] - saved[c]) * invstd;
    let sum_dy = saved[2u * C + c];
    let sum_dy_xhat = saved[3u * C + c];
    let dx = affine[c] * invstd / m * (m * doutput[i] - sum_dy - xhat * sum_dy_xhat);
    if (p.accumulate != 0u) {
        dinput[i] += dx;
    } else {
        dinput[i] = dx;
    }
}

// Batch normalisation over the channels of an NCHW tensor [batch, channels, pixels]
// (pixels = height * width; 1 after a dense layer), with PyTorch's semantics. For channel c,
// over its M = batch * pixels values:
//
//   train:    mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2   (biased)
//             xhat = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps)
//             y = gamma * xhat + beta
//             running_mean <- (1 - w) running_mean + w mean
//             running_var  <- (1 - w) running_var  + w var * M / (M - 1)  (unbiased)
//             w = max(momentum, 1 / (n + 1)) after n updates: the plain average of the batches
//             seen until it is momentum's exponential one. PyTorch uses w = momentum from the
//             start, so its running variance spends ~20 updates on its way down from 1 and
//             eval-mode samples of a young generator come out flat gray; here the first update
//             takes the batch statistics whole.
//   eval:     y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
//   backward: dbeta = sum dy,   dgamma = sum dy * xhat
//             dx = gamma * invstd / M * (M dy - sum dy - xhat * sum dy * xhat)
//
// With RECTIFY, the ReLU or leaky ReLU that follows is done here too: output = r(y), r(y) = y
// for y > 0 and slope * y otherwise (slope >= 0: relu 0, DCGAN's leaky relu 0.2), and the
// gradient that arrives is d loss / d r(y), made d loss / d y by r'(y), which r(y) > 0 tells
// apart as well as y > 0 does (at 0 the left slope, as the activation kernel). One pass over the
// tensor less each way, and the pre-activation tensor is never written.
//
// Entry points, in the order a step runs them: statistics_partial, statistics, normalize
// (forward); backward_partial, backward_reduce, backward_input (backward). The per-channel
// reductions run in two stages with no workgroup memory and no barrier (which CPU adapters
// pay dearly for, and a dense layer's thousands of channels of 64 values each would pay
// thousands of times): one thread per (channel, segment) walks a contiguous slice of the
// channel's batch * pixels values, then one thread per channel combines the segments.
//
// Per-channel vectors travel in pairs, so that one layout of 8 storage buffers (WebGPU's
// default limit per stage) serves forward and backward; separately they would be 11:
//   affine  [2, channels] = [gamma; beta]
//   daffine [2, channels] = [dgamma; dbeta]
//   running [2, channels] + 1 = [running_mean; running_var; n], n the updates so far
//   saved   [4 + 2 * segments, channels] = [mean; invstd; sum dy; sum dy * xhat], from forward
//           to backward, then two rows per segment of partial results

struct BatchNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    momentum: f32,
    eval: u32,       // normalize: 1 uses the running statistics instead of the saved batch ones
    accumulate: u32, // backward_reduce: 1 adds into daffine; backward_input: 1 adds into dinput
    segments: u32,   // slices each channel's values are cut into for the reductions
    slope: f32,      // RECTIFY: r(y) = slope * y for y <= 0
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

// 1: the rectifier is fused (see the header). A constant, so that the plain layer pays nothing.
override RECTIFY: u32 = 0u;

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

// Channel of element i of [batch, channels, pixels].
fn channel_of(i: u32) -> u32 {
    return (i / p.pixels) % p.channels;
}

// The slice [begin, end) of channel c's M values that segment s reduces.
fn segment(s: u32) -> vec2<u32> {
    let m = p.batch * p.pixels;
    let len = (m + p.segments - 1u) / p.segments;
    return vec2(min(m, s * len), min(m, (s + 1u) * len));
}

// Channel c's values are walked as (image, pixel) pairs, stepped rather than divided per value.
fn value_at(i: u32) -> vec2<u32> {
    return vec2(i / p.pixels, i % p.pixels);
}

fn next_value(at: vec2<u32>) -> vec2<u32> {
    if (at.y + 1u == p.pixels) {
        return vec2(at.x + 1u, 0u);
    }
    return vec2(at.x, at.y + 1u);
}

fn value_index(at: vec2<u32>, c: u32) -> u32 {
    return (at.x * p.channels + c) * p.pixels + at.y;
}

// Row r of saved's per-segment partial results: [4 + 2 s + r, channels].
fn partial_at(s: u32, r: u32, c: u32) -> u32 {
    return (4u + 2u * s + r) * p.channels + c;
}

// Per (channel, segment): the slice's mean and sum of squared deviations from it, two passes
// over the slice (E[x^2] - mean^2 would cancel catastrophically in f32 when |mean| >> std).
@compute @workgroup_size(256)
fn statistics_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.channels * p.segments) {
        return;
    }
    let c = i % p.channels;
    let s = i / p.channels;
    let range = segment(s);
    var at = value_at(range.x);
    var sum = 0.0;
    for (var j = range.x; j < range.y; j++) {
        sum += input[value_index(at, c)];
        at = next_value(at);
    }
    let mean = sum / f32(max(1u, range.y - range.x));
    at = value_at(range.x);
    var m2 = 0.0;
    for (var j = range.x; j < range.y; j++) {
        let d = input[value_index(at, c)] - mean;
        m2 += d * d;
        at = next_value(at);
    }
    saved[partial_at(s, 0u, c)] = mean;
    saved[partial_at(s, 1u, c)] = m2;
}

// Per channel: the segments combined (Chan et al.'s pairwise formula), batch mean and invstd
// into saved, running statistics updated.
@compute @workgroup_size(256)
fn statistics(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = flat_id(g, n, l);
    if (c >= p.channels) {
        return;
    }
    var count = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var s = 0u; s < p.segments; s++) {
        let range = segment(s);
        let k = f32(range.y - range.x);
        if (k == 0.0) {
            continue;
        }
        let d = saved[partial_at(s, 0u, c)] - mean;
        let total = count + k;
        mean += d * k / total;
        m2 += saved[partial_at(s, 1u, c)] + d * d * count * k / total;
        count = total;
    }
    let m = p.batch * p.pixels;
    let variance = m2 / f32(m);
    let C = p.channels;
    saved[c] = mean;
    saved[C + c] = inverseSqrt(variance + p.eps);
    // The Rust side guarantees M >= 2, as PyTorch does in train mode.
    let unbiased = variance * f32(m) / f32(m - 1u);
    // n moves on in `normalize`, after every channel has read it.
    let w = max(p.momentum, 1.0 / (running[2u * C] + 1.0));
    running[c] = mix(running[c], mean, w);
    running[C + c] = mix(running[C + c], unbiased, w);
}

// r(y), or y itself without RECTIFY.
fn rectify(y: f32) -> f32 {
    if (RECTIFY == 0u) {
        return y;
    }
    return select(p.slope * y, y, y > 0.0);
}

// d loss / d y at element k: doutput, through r' from the output r(y) with RECTIFY.
fn upstream(k: u32) -> f32 {
    let d = doutput[k];
    if (RECTIFY == 0u) {
        return d;
    }
    return select(p.slope * d, d, output[k] > 0.0);
}

// y = gamma * (x - mean) * invstd + beta, from the batch statistics in saved (train) or the
// running ones (eval); r(y) with RECTIFY.
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
        if (i == 0u) {
            running[2u * C] += 1.0;
        }
    }
    output[i] = rectify(affine[c] * (input[i] - mean) * invstd + affine[C + c]);
}

// Per (channel, segment): the slice's sum dy and sum dy * xhat.
@compute @workgroup_size(256)
fn backward_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.channels * p.segments) {
        return;
    }
    let c = i % p.channels;
    let s = i / p.channels;
    let C = p.channels;
    let mean = saved[c];
    let invstd = saved[C + c];
    let range = segment(s);
    var at = value_at(range.x);
    var sums = vec2(0.0);
    for (var j = range.x; j < range.y; j++) {
        let k = value_index(at, c);
        let dy = upstream(k);
        sums += vec2(dy, dy * (input[k] - mean) * invstd);
        at = next_value(at);
    }
    saved[partial_at(s, 0u, c)] = sums.x;
    saved[partial_at(s, 1u, c)] = sums.y;
}

// Per channel: sum dy and sum dy * xhat over the segments, kept in saved for backward_input
// and written (or added) to dbeta and dgamma.
@compute @workgroup_size(256)
fn backward_reduce(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = flat_id(g, n, l);
    if (c >= p.channels) {
        return;
    }
    let C = p.channels;
    var total = vec2(0.0);
    for (var s = 0u; s < p.segments; s++) {
        total += vec2(saved[partial_at(s, 0u, c)], saved[partial_at(s, 1u, c)]);
    }
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
    let dx = affine[c] * invstd / m * (m * upstream(i) - sum_dy - xhat * sum_dy_xhat);
    if (p.accumulate != 0u) {
        dinput[i] += dx;
    } else {
        dinput[i] = dx;
    }
}

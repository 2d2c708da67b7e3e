// Instance normalisation of an NCHW tensor [batch, channels, pixels] (pixels = height * width),
// PyTorch's `InstanceNorm2d` as CycleGAN uses it (track_running_stats=False: train and eval
// alike normalise by the instance's own statistics). Each plane (n, c) is normalised over its
// M = pixels values:
//
//   mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2   (biased)
//   xhat = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps)
//   y = gamma_c * xhat + beta_c   (AFFINE; otherwise y = xhat, gamma = 1, beta = 0)
//   backward, per plane:   dx = gamma_c * invstd / M * (M dy - sum dy - xhat * sum dy * xhat)
//   backward, per channel: dbeta_c = sum_n sum dy,   dgamma_c = sum_n sum dy * xhat
//
// Entry points, in the order a step runs them: statistics_partial, statistics, normalize
// (forward); backward_partial, backward_reduce, [backward_params with AFFINE], backward_input
// (backward). A plane of a 256×256 image has 65,536 values, so its reductions are split as
// batch norm's are: one thread per (plane, segment) sums every segments-th value of the plane
// (segment s takes pixels s, s + S, s + 2S, ...: neighbouring threads read neighbouring
// pixels), then one thread per plane combines its segments. No workgroup memory, no barrier.
//
// Buffers, one layout for forward and backward (7 storage buffers, WebGPU allows 8):
//   affine  [2, channels] = [gamma; beta]     (a spare element without AFFINE)
//   daffine [2, channels] = [dgamma; dbeta]   (a spare element without AFFINE)
//   saved   [4 + 2 * segments, planes] = [mean; invstd; sum dy; sum dy * xhat], from forward
//           to backward, then two rows per segment of partial results; planes = batch * channels

struct InstanceNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    accumulate: u32, // backward_params: 1 adds into daffine; backward_input: 1 adds into dinput
    segments: u32,   // S: how many threads share each plane's reductions
    pad0: u32,
    pad1: u32,
}

// 1: affine parameters [gamma; beta] are read and their gradients written. A constant, so that
// the plain layer reads no parameters.
override AFFINE: u32 = 0u;

@group(0) @binding(0) var<uniform> p: InstanceNormParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read> affine: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read_write> dinput: array<f32>;
@group(0) @binding(7) var<storage, read_write> daffine: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn planes() -> u32 {
    return p.batch * p.channels;
}

// Row r of saved's per-segment partial results: [4 + 2 s + r, planes].
fn partial_at(s: u32, r: u32, plane: u32) -> u32 {
    return (4u + 2u * s + r) * planes() + plane;
}

// How many pixels segment s of a plane holds: s, s + S, ... below M.
fn segment_count(s: u32) -> u32 {
    if (s >= p.pixels) {
        return 0u;
    }
    return (p.pixels - s + p.segments - 1u) / p.segments;
}

fn gamma(c: u32) -> f32 {
    if (AFFINE == 0u) {
        return 1.0;
    }
    return affine[c];
}

fn beta(c: u32) -> f32 {
    if (AFFINE == 0u) {
        return 0.0;
    }
    return affine[p.channels + c];
}

// Per (plane, segment): the segment's mean and sum of squared deviations from it, two passes
// (E[x^2] - mean^2 would cancel catastrophically in f32 when |mean| >> std).
@compute @workgroup_size(256)
fn statistics_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.segments) {
        return;
    }
    let s = i % p.segments;
    let plane = i / p.segments;
    let base = plane * p.pixels;
    var sum = 0.0;
    for (var q = s; q < p.pixels; q += p.segments) {
        sum += input[base + q];
    }
    let mean = sum / f32(max(1u, segment_count(s)));
    var m2 = 0.0;
    for (var q = s; q < p.pixels; q += p.segments) {
        let d = input[base + q] - mean;
        m2 += d * d;
    }
    saved[partial_at(s, 0u, plane)] = mean;
    saved[partial_at(s, 1u, plane)] = m2;
}

// Per plane: the segments combined (Chan et al.'s pairwise formula) into the plane's mean and
// invstd.
@compute @workgroup_size(256)
fn statistics(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let plane = flat_id(g, n, l);
    if (plane >= planes()) {
        return;
    }
    var count = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var s = 0u; s < p.segments; s++) {
        let k = f32(segment_count(s));
        if (k == 0.0) {
            continue;
        }
        let d = saved[partial_at(s, 0u, plane)] - mean;
        let total = count + k;
        mean += d * k / total;
        m2 += saved[partial_at(s, 1u, plane)] + d * d * count * k / total;
        count = total;
    }
    saved[plane] = mean;
    saved[planes() + plane] = inverseSqrt(m2 / f32(p.pixels) + p.eps);
}

// y = gamma * (x - mean) * invstd + beta.
@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.pixels) {
        return;
    }
    let plane = i / p.pixels;
    let c = plane % p.channels;
    let xhat = (input[i] - saved[plane]) * saved[planes() + plane];
    output[i] = gamma(c) * xhat + beta(c);
}

// Per (plane, segment): the segment's sum dy and sum dy * xhat.
@compute @workgroup_size(256)
fn backward_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.segments) {
        return;
    }
    let s = i % p.segments;
    let plane = i / p.segments;
    let base = plane * p.pixels;
    let mean = saved[plane];
    let invstd = saved[planes() + plane];
    var sums = vec2(0.0);
    for (var q = s; q < p.pixels; q += p.segments) {
        let dy = doutput[base + q];
        sums += vec2(dy, dy * (input[base + q] - mean) * invstd);
    }
    saved[partial_at(s, 0u, plane)] = sums.x;
    saved[partial_at(s, 1u, plane)] = sums.y;
}

// Per plane: sum dy and sum dy * xhat over the segments, kept in saved for backward_params and
// backward_input.
@compute @workgroup_size(256)
fn backward_reduce(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let plane = flat_id(g, n, l);
    if (plane >= planes()) {
        return;
    }
    var total = vec2(0.0);
    for (var s = 0u; s < p.segments; s++) {
        total += vec2(saved[partial_at(s, 0u, plane)], saved[partial_at(s, 1u, plane)]);
    }
    saved[2u * planes() + plane] = total.x;
    saved[3u * planes() + plane] = total.y;
}

// Per channel (AFFINE only): dgamma and dbeta, the planes' sums gathered over the batch and
// written (or added) to daffine.
@compute @workgroup_size(256)
fn backward_params(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = flat_id(g, n, l);
    if (AFFINE == 0u || c >= p.channels) {
        return;
    }
    let C = p.channels;
    var total = vec2(0.0);
    for (var image = 0u; image < p.batch; image++) {
        let plane = image * C + c;
        total += vec2(saved[2u * planes() + plane], saved[3u * planes() + plane]);
    }
    if (p.accumulate != 0u) {
        daffine[c] += total.y;
        daffine[C + c] += total.x;
    } else {
        daffine[c] = total.y;
        daffine[C + c] = total.x;
    }
}

// dx = gamma * invstd / M * (M dy - sum dy - xhat * sum dy * xhat): the gradient through the
// plane's statistics as well as through the normalisation itself.
@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.pixels) {
        return;
    }
    let P = planes();
    let plane = i / p.pixels;
    let c = plane % p.channels;
    let m = f32(p.pixels);
    let invstd = saved[P + plane];
    let xhat = (input[i] - saved[plane]) * invstd;
    let sum_dy = saved[2u * P + plane];
    let sum_dy_xhat = saved[3u * P + plane];
    let dx = gamma(c) * invstd / m * (m * doutput[i] - sum_dy - xhat * sum_dy_xhat);
    if (p.accumulate != 0u) {
        dinput[i] += dx;
    } else {
        dinput[i] = dx;
    }
}

// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training")
// with the semantics of the authors' DiffAugment_pytorch.py, on x [batch, channels, height,
// width] with parameters drawn per sample. Each augmentation is affine in x, so each backward
// reads only doutput and the parameters:
//
//   color        a = x + b                          b = u - 1/2   (brightness)
//                s = (a - mean_c a) S + mean_c a     S = 2u        (saturation)
//                y = (s - mean s) K + mean s         K = u + 1/2   (contrast)
//                mean_c is a pixel's mean over the channels, mean the sample's over C·H·W.
//                Saturation keeps each pixel's channel mean, so mean s = mean x + b: one
//                reduction over x serves the chain, and one over dy its backward:
//                dx = S K dy + (1 - S) K mean_c dy + (1 - K) mean dy
//   translation  y[i, j] = x[i + th, j + tw], 0 outside the image; th in [-sh, sh],
//                sh = int(H / 8 + 1/2) (tw, sw likewise along W)
//                dx[i, j] = dy[i - th, j - tw], 0 outside: the inverse shift, gathered
//   cutout       y = x · mask, mask 0 on rows clamp(oh - ch/2 + k, 0, H - 1) for k < ch and
//                likewise columns; ch = int(H / 2 + 1/2), oh drawn in [0, H + 1 - ch % 2)
//                dx = dy · mask
//
// u is uniform in [0, 1) per sample, as torch.rand(batch, 1, 1, 1). `draw` turns the Philox words
// that random.wgsl's fill wrote into `params` (8 per sample: (seed, stream, step) chosen there)
// into each sample's parameters, in place; the forward and backward passes read them. Every
// backward writes each element of dinput from the elements of doutput that it depends on: a
// gather, as WGSL has no f32 atomics to scatter with.
//
// Entry points: draw, mean_partial and mean (the sample means of color, of x forward and of dy
// backward), color, translation, cutout; then color_backward, translation_backward,
// cutout_backward.

struct AugmentParams {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    shift_h: u32,    // sh: translations along H drawn in [-sh, sh]
    shift_w: u32,    // sw
    cutout_h: u32,   // ch: rows of the cut square
    cutout_w: u32,   // cw
    segments: u32,   // threads that share each sample's mean
    gradient: u32,   // mean_partial: 1 reduces doutput, 0 input
    accumulate: u32, // backward entry points: 1 adds into dinput
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: AugmentParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
// [batch, WORDS] u32 words: Philox words until `draw`, then the samples' parameters (f32 and
// i32 through bitcast, read by sample_params).
@group(0) @binding(3) var<storage, read_write> params: array<u32>;
// [1 + segments, batch]: each sample's mean, then one row of partial sums per segment.
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read_write> dinput: array<f32>;

const GROUP: u32 = 256u;
const WORDS: u32 = 8u;

const TWO_POW_M24: f32 = 5.9604644775390625e-8; // 2^-24
const TWO_POW_M23: f32 = 1.1920928955078125e-7; // 2^-23

struct SampleParams {
    brightness: f32,   // b
    saturation: f32,   // S
    contrast: f32,     // K
    shift: vec2<i32>,  // (th, tw)
    cutout: vec2<u32>, // (oh, ow) as drawn: the square's centre, before clamping
}

fn sample_params(n: u32) -> SampleParams {
    let w = n * WORDS;
    return SampleParams(
        bitcast<f32>(params[w]),
        bitcast<f32>(params[w + 1u]),
        bitcast<f32>(params[w + 2u]),
        vec2(bitcast<i32>(params[w + 3u]), bitcast<i32>(params[w + 4u])),
        vec2(params[w + 5u], params[w + 6u]),
    );
}

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn pixels() -> u32 {
    return p.height * p.width;
}

// C·H·W: the values of one sample.
fn sample_len() -> u32 {
    return p.channels * pixels();
}

fn store(i: u32, v: f32) {
    if (p.accumulate == 1u) {
        dinput[i] += v;
    } else {
        dinput[i] = v;
    }
}

// floor(u n / 2^32), uniform in [0, n) to within n / 2^32: the high word of the 64-bit product,
// by 16-bit halves as random.wgsl's mul_wide (WGSL has no 64-bit integers, and no includes).
fn below(u: u32, n: u32) -> u32 {
    let u0 = u & 0xffffu;
    let u1 = u >> 16u;
    let n0 = n & 0xffffu;
    let n1 = n >> 16u;
    let p01 = u0 * n1;
    let p10 = u1 * n0;
    let mid = ((u0 * n0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return u1 * n1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// torch.rand's [0, 1) from the top 24 bits k: k / 2^24, exact in f32.
fn unit(u: u32) -> f32 {
    return f32(u >> 8u) * TWO_POW_M24;
}

// Per sample: its 8 Philox words become its parameters. b = u - 1/2 and S = 2u are exact;
// K = 1/2 + u takes 23 bits of u, so that the sum is exact too (f32's spacing is 2^-23 from 1
// up): the CPU reference computes the same bits.
@compute @workgroup_size(256)
fn draw(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let sample = flat_id(g, n, l);
    if (sample >= p.batch) {
        return;
    }
    let w = sample * WORDS;
    params[w] = bitcast<u32>(unit(params[w]) - 0.5);
    params[w + 1u] = bitcast<u32>(2.0 * unit(params[w + 1u]));
    params[w + 2u] = bitcast<u32>(0.5 + f32(params[w + 2u] >> 9u) * TWO_POW_M23);
    // torch.randint(-s, s + 1)
    params[w + 3u] = bitcast<u32>(i32(below(params[w + 3u], 2u * p.shift_h + 1u)) - i32(p.shift_h));
    params[w + 4u] = bitcast<u32>(i32(below(params[w + 4u], 2u * p.shift_w + 1u)) - i32(p.shift_w));
    // torch.randint(0, H + (1 - ch % 2))
    params[w + 5u] = below(params[w + 5u], p.height + 1u - p.cutout_h % 2u);
    params[w + 6u] = below(params[w + 6u], p.width + 1u - p.cutout_w % 2u);
    params[w + 7u] = 0u;
}

fn reduced(i: u32) -> f32 {
    if (p.gradient == 1u) {
        return doutput[i];
    }
    return input[i];
}

// Per (sample, segment): the sum of every segments-th value of the sample (segment s takes
// values s, s + S, ...: neighbouring threads read neighbouring values), of input or doutput.
// No workgroup memory and no barrier, as instance_norm.wgsl's reductions.
@compute @workgroup_size(256)
fn mean_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.segments) {
        return;
    }
    let s = i % p.segments;
    let sample = i / p.segments;
    let base = sample * sample_len();
    var sum = 0.0;
    for (var q = s; q < sample_len(); q += p.segments) {
        sum += reduced(base + q);
    }
    saved[(1u + s) * p.batch + sample] = sum;
}

// Per sample: its segments' sums combined, saved[n] = the mean over its C·H·W values.
@compute @workgroup_size(256)
fn mean(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let sample = flat_id(g, n, l);
    if (sample >= p.batch) {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < p.segments; s++) {
        sum += saved[(1u + s) * p.batch + sample];
    }
    saved[sample] = sum / f32(sample_len());
}

// Σ over the channels of v at element i's pixel, v = input (gradient 0) or doutput.
fn channel_sum(i: u32, gradient: bool) -> f32 {
    let first = (i / sample_len()) * sample_len() + i % pixels();
    var sum = 0.0;
    for (var c = 0u; c < p.channels; c++) {
        if (gradient) {
            sum += doutput[first + c * pixels()];
        } else {
            sum += input[first + c * pixels()];
        }
    }
    return sum;
}

// Brightness, saturation and contrast in one pass, after mean_partial and mean left the
// sample's mean of x in saved.
@compute @workgroup_size(256)
fn color(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    let sample = i / sample_len();
    let t = sample_params(sample);
    let a = input[i] + t.brightness;
    let pixel_mean = channel_sum(i, false) / f32(p.channels) + t.brightness;
    let s = (a - pixel_mean) * t.saturation + pixel_mean;
    let sample_mean = saved[sample] + t.brightness;
    output[i] = (s - sample_mean) * t.contrast + sample_mean;
}

// (sample, channel, row, column) of element i.
fn position(i: u32) -> vec4<u32> {
    let plane = i / pixels();
    return vec4(plane / p.channels, plane % p.channels, (i % pixels()) / p.width, i % p.width);
}

// Element (row, column) of element i's plane, shifted by d; -1 when outside the image.
fn shifted(i: u32, d: vec2<i32>) -> i32 {
    let at = position(i);
    let r = i32(at.z) + d.x;
    let k = i32(at.w) + d.y;
    if (r < 0 || r >= i32(p.height) || k < 0 || k >= i32(p.width)) {
        return -1;
    }
    return i32((i / pixels()) * pixels() + u32(r) * p.width + u32(k));
}

// y[i, j] = x[i + th, j + tw]; the reference pads by one zero and clamps its index into the
// padding, which is the same as 0 outside.
@compute @workgroup_size(256)
fn translation(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    let source = shifted(i, sample_params(i / sample_len()).shift);
    var v = 0.0;
    if (source >= 0) {
        v = input[u32(source)];
    }
    output[i] = v;
}

// 0 inside the sample's cut square, 1 outside. The reference zeroes rows
// clamp(oh - ch/2 + k, 0, H - 1) for k < ch: the clamped ends of that run, and every row between.
fn mask(i: u32) -> f32 {
    let at = position(i);
    let o = vec2<i32>(sample_params(at.x).cutout);
    let size = vec2(i32(p.cutout_h), i32(p.cutout_w));
    let last = vec2(i32(p.height) - 1, i32(p.width) - 1);
    let first = o - size / 2;
    let lo = clamp(first, vec2(0), last);
    let hi = clamp(first + size - 1, vec2(0), last);
    let here = vec2(i32(at.z), i32(at.w));
    if (all(here >= lo) && all(here <= hi)) {
        return 0.0;
    }
    return 1.0;
}

// A product, as the reference's x * mask: a NaN or inf inside the square stays NaN.
@compute @workgroup_size(256)
fn cutout(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    output[i] = input[i] * mask(i);
}

// dx = S K dy + (1 - S) K mean_c dy + (1 - K) mean dy, after mean_partial and mean left the
// sample's mean of dy in saved.
@compute @workgroup_size(256)
fn color_backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    let sample = i / sample_len();
    let t = sample_params(sample);
    let pixel_mean = channel_sum(i, true) / f32(p.channels);
    let k = t.contrast;
    let s = t.saturation;
    store(i, s * k * doutput[i] + (1.0 - s) * k * pixel_mean + (1.0 - k) * saved[sample]);
}

// dx[i, j] = dy[i - th, j - tw]: each input element was read by at most one output element.
@compute @workgroup_size(256)
fn translation_backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    let source = shifted(i, -sample_params(i / sample_len()).shift);
    var v = 0.0;
    if (source >= 0) {
        v = doutput[u32(source)];
    }
    store(i, v);
}

@compute @workgroup_size(256)
fn cutout_backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * sample_len()) {
        return;
    }
    store(i, doutput[i] * mask(i));
}

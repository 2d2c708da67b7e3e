// Upsampling of an NCHW tensor by an integer factor s >= 1, PyTorch's
// `Upsample(scale_factor=s, mode='nearest')` and `mode='bilinear', align_corners=False`:
// [planes, height, width] -> [planes, s·height, s·width], planes = batch·channels.
//
// Along each axis, output index o reads
//   nearest:  i = o / s   (integer division; PyTorch's floor(o · (1/s)) for whole s)
//   bilinear: the source position r = max((o + 0.5) / s - 0.5, 0), i0 = floor(r),
//             i1 = min(i0 + 1, size - 1), weights 1 - (r - i0) on i0 and r - i0 on i1;
// the 2-D weight is the product of a row's and a column's.
//
// Backward gathers (no f32 atomics): input pixel i of an axis is read by the outputs
// o in [i·s, (i+1)·s) (nearest), or by those whose i0 or i1 is i, all within
// [(i-1)·s, (i+2)·s) (bilinear, since r lies in (i - 1, i + 1) for them), each weighted as the
// forward weighs i. So dinput sums s×s (nearest) or at most 3s×3s (bilinear) of doutput.

struct UpsampleParams {
    planes: u32,     // batch * channels
    height: u32,     // of the input
    width: u32,
    scale: u32,      // s
    bilinear: u32,   // 0: nearest, 1: bilinear (align_corners=False)
    accumulate: u32, // backward: 1 adds into dinput
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: UpsampleParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read_write> dinput: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// The two taps of output index o along an axis of `size` input pixels: (i0, i1) and their
// weights (w0, w1). Nearest is one tap of weight 1 (and a second of weight 0).
struct Taps {
    at: vec2<u32>,
    weight: vec2<f32>,
}

fn taps(o: u32, size: u32) -> Taps {
    if (p.bilinear == 0u) {
        return Taps(vec2(o / p.scale), vec2(1.0, 0.0));
    }
    // PyTorch's area_pixel_compute_source_index with the scale 1/s it is given.
    let r = max((f32(o) + 0.5) * (1.0 / f32(p.scale)) - 0.5, 0.0);
    let i0 = min(u32(r), size - 1u);
    let i1 = min(i0 + 1u, size - 1u);
    let lambda = r - f32(i0);
    return Taps(vec2(i0, i1), vec2(1.0 - lambda, lambda));
}

// output[plane, oy, ox] = sum over row taps a and column taps b of wa · wb · input[plane, a, b].
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    let out_h = p.height * p.scale;
    let out_w = p.width * p.scale;
    if (i >= p.planes * out_h * out_w) {
        return;
    }
    let base = (i / (out_h * out_w)) * p.height * p.width;
    let oy = (i / out_w) % out_h;
    let ox = i % out_w;
    if (p.bilinear == 0u) {
        // One tap: a copy (0 · inf would make the second tap NaN).
        output[i] = input[base + (oy / p.scale) * p.width + ox / p.scale];
        return;
    }
    let rows = taps(oy, p.height);
    let columns = taps(ox, p.width);
    var sum = 0.0;
    for (var a = 0u; a < 2u; a++) {
        for (var b = 0u; b < 2u; b++) {
            let w = rows.weight[a] * columns.weight[b];
            sum += w * input[base + rows.at[a] * p.width + columns.at[b]];
        }
    }
    output[i] = sum;
}

// The weight with which output index o reads input index i along an axis of `size`.
fn weight(o: u32, i: u32, size: u32) -> f32 {
    let t = taps(o, size);
    return select(0.0, t.weight.x, t.at.x == i) + select(0.0, t.weight.y, t.at.y == i);
}

// The outputs that may read input index i along an axis of `size`: [first, end).
fn readers(i: u32, size: u32) -> vec2<u32> {
    if (p.bilinear == 0u) {
        return vec2(i * p.scale, (i + 1u) * p.scale);
    }
    return vec2(max(i, 1u) * p.scale - p.scale, min(i + 2u, size) * p.scale);
}

// dinput[plane, y, x] (+)= sum over the outputs (oy, ox) that read it of
// weight(oy, y) · weight(ox, x) · doutput[plane, oy, ox].
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.planes * p.height * p.width) {
        return;
    }
    let out_w = p.width * p.scale;
    let plane = i / (p.height * p.width);
    let y = (i / p.width) % p.height;
    let x = i % p.width;
    let rows = readers(y, p.height);
    let columns = readers(x, p.width);
    var sum = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        let wy = weight(oy, y, p.height);
        if (wy == 0.0) {
            continue;
        }
        let row = (plane * p.height * p.scale + oy) * out_w;
        for (var ox = columns.x; ox < columns.y; ox++) {
            sum += wy * weight(ox, x, p.width) * doutput[row + ox];
        }
    }
    if (p.accumulate != 0u) {
        dinput[i] += sum;
    } else {
        dinput[i] = sum;
    }
}

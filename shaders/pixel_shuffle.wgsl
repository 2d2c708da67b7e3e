// Pixel shuffle of an NCHW tensor, PyTorch's `PixelShuffle(r)` (sub-pixel convolution, Shi et
// al. 2016): [batch, C·r², height, width] -> [batch, C, r·height, r·width] with PyTorch's order,
//
//   output[n, c, r·h + i, r·w + j] = input[n, c·r² + i·r + j, h, w],   0 <= i, j < r.
//
// A permutation: backward is the inverse one, each dinput element reading the one doutput
// element its input went to (a gather, as every element has exactly one).

struct PixelShuffleParams {
    batch: u32,
    channels: u32,   // C, of the output
    height: u32,     // of the input
    width: u32,
    factor: u32,     // r
    accumulate: u32, // backward: 1 adds into dinput
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: PixelShuffleParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read_write> dinput: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn len() -> u32 {
    return p.batch * p.channels * p.factor * p.factor * p.height * p.width;
}

// Index in the input of (n, c·r² + i·r + j, h, w) and in the output of (n, c, r·h + i, r·w + j)
// for the same (n, c, i, j, h, w).
fn input_at(n: u32, c: u32, i: u32, j: u32, h: u32, w: u32) -> u32 {
    let r = p.factor;
    return ((n * p.channels * r * r + (c * r + i) * r + j) * p.height + h) * p.width + w;
}

fn output_at(n: u32, c: u32, i: u32, j: u32, h: u32, w: u32) -> u32 {
    let r = p.factor;
    return ((n * p.channels + c) * p.height * r + h * r + i) * p.width * r + w * r + j;
}

// One thread per output element, reading its input element.
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let k = flat_id(g, groups, l);
    if (k >= len()) {
        return;
    }
    let r = p.factor;
    let out_w = p.width * r;
    let out_h = p.height * r;
    let ox = k % out_w;
    let oy = (k / out_w) % out_h;
    let c = (k / (out_w * out_h)) % p.channels;
    let n = k / (out_w * out_h * p.channels);
    output[k] = input[input_at(n, c, oy % r, ox % r, oy / r, ox / r)];
}

// One thread per input element, reading the gradient of the output element it went to.
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let k = flat_id(g, groups, l);
    if (k >= len()) {
        return;
    }
    let r = p.factor;
    let w = k % p.width;
    let h = (k / p.width) % p.height;
    let in_channels = p.channels * r * r;
    let channel = (k / (p.width * p.height)) % in_channels;
    let n = k / (p.width * p.height * in_channels);
    let d = doutput[output_at(n, channel / (r * r), (channel / r) % r, channel % r, h, w)];
    if (p.accumulate != 0u) {
        dinput[k] += d;
    } else {
        dinput[k] = d;
    }
}

// Reflection padding of an NCHW tensor, PyTorch's `ReflectionPad2d(p)` (CycleGAN's ResNet
// generator pads this way before its 7×7 and 3×3 convolutions): [batch·channels planes, height,
// width] -> [planes, height + 2p, width + 2p], p < height and p < width. Along each axis the
// padded index o reads the input at
//
//   reflected(o) = |o - p|                    for o < p + size
//                = 2 (size - 1) - (o - p)     beyond,
//
// the edge pixel itself not repeated. Backward gathers: each input pixel i of an axis is read by
// the padded pixels i + p (always), p - i (1 <= i <= p, the left reflection) and
// p + 2 (size - 1) - i (size - 1 - p <= i <= size - 2, the right one), three distinct indices at
// most, so dinput sums at most 3×3 of doutput.

struct PadParams {
    planes: u32,     // batch * channels
    height: u32,     // of the input
    width: u32,
    padding: u32,    // p, on every side
    accumulate: u32, // backward: 1 adds into dinput
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: PadParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read_write> dinput: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn reflected(o: u32, size: u32) -> u32 {
    if (o < p.padding) {
        return p.padding - o;
    }
    let i = o - p.padding;
    if (i < size) {
        return i;
    }
    return 2u * (size - 1u) - i;
}

// output[plane, oy, ox] = input[plane, reflected(oy), reflected(ox)].
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    let out_h = p.height + 2u * p.padding;
    let out_w = p.width + 2u * p.padding;
    if (i >= p.planes * out_h * out_w) {
        return;
    }
    let plane = i / (out_h * out_w);
    let oy = (i / out_w) % out_h;
    let ox = i % out_w;
    let y = reflected(oy, p.height);
    let x = reflected(ox, p.width);
    output[i] = input[(plane * p.height + y) * p.width + x];
}

// The padded indices that read input index i of an axis of `size`; 0xffffffff where none.
fn readers(i: u32, size: u32) -> vec3<u32> {
    let none = 0xffffffffu;
    var r = vec3(i + p.padding, none, none);
    if (i >= 1u && i <= p.padding) {
        r.y = p.padding - i;
    }
    if (i + 1u + p.padding >= size && i + 2u <= size) {
        r.z = p.padding + 2u * (size - 1u) - i;
    }
    return r;
}

// dinput[plane, y, x] (+)= sum of doutput over the padded pixels that reflect to (y, x).
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.planes * p.height * p.width) {
        return;
    }
    let out_h = p.height + 2u * p.padding;
    let out_w = p.width + 2u * p.padding;
    let plane = i / (p.height * p.width);
    let rows = readers((i / p.width) % p.height, p.height);
    let columns = readers(i % p.width, p.width);
    var sum = 0.0;
    for (var a = 0u; a < 3u; a++) {
        if (rows[a] == 0xffffffffu) {
            continue;
        }
        for (var b = 0u; b < 3u; b++) {
            if (columns[b] == 0xffffffffu) {
                continue;
            }
            sum += doutput[(plane * out_h + rows[a]) * out_w + columns[b]];
        }
    }
    if (p.accumulate != 0u) {
        dinput[i] += sum;
    } else {
        dinput[i] = sum;
    }
}

// Joining tensors laid out [batch, channels, pixels]: channel concatenation (a U-Net's skip)
// as one channel copy per input, its backward as one channel copy per input gradient, and the
// elementwise sum (a residual), whose backward is two copies. Every entry point gathers: each
// thread writes one element of a block of dst that no other dispatch of the op writes, and
// adds into it (accumulate) when another consumer's gradient is already there.

struct JoinParams {
    batch: u32,
    pixels: u32,        // per channel
    channels: u32,      // channels copied per image (copy_channels), or of the tensors (add)
    src_channels: u32,  // channels per image of the source
    dst_channels: u32,  // channels per image of the destination
    src_offset: u32,    // first source channel read
    dst_offset: u32,    // first destination channel written
    accumulate: u32,    // 1: dst += …, 0: dst = …
}

@group(0) @binding(0) var<uniform> p: JoinParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn store(i: u32, v: f32) {
    if (p.accumulate == 1u) {
        dst[i] = dst[i] + v;
    } else {
        dst[i] = v;
    }
}

// dst[n, dst_offset + c, q] (+)= a[n, src_offset + c, q] for c < channels.
@compute @workgroup_size(256)
fn copy_channels(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    let block = p.channels * p.pixels;
    if (i >= p.batch * block) {
        return;
    }
    let image = i / block;
    let c = (i % block) / p.pixels;
    let q = i % p.pixels;
    let read_at = (image * p.src_channels + p.src_offset + c) * p.pixels + q;
    let write_at = (image * p.dst_channels + p.dst_offset + c) * p.pixels + q;
    store(write_at, a[read_at]);
}

// dst[i] (+)= a[i] + b[i] over the batch × channels × pixels elements.
@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    store(i, a[i] + b[i]);
}

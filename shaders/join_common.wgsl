// Joining tensors laid out [batch, channels, pixels]: channel concatenation (a U-Net's skip)
// as one channel copy per input, its backward as one channel copy per input gradient, and the
// elementwise sum (a residual), whose backward is two copies. Every entry point gathers: each
// thread writes one element of a block of dst that no other dispatch of the op writes, and
// adds into it (accumulate) when another consumer's gradient is already there.
//
// This part is shared: join.wgsl appends the f32 bindings and an element a thread's entry
// points, join_vec4.wgsl vec4 bindings and a vec4 a thread's, for channels of a multiple of 4
// pixels (a vec4 never straddles two channels).

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

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// Where element e of the copied block [batch, channels, pixels] is read and written: (read_at,
// write_at) in a and dst.
fn copy_places(e: u32) -> vec2<u32> {
    let block = p.channels * p.pixels;
    let image = e / block;
    let c = (e % block) / p.pixels;
    let q = e % p.pixels;
    let read_at = (image * p.src_channels + p.src_offset + c) * p.pixels + q;
    let write_at = (image * p.dst_channels + p.dst_offset + c) * p.pixels + q;
    return vec2<u32>(read_at, write_at);
}

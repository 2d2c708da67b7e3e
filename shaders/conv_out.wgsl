// conv.wgsl's output as f32s: for every entry point but the GEMMs that store whole vec4s
// (conv_out_vec4.wgsl). Appended to conv.wgsl by the host.

@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// out = bias + (out if accumulating) + v, rectified if FLAGS says so.
fn finish(m: u32, idx: u32, v: f32) {
    var r = v;
    if ((FLAGS & 1u) != 0u) {
        r += bias_at(m, idx);
    }
    if ((FLAGS & 2u) != 0u) {
        r += out[idx];
    }
    if ((FLAGS & 8u) != 0u) {
        r = rectify(r);
    }
    out[idx] = r;
}

// finish for four columns of row m, `step` apart from `at`.
fn finish4(m: u32, at: u32, step: u32, v: vec4<f32>) {
    finish(m, at, v.x);
    finish(m, at + step, v.y);
    finish(m, at + 2u * step, v.z);
    finish(m, at + 3u * step, v.w);
}

// conv.wgsl's output as vec4s, for a GEMM whose every run of 4 columns is 4 neighbours of out
// from a multiple of 4, in an out of whole vec4s (RUNS, step 1: see `vec4_out` in conv.rs).
// Each run is then one 16-byte store (and one read, when accumulating) in place of four, with
// one bounds check. dcgan28's k = 16 GEMMs (D conv 1→64 forward, G convT 64→1 d input), which
// store 64 outputs per 16-long dot product: lavapipe 4.2 → 3.0 and 3.3 → 2.7 ms, SwiftShader
// 8.3 → 8.2 and 7.9 → 7.6 (medians of alternated runs). Appended to conv.wgsl by the host in
// place of conv_out.wgsl.

@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

// finish as in conv_out.wgsl, for the element-by-element stores such a GEMM never makes:
// the module compiles whole.
fn finish(m: u32, idx: u32, v: f32) {
    var r = v;
    if ((FLAGS & 1u) != 0u) {
        r += bias_at(m, idx);
    }
    if ((FLAGS & 2u) != 0u) {
        r += out[idx / 4u][idx % 4u];
    }
    if ((FLAGS & 8u) != 0u) {
        r = rectify(r);
    }
    out[idx / 4u][idx % 4u] = r;
}

// out's vec4 at / 4 = bias + (itself if accumulating) + v, rectified if FLAGS says so. `step`
// is 1 here.
fn finish4(m: u32, at: u32, step: u32, v: vec4<f32>) {
    var r = v;
    if ((FLAGS & 1u) != 0u) {
        if (MODE == 4u) {
            let c = at % p.n;
            r += vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]);
        } else {
            r += vec4<f32>(bias[m]);
        }
    }
    if ((FLAGS & 2u) != 0u) {
        r += out[at / 4u];
    }
    if ((FLAGS & 8u) != 0u) {
        r = select(r * bitcast<f32>(SLOPE_BITS), r, r >= vec4<f32>(0.0));
    }
    out[at / 4u] = r;
}

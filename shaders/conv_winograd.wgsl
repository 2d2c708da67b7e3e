// Winograd's F(2 x 2, 3 x 3) for 3 x 3 convolutions at stride 1 (MODE 5), appended to conv.wgsl
// by the host. A 2 x 2 tile of the output reads a 4 x 4 patch d of x; with U = G g G^T per
// (m, c) and V = B^T d B per (c, tile), the tile is A^T (sum_c U ⊙ V) A: 16 products of U and V
// for the tile's 36 multiply-adds. Each of the 16 positions t of the 4 x 4 transforms is a
// GEMM of its own, out_t(m, tile) = sum_c U_t(m, c) V_t(c, tile): the engine's GEMM with one
// phase per t, its results kept in a texture of their own ([t][m][np / 4] texels) for
// `wino_out` to transform. 2.25 times fewer multiplies than the direct GEMM; the transforms
// cost additions, one pass each.
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016.)
//
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// A weight gradient is the same algorithm with its operands' roles exchanged, F(3 x 3, 2 x 2):
// dW(m, c) = sum over the tiles of dy of G^T [(A e A^T) ⊙ (B^T d B)] G, e the 2 x 2 tile of
// dy[m] and d the 4 x 4 patch of x[c] it met in the forward pass. The sum over tiles moves
// inside the transforms, so that each position t is a GEMM over the tiles, M_t(m, c) =
// sum_tile E_t(m, tile) V_t(c, tile): `wino_dy` packs E as A, `wino_xt` packs V transposed as
// B, and `wino_dw` transforms the products into the 3 x 3 taps. V is the forward pass's
// transform, made again.
//
// The host maps both a gather and a transposed gather onto one view: out is p.small_h x
// p.small_w, x is p.large_h x p.large_w, padded by p.pad_y, p.pad_x, and g = a[m, c] as it
// lies, or with FLIPPED, a transposed gather's a[c, m] turned by 180 degrees (a conv's input
// gradient is the conv of dy with its kernel so turned, padded by 2 - p). Packed A is
// [t][rows][k / 4] over k = c, packed B [t][k][n / 4] over n = (image, tile), tiles row-major.

override FLIPPED: u32 = 0u;

// Row (a, b, c) of G g times G^T.
fn g_row(r: vec3<f32>) -> vec4<f32> {
    let h = 0.5 * (r.x + r.z);
    return vec4<f32>(r.x, h + 0.5 * r.y, h - 0.5 * r.y, r.z);
}

// Row (a, b, c, d) of B^T d times B.
fn b_row(r: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(r.x - r.z, r.y + r.z, r.z - r.y, r.y - r.w);
}

// Row (a, b, c, d) of A^T M times A.
fn a_out(r: vec4<f32>) -> vec2<f32> {
    return vec2<f32>(r.x + r.y + r.z, r.y - r.z - r.w);
}

// Tap j (ky * 3 + kx) of g from a's 9 taps at `at`, zero when not `live` (past m or the
// channels, where `at` is 0). Selected, not branched, as in x_at.
fn tap(at: u32, live: bool, j: u32) -> f32 {
    return select(0.0, a[at + select(j, 8u - j, FLIPPED != 0u)], live);
}

// U = G g G^T for (m, c), as its 4 rows.
fn weight_rows(m: u32, c: u32) -> mat4x4<f32> {
    let live = m < p.m && c < p.channels;
    let at = select(0u, select(m * p.channels + c, c * p.m + m, FLIPPED != 0u) * 9u, live);
    let r0 = vec3<f32>(tap(at, live, 0u), tap(at, live, 1u), tap(at, live, 2u));
    let r1 = vec3<f32>(tap(at, live, 3u), tap(at, live, 4u), tap(at, live, 5u));
    let r2 = vec3<f32>(tap(at, live, 6u), tap(at, live, 7u), tap(at, live, 8u));
    let h = 0.5 * (r0 + r2);
    return mat4x4<f32>(g_row(r0), g_row(h + 0.5 * r1), g_row(h - 0.5 * r1), g_row(r2));
}

// Stores row `row` of four transforms (one per column of `q`'s packed vec4): position t =
// 4 * row + j gets vec4(q[0][row][j], q[1][row][j], ...), at `i` in phase t's `phase4` vec4s.
fn put_row(packed_is_a: bool, row: u32, i: u32, phase4: u32, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) {
    let q = transpose(mat4x4<f32>(r0, r1, r2, r3));
    let t = 4u * row * phase4 + i;
    // Packed A and B both go to the texture bound for writing.
    put_b(t, q[0]);
    put_b(t + phase4, q[1]);
    put_b(t + 2u * phase4, q[2]);
    put_b(t + 3u * phase4, q[3]);
}

// Stores four transforms (q0 .. q3: a thread's 4 channels or tiles, row by row) at `i` of each
// position's `phase4` vec4s.
fn put4(packed_is_a: bool, i: u32, phase4: u32, q0: mat4x4<f32>, q1: mat4x4<f32>, q2: mat4x4<f32>, q3: mat4x4<f32>) {
    for (var row = 0u; row < 4u; row++) {
        put_row(packed_is_a, row, i, phase4, q0[row], q1[row], q2[row], q3[row]);
    }
}

// Packed A: one thread per row m and 4 channels, all 16 positions.
@compute @workgroup_size(256)
fn wino_a(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.rows * p.a_row4) {
        return;
    }
    let m = i / p.a_row4;
    let c = i % p.a_row4 * 4u;
    put4(true, i, p.a_phase4, weight_rows(m, c), weight_rows(m, c + 1u), weight_rows(m, c + 2u), weight_rows(m, c + 3u));
}

// x at (y, xx) of the image whose first element is `at`, zero outside it (the padding) or
// when not `live`. Clamped and selected, not branched: CPU adapters load lane by lane in a
// branch.
fn x_at(at: u32, live: bool, y: i32, xx: i32) -> f32 {
    let inside = live && y >= 0 && xx >= 0 && y < i32(p.large_h) && xx < i32(p.large_w);
    let cy = u32(clamp(y, 0, i32(p.large_h) - 1));
    let cx = u32(clamp(xx, 0, i32(p.large_w) - 1));
    return select(0.0, x[at + cy * p.large_w + cx], inside);
}

// 2 x 2 tiles of out over the batch: a gather's GEMM columns, a weight gradient's k.
fn tile_count() -> u32 {
    return p.batch * ((p.small_h + 1u) / 2u) * ((p.small_w + 1u) / 2u);
}

// V = B^T d B for channel c of tile n, as its 4 rows (zero past the channels or the tiles).
fn input_rows(c: u32, n: u32) -> mat4x4<f32> {
    let tw = (p.small_w + 1u) / 2u;
    let tiles = (p.small_h + 1u) / 2u * tw;
    let live = c < p.channels && n < tile_count();
    let b = select(0u, n / tiles, live);
    let tile = n % tiles;
    let at = (b * p.channels + select(0u, c, live)) * p.large_h * p.large_w;
    let y = i32(tile / tw * 2u) - i32(p.pad_y);
    let x0 = i32(tile % tw * 2u) - i32(p.pad_x);
    let d0 = patch_row(at, live, y, x0);
    let d1 = patch_row(at, live, y + 1, x0);
    let d2 = patch_row(at, live, y + 2, x0);
    let d3 = patch_row(at, live, y + 3, x0);
    return mat4x4<f32>(b_row(d0 - d2), b_row(d1 + d2), b_row(d2 - d1), b_row(d1 - d3));
}

// Four pixels of row y from column x0 (see x_at).
fn patch_row(at: u32, live: bool, y: i32, x0: i32) -> vec4<f32> {
    return vec4<f32>(x_at(at, live, y, x0), x_at(at, live, y, x0 + 1), x_at(at, live, y, x0 + 2), x_at(at, live, y, x0 + 3));
}

// Packed B: one thread per channel and 4 tiles, all 16 positions.
@compute @workgroup_size(256)
fn wino_b(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.a_row4 * 4u * p.b_row4) {
        return;
    }
    let c = i / p.b_row4;
    let n = i % p.b_row4 * 4u;
    put4(false, i, p.b_phase4, input_rows(c, n), input_rows(c, n + 1u), input_rows(c, n + 2u), input_rows(c, n + 3u));
}

// Stores the products of row m of position t at columns n0 .. n0 + 7 (the GEMM's lo and hi
// runs) as texels [t][m][np / 4] of the products' texture, bound for writing in packed B's
// place: the finishing pass then loads 4 columns at once (see packed_b_read).
fn put_products(t: u32, m: u32, n0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (m >= p.m) {
        return;
    }
    let at = (t * p.m + m) * p.b_row4 + n0 / 4u;
    textureStore(packed_b_write, b_texel(at), lo);
    textureStore(packed_b_write, b_texel(at + 1u), hi);
}

// The products of row m at columns 4 * n4 .. 4 * n4 + 3 for all 16 positions t, column j of
// the 4 x 4 transforms in lane j of each vec4.
struct Products {
    q: array<vec4<f32>, 16>,
}

// Loaded one by one, not in a loop: an array indexed in a loop goes through memory on CPU
// adapters.
fn products(m: u32, n4: u32) -> Products {
    let s = p.m * p.b_row4;
    let at = m * p.b_row4 + n4;
    return Products(array<vec4<f32>, 16>(
        product(at), product(at + s), product(at + 2u * s), product(at + 3u * s),
        product(at + 4u * s), product(at + 5u * s), product(at + 6u * s), product(at + 7u * s),
        product(at + 8u * s), product(at + 9u * s), product(at + 10u * s), product(at + 11u * s),
        product(at + 12u * s), product(at + 13u * s), product(at + 14u * s), product(at + 15u * s),
    ));
}

fn product(i: u32) -> vec4<f32> {
    return textureLoad(packed_b_read, b_texel(i), 0);
}

// out's 2 x 2 tile of channel m for column n (image and tile), through finish (bias,
// accumulation, rectifier).
fn finish_tile(m: u32, n: u32, y00: f32, y01: f32, y10: f32, y11: f32) {
    if (n >= p.n) {
        return;
    }
    let tw = (p.small_w + 1u) / 2u;
    let tiles = (p.small_h + 1u) / 2u * tw;
    let b = n / tiles;
    let oy = n % tiles / tw * 2u;
    let ox = n % tiles % tw * 2u;
    let at = ((b * p.m + m) * p.small_h + oy) * p.small_w + ox;
    let right = ox + 1u < p.small_w;
    finish(m, at, y00);
    if (right) {
        finish(m, at + 1u, y01);
    }
    if (oy + 1u < p.small_h) {
        finish(m, at + p.small_w, y10);
        if (right) {
            finish(m, at + p.small_w + 1u, y11);
        }
    }
}

// out's 2 x 2 tiles 4 * n4 .. 4 * n4 + 3 of channel m = A^T M A, a tile in each lane.
@compute @workgroup_size(256)
fn wino_out(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.m * p.b_row4) {
        return;
    }
    let m = i / p.b_row4;
    let n4 = i % p.b_row4;
    let q = products(m, n4).q;
    // Rows of A^T M, then their columns times A.
    let r0 = array<vec4<f32>, 4>(q[0] + q[4] + q[8], q[1] + q[5] + q[9], q[2] + q[6] + q[10], q[3] + q[7] + q[11]);
    let r1 = array<vec4<f32>, 4>(q[4] - q[8] - q[12], q[5] - q[9] - q[13], q[6] - q[10] - q[14], q[7] - q[11] - q[15]);
    let y00 = r0[0] + r0[1] + r0[2];
    let y01 = r0[1] - r0[2] - r0[3];
    let y10 = r1[0] + r1[1] + r1[2];
    let y11 = r1[1] - r1[2] - r1[3];
    let n = 4u * n4;
    finish_tile(m, n, y00.x, y01.x, y10.x, y11.x);
    finish_tile(m, n + 1u, y00.y, y01.y, y10.y, y11.y);
    finish_tile(m, n + 2u, y00.z, y01.z, y10.z, y11.z);
    finish_tile(m, n + 3u, y00.w, y01.w, y10.w, y11.w);
}

// Row (a, b) of A e times A^T.
fn dy_row(r: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(r.x, r.x + r.y, r.x - r.y, -r.y);
}

// dy (the weight gradient's a, [b][m][small]) at (y, xx) of the image at `at`, zero past its
// edge (an odd size's last tile) or when not `live`.
fn dy_at(at: u32, live: bool, y: u32, xx: u32) -> f32 {
    let inside = live && y < p.small_h && xx < p.small_w;
    return select(0.0, a[at + min(y, p.small_h - 1u) * p.small_w + min(xx, p.small_w - 1u)], inside);
}

// E = A e A^T for row m of tile n, as its 4 rows (zero past m or the tiles).
fn dy_rows(m: u32, n: u32) -> mat4x4<f32> {
    let tw = (p.small_w + 1u) / 2u;
    let tiles = (p.small_h + 1u) / 2u * tw;
    let live = m < p.m && n < tile_count();
    let b = select(0u, n / tiles, live);
    let at = (b * p.m + select(0u, m, live)) * p.small_h * p.small_w;
    let y = n % tiles / tw * 2u;
    let xx = n % tiles % tw * 2u;
    let r0 = vec2<f32>(dy_at(at, live, y, xx), dy_at(at, live, y, xx + 1u));
    let r1 = vec2<f32>(dy_at(at, live, y + 1u, xx), dy_at(at, live, y + 1u, xx + 1u));
    return mat4x4<f32>(dy_row(r0), dy_row(r0 + r1), dy_row(r0 - r1), dy_row(-r1));
}

// A weight gradient's packed A, [t][rows][k / 4] over k = tiles: one thread per row m and 4
// tiles, all 16 positions.
@compute @workgroup_size(256)
fn wino_dy(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.rows * p.a_row4) {
        return;
    }
    let m = i / p.a_row4;
    let n = i % p.a_row4 * 4u;
    put4(true, i, p.a_phase4, dy_rows(m, n), dy_rows(m, n + 1u), dy_rows(m, n + 2u), dy_rows(m, n + 3u));
}

// A weight gradient's packed B, V transposed, [t][k][n / 4] over k = tiles and n = channels:
// one thread per tile and 4 channels, all 16 positions.
@compute @workgroup_size(256)
fn wino_xt(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.a_row4 * 4u * p.b_row4) {
        return;
    }
    let n = i / p.b_row4;
    let c = i % p.b_row4 * 4u;
    put4(false, i, p.b_phase4, input_rows(c, n), input_rows(c + 1u, n), input_rows(c + 2u, n), input_rows(c + 3u, n));
}

// Row (a, b, c, d) of G^T M times G, for 4 columns at once (a channel in each lane).
fn tap_row4(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> array<vec4<f32>, 3> {
    let h = 0.5 * (b + c);
    return array<vec4<f32>, 3>(a + h, 0.5 * (b - c), h + d);
}

// dW's 3 x 3 taps for row m and channels 4 * n4 .. 4 * n4 + 3 = G^T M G, a channel in each
// lane, through finish (accumulation).
@compute @workgroup_size(256)
fn wino_dw(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.m * p.b_row4) {
        return;
    }
    let m = i / p.b_row4;
    let n4 = i % p.b_row4;
    let q = products(m, n4).q;
    // Rows of G^T M, then each row times G.
    let h = array<vec4<f32>, 4>(0.5 * (q[4] + q[8]), 0.5 * (q[5] + q[9]), 0.5 * (q[6] + q[10]), 0.5 * (q[7] + q[11]));
    let w0 = tap_row4(q[0] + h[0], q[1] + h[1], q[2] + h[2], q[3] + h[3]);
    let w1 = tap_row4(0.5 * (q[4] - q[8]), 0.5 * (q[5] - q[9]), 0.5 * (q[6] - q[10]), 0.5 * (q[7] - q[11]));
    let w2 = tap_row4(h[0] + q[12], h[1] + q[13], h[2] + q[14], h[3] + q[15]);
    let c = 4u * n4;
    finish_taps(m, c, w0[0].x, w0[1].x, w0[2].x, w1[0].x, w1[1].x, w1[2].x, w2[0].x, w2[1].x, w2[2].x);
    finish_taps(m, c + 1u, w0[0].y, w0[1].y, w0[2].y, w1[0].y, w1[1].y, w1[2].y, w2[0].y, w2[1].y, w2[2].y);
    finish_taps(m, c + 2u, w0[0].z, w0[1].z, w0[2].z, w1[0].z, w1[1].z, w1[2].z, w2[0].z, w2[1].z, w2[2].z);
    finish_taps(m, c + 3u, w0[0].w, w0[1].w, w0[2].w, w1[0].w, w1[1].w, w1[2].w, w2[0].w, w2[1].w, w2[2].w);
}

// The 9 taps of dW for (m, c), through finish.
fn finish_taps(m: u32, c: u32, t0: f32, t1: f32, t2: f32, t3: f32, t4: f32, t5: f32, t6: f32, t7: f32, t8: f32) {
    if (c >= p.n) {
        return;
    }
    let at = (m * p.n + c) * 9u;
    finish(m, at, t0);
    finish(m, at + 1u, t1);
    finish(m, at + 2u, t2);
    finish(m, at + 3u, t3);
    finish(m, at + 4u, t4);
    finish(m, at + 5u, t5);
    finish(m, at + 6u, t6);
    finish(m, at + 7u, t7);
    finish(m, at + 8u, t8);
}

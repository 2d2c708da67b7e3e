// Winograd's F(2 x 2, 3 x 3) for 3 x 3 convolutions at stride 1 (MODE 5), appended to conv.wgsl
// by the host. A 2 x 2 tile of the output reads a 4 x 4 patch d of x; with U = G g G^T per
// (m, c) and V = B^T d B per (c, tile), the tile is A^T (sum_c U ⊙ V) A: 16 products of U and V
// for the tile's 36 multiply-adds. Each of the 16 positions t of the 4 x 4 transforms is a
// GEMM of its own, out_t(m, tile) = sum_c U_t(m, c) V_t(c, tile): the engine's GEMM with one
// phase per t, its results kept in `partial` ([t][m][n]) for `wino_out` to transform. 2.25
// times fewer multiplies than the direct GEMM; the transforms cost additions, one pass each.
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
    if (packed_is_a) {
        packed_a[t] = q[0];
        packed_a[t + phase4] = q[1];
        packed_a[t + 2u * phase4] = q[2];
        packed_a[t + 3u * phase4] = q[3];
    } else {
        put_b(t, q[0]);
        put_b(t + phase4, q[1]);
        put_b(t + 2u * phase4, q[2]);
        put_b(t + 3u * phase4, q[3]);
    }
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

// The products' row `row` of the 4 x 4 for (m, n): partial[t][m][n] for t = 4 * row + j.
fn product_row(m: u32, n: u32, row: u32) -> vec4<f32> {
    let mn = p.m * p.n;
    let at = 4u * row * mn + m * p.n + n;
    return vec4<f32>(partial[at], partial[at + mn], partial[at + 2u * mn], partial[at + 3u * mn]);
}

// The products' 4 x 4 for (m, n) = (i / n, i % n), the finishing entries' thread i, as its
// rows.
fn products(i: u32) -> mat4x4<f32> {
    let m = i / p.n;
    let n = i % p.n;
    return mat4x4<f32>(product_row(m, n, 0u), product_row(m, n, 1u), product_row(m, n, 2u), product_row(m, n, 3u));
}

// out's 2 x 2 tile n of channel m = A^T M A, through finish (bias, accumulation, rectifier).
@compute @workgroup_size(256)
fn wino_out(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.m * p.n) {
        return;
    }
    let m = i / p.n;
    let n = i % p.n;
    let q = products(i);
    let y0 = a_out(q[0] + q[1] + q[2]);
    let y1 = a_out(q[1] - q[2] - q[3]);
    let tw = (p.small_w + 1u) / 2u;
    let tiles = (p.small_h + 1u) / 2u * tw;
    let b = n / tiles;
    let oy = n % tiles / tw * 2u;
    let ox = n % tiles % tw * 2u;
    let at = ((b * p.m + m) * p.small_h + oy) * p.small_w + ox;
    let right = ox + 1u < p.small_w;
    finish(m, at, y0.x);
    if (right) {
        finish(m, at + 1u, y0.y);
    }
    if (oy + 1u < p.small_h) {
        finish(m, at + p.small_w, y1.x);
        if (right) {
            finish(m, at + p.small_w + 1u, y1.y);
        }
    }
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

// Row (a, b, c, d) of G^T M times G.
fn tap_row(r: vec4<f32>) -> vec3<f32> {
    let h = 0.5 * (r.y + r.z);
    return vec3<f32>(r.x + h, 0.5 * (r.y - r.z), h + r.w);
}

// dW's 3 x 3 taps for (m, c) = G^T M G, through finish (accumulation).
@compute @workgroup_size(256)
fn wino_dw(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    if (i >= p.m * p.n) {
        return;
    }
    let m = i / p.n;
    let q = products(i);
    let h = 0.5 * (q[1] + q[2]);
    let w0 = tap_row(q[0] + h);
    let w1 = tap_row(0.5 * (q[1] - q[2]));
    let w2 = tap_row(h + q[3]);
    let at = i * 9u;
    finish(m, at, w0.x);
    finish(m, at + 1u, w0.y);
    finish(m, at + 2u, w0.z);
    finish(m, at + 3u, w1.x);
    finish(m, at + 4u, w1.y);
    finish(m, at + 5u, w1.z);
    finish(m, at + 6u, w2.x);
    finish(m, at + 7u, w2.y);
    finish(m, at + 8u, w2.z);
}

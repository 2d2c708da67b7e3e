// Tiled implicit GEMM: out(m, n) = sum_k A(m, k) * B(k, n), with B gathered on the fly from an
// NCHW tensor, so no im2col buffer is ever built. One engine serves dense, conv2d and transposed
// conv2d, forward and backward, through three gather modes (a dense layer is a 1x1 convolution
// of 1x1 images):
//
//   MODE 0, GATHER:  out[b, m, oy, ox] = sum_{c,ky,kx} a[m, c, ky, kx] * x[b, c, oy*s - p + ky, ...]
//                    conv2d forward, transposed conv2d d input, dense forward.
//   MODE 1, TRANSPOSED: out[b, m, oy, ox] = sum_{c,ky,kx} a[c, m, ky, kx] * x[b, c, iy, ix]
//                    over oy = iy*s - p + ky: transposed conv2d forward, conv2d d input, dense
//                    d input. Gather, not scatter: WGSL has no f32 atomics.
//   MODE 2, WEIGHT:  out[m, c, ky, kx] = sum_{b,oy,ox} a[b, m, oy, ox] * x[b, c, oy*s - p + ky, ...]
//                    conv2d d weight, transposed conv2d d weight, dense d weight.
//
// "small" sizes belong to the tensor on the strided side (oy), "large" sizes to the tensor
// indexed by oy*s - p + ky. In MODE 1 the output is the large one.
//
// MODE 1 would waste (s^2 - 1)/s^2 of its work on taps that miss (stride 2: 3 in 4), so it runs
// per phase: output pixels with (oy + p) % s == ry only meet taps ky = ry, ry + s, ... Each
// phase is a dense GEMM of its own, one per z slice of the grid.
//
// Long reductions with few output tiles (weight gradients, a 1-logit dense layer) split k over
// `splits` workgroups that write partial sums; `reduce_splits` adds them up.

struct ConvParams {
    m: u32,            // rows: output channels (MODE 0, 1), or a's channels (MODE 2)
    n: u32,            // columns: batch * output pixels (MODE 0, 1), or c * kh * kw (MODE 2)
    k: u32,            // reduction length (MODE 1: of the whole kernel, before phases)
    batch: u32,
    channels: u32,     // c: channels of x
    small_h: u32,
    small_w: u32,
    large_h: u32,
    large_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    pad_y: u32,
    pad_x: u32,
    flags: u32,        // bit 0: add bias[m]; bit 1: add into out instead of overwriting it
    splits: u32,       // workgroups sharing one output tile's reduction (1: no split)
    out_len: u32,      // elements of out
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override MODE: u32 = 0u;
// Output tile of a workgroup: TILE_M x TILE_N with TILE_M * TILE_N = 256 threads * 16 outputs.
// Tall layers use 64 x 64; layers with few output channels 16 x 256 or 4 x 1024.
override TILE_M: u32 = 64u;
override TILE_K: u32 = 16u;
const TILE_N_TIMES_M: u32 = 4096u;

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// [splits][out_len] partial sums when the reduction is split; unused otherwise.
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

// Tiles stored k-major, 4 consecutive m (or n) per vec4; 12 KiB in all, within 16 KiB.
var<workgroup> tile_a: array<vec4<f32>, 256>;  // [TILE_K][TILE_M / 4]
var<workgroup> tile_b: array<vec4<f32>, 512>;  // [TILE_K][TILE_N / 4]

// The GEMM this workgroup computes (MODE 1: the one of its phase). Passed by value, not kept in
// a var<private>: WGSL counts private loads as non-uniform, and barriers follow a return on it.
struct Gemm {
    n: u32,
    k: u32,
    // MODE 1 only: first output row/column of the phase, its rows/columns, first tap, taps,
    // and the input offset: iy = qy + dy - jy.
    oy0: u32, ox0: u32,
    qh: u32, qw: u32,
    ry: u32, rx: u32,
    th: u32, tw: u32,
    dy: i32, dx: i32,
}

fn phase_gemm(phase: u32) -> Gemm {
    var r: Gemm;
    let s = p.stride;
    r.ry = phase / s;
    r.rx = phase % s;
    // oy ≡ ry − p (mod s): the output rows this phase's taps reach.
    r.oy0 = u32(((i32(r.ry) - i32(p.pad_y)) % i32(s) + i32(s)) % i32(s));
    r.ox0 = u32(((i32(r.rx) - i32(p.pad_x)) % i32(s) + i32(s)) % i32(s));
    r.qh = select(0u, (p.large_h - r.oy0 + s - 1u) / s, p.large_h > r.oy0);
    r.qw = select(0u, (p.large_w - r.ox0 + s - 1u) / s, p.large_w > r.ox0);
    r.th = select(0u, (p.kernel_h - r.ry + s - 1u) / s, p.kernel_h > r.ry);
    r.tw = select(0u, (p.kernel_w - r.rx + s - 1u) / s, p.kernel_w > r.rx);
    // oy0 + p − ry is a multiple of s in [0, ...): the input row of tap 0 at qy = 0.
    r.dy = (i32(r.oy0 + p.pad_y) - i32(r.ry)) / i32(s);
    r.dx = (i32(r.ox0 + p.pad_x) - i32(r.rx)) / i32(s);
    r.n = p.batch * r.qh * r.qw;
    r.k = p.channels * r.th * r.tw;
    return r;
}

fn load_a(g: Gemm, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= g.k) {
        return 0.0;
    }
    let kk = p.kernel_h * p.kernel_w;
    switch MODE {
        case 0u: {
            return a[m * p.k + k];
        }
        case 1u: {
            // k = (c, jy, jx) → tap (ry + jy·s, rx + jx·s); a is [c, m, kh, kw]
            let taps = g.th * g.tw;
            let c = k / taps;
            let ky = g.ry + (k % taps) / g.tw * p.stride;
            let kx = g.rx + k % g.tw * p.stride;
            return a[(c * p.m + m) * kk + ky * p.kernel_w + kx];
        }
        default: {
            // k = (b, oy, ox); a is [batch, m, small_h, small_w]
            let hw = p.small_h * p.small_w;
            let b = k / hw;
            return a[(b * p.m + m) * hw + k % hw];
        }
    }
}

// x at (b, c, y, x) of the large image, zero outside it (the padding).
fn load_large(b: u32, c: u32, y: i32, xx: i32) -> f32 {
    if (y < 0 || xx < 0 || y >= i32(p.large_h) || xx >= i32(p.large_w)) {
        return 0.0;
    }
    return x[((b * p.channels + c) * p.large_h + u32(y)) * p.large_w + u32(xx)];
}

fn load_b(g: Gemm, k: u32, n: u32) -> f32 {
    if (k >= g.k || n >= g.n) {
        return 0.0;
    }
    let kk = p.kernel_h * p.kernel_w;
    switch MODE {
        case 0u: {
            // k = (c, ky, kx), n = (b, oy, ox) over the small image
            let c = k / kk;
            let ky = (k % kk) / p.kernel_w;
            let kx = k % p.kernel_w;
            let hw = p.small_h * p.small_w;
            let b = n / hw;
            let oy = (n % hw) / p.small_w;
            let ox = n % p.small_w;
            return load_large(b, c, i32(oy * p.stride + ky) - i32(p.pad_y), i32(ox * p.stride + kx) - i32(p.pad_x));
        }
        case 1u: {
            // k = (c, jy, jx), n = (b, qy, qx) over this phase's output pixels; x is small.
            let taps = g.th * g.tw;
            let c = k / taps;
            let jy = (k % taps) / g.tw;
            let jx = k % g.tw;
            let q = g.qh * g.qw;
            let b = n / q;
            let qy = (n % q) / g.qw;
            let qx = n % g.qw;
            let iy = i32(qy) + g.dy - i32(jy);
            let ix = i32(qx) + g.dx - i32(jx);
            if (iy < 0 || ix < 0 || iy >= i32(p.small_h) || ix >= i32(p.small_w)) {
                return 0.0;
            }
            return x[((b * p.channels + c) * p.small_h + u32(iy)) * p.small_w + u32(ix)];
        }
        default: {
            // k = (b, oy, ox) over the small image, n = (c, ky, kx)
            let c = n / kk;
            let ky = (n % kk) / p.kernel_w;
            let kx = n % p.kernel_w;
            let hw = p.small_h * p.small_w;
            let b = k / hw;
            let oy = (k % hw) / p.small_w;
            let ox = k % p.small_w;
            return load_large(b, c, i32(oy * p.stride + ky) - i32(p.pad_y), i32(ox * p.stride + kx) - i32(p.pad_x));
        }
    }
}

fn out_index(g: Gemm, m: u32, n: u32) -> u32 {
    switch MODE {
        case 0u: {
            let hw = p.small_h * p.small_w;
            return ((n / hw) * p.m + m) * hw + n % hw;
        }
        case 1u: {
            let q = g.qh * g.qw;
            let b = n / q;
            let oy = g.oy0 + (n % q) / g.qw * p.stride;
            let ox = g.ox0 + n % g.qw * p.stride;
            return ((b * p.m + m) * p.large_h + oy) * p.large_w + ox;
        }
        default: {
            return m * p.n + n;
        }
    }
}

// out = bias + (out if accumulating) + v: the one place results are written.
fn finish(m: u32, idx: u32, v: f32) {
    var r = v;
    if ((p.flags & 1u) != 0u) {
        r += bias[m];
    }
    if ((p.flags & 2u) != 0u) {
        r += out[idx];
    }
    out[idx] = r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) flat: u32) {
    let tile_n = TILE_N_TIMES_M / TILE_M;
    let split = group.z % p.splits;
    var g: Gemm;
    if (MODE == 1u) {
        g = phase_gemm(group.z / p.splits);
    } else {
        g.n = p.n;
        g.k = p.k;
    }
    let m0 = group.y * TILE_M;
    let n0 = group.x * tile_n;
    // Phases differ in size; the grid fits the largest. Uniform per workgroup.
    if (n0 >= g.n) {
        return;
    }
    // This workgroup's share of the reduction, in whole tiles.
    let k_tiles = (g.k + TILE_K - 1u) / TILE_K;
    let per_split = (k_tiles + p.splits - 1u) / p.splits;
    let k_begin = split * per_split * TILE_K;
    let k_end = min(g.k, k_begin + per_split * TILE_K);

    let a_vecs = TILE_K * TILE_M / 4u;
    let b_vecs = TILE_K * tile_n / 4u;
    let row = flat / (tile_n / 4u);   // this thread's 4 rows of the tile
    let col = flat % (tile_n / 4u);   // and its 4 columns

    var acc: array<vec4<f32>, 4>;
    for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        for (var i = flat; i < a_vecs; i += 256u) {
            let k = k0 + i / (TILE_M / 4u);
            let m = m0 + i % (TILE_M / 4u) * 4u;
            tile_a[i] = vec4<f32>(load_a(g, m, k), load_a(g, m + 1u, k), load_a(g, m + 2u, k), load_a(g, m + 3u, k));
        }
        for (var i = flat; i < b_vecs; i += 256u) {
            let k = k0 + i / (tile_n / 4u);
            let n = n0 + i % (tile_n / 4u) * 4u;
            tile_b[i] = vec4<f32>(load_b(g, k, n), load_b(g, k, n + 1u), load_b(g, k, n + 2u), load_b(g, k, n + 3u));
        }
        workgroupBarrier();
        let steps = min(TILE_K, k_end - k0);
        for (var kk = 0u; kk < steps; kk++) {
            let av = tile_a[kk * (TILE_M / 4u) + row];
            let bv = tile_b[kk * (tile_n / 4u) + col];
            acc[0] += av.x * bv;
            acc[1] += av.y * bv;
            acc[2] += av.z * bv;
            acc[3] += av.w * bv;
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let m = m0 + row * 4u + i;
        if (m >= p.m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + col * 4u + j;
            if (n >= g.n) {
                break;
            }
            let idx = out_index(g, m, n);
            if (p.splits > 1u) {
                partial[split * p.out_len + idx] = acc[i][j];
            } else {
                finish(m, idx, acc[i][j]);
            }
        }
    }
}

// The channel (row m) an output element belongs to.
fn row_of(idx: u32) -> u32 {
    switch MODE {
        case 0u: { return (idx / (p.small_h * p.small_w)) % p.m; }
        case 1u: { return (idx / (p.large_h * p.large_w)) % p.m; }
        default: { return idx / p.n; }
    }
}

// out = Σ_split partial[split]: one thread per output element, after a split main.
@compute @workgroup_size(256)
fn reduce_splits(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let idx = (group.y * groups.x + group.x) * 256u + l;
    if (idx >= p.out_len) {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.splits; i++) {
        s += partial[i * p.out_len + idx];
    }
    finish(row_of(idx), idx, s);
}

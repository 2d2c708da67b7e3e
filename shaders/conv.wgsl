// Tiled implicit GEMM: out(m, n) = sum_k A(m, k) * B(k, n), with B gathered on the fly from an
// NCHW tensor, so no im2col buffer is ever built. One engine serves dense, conv2d and transposed
// conv2d, forward and backward, through three gather modes (a dense layer is a 1x1 convolution
// of 1x1 images):
//
//   MODE 0, GATHER:  out[b, m, oy, ox] = sum_{c,ky,kx} a[m, c, ky, kx] * x[b, c, oy*s - p + ky, ...]
//                    conv2d forward, transposed conv2d d input, dense forward.
//   MODE 1, TRANSPOSED: out[b, m, oy, ox] = sum_{c,ky,kx} a[c, m, ky, kx] * x[b, c, iy, ix]
//                    where oy = iy*s - p + ky: transposed conv2d forward, conv2d d input,
//                    dense d input. Gather, not scatter: WGSL has no f32 atomics.
//   MODE 2, WEIGHT:  out[m, c, ky, kx] = sum_{b,oy,ox} a[b, m, oy, ox] * x[b, c, oy*s - p + ky, ...]
//                    conv2d d weight, transposed conv2d d weight, dense d weight.
//
// "small" sizes (out_h, out_w) belong to the tensor on the strided side (oy), "large" sizes
// (in_h, in_w) to the tensor indexed by oy*s - p + ky. In MODE 1 the output is the large one.

struct ConvParams {
    m: u32,            // rows of the GEMM: output channels (MODE 0, 1) or a's channels (MODE 2)
    n: u32,            // columns: batch * output pixels (MODE 0, 1), or c * kh * kw (MODE 2)
    k: u32,            // reduction length
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
    _pad: u32,
}

override MODE: u32 = 0u;

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
// 16 x 16 threads, each computing a 4 x 4 block of outputs.
const THREADS: u32 = 16u;

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Tiles stored k-major, 4 consecutive m (or n) per vec4: 2 x 4 KiB of workgroup memory.
var<workgroup> tile_a: array<vec4<f32>, 256>; // [TILE_K][TILE_M / 4]
var<workgroup> tile_b: array<vec4<f32>, 256>; // [TILE_K][TILE_N / 4]

fn load_a(m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.k) {
        return 0.0;
    }
    let kk = p.kernel_h * p.kernel_w;
    switch MODE {
        case 0u: {
            return a[m * p.k + k];
        }
        case 1u: {
            // k = (c, ky, kx); a is [c, m, kh, kw]
            let c = k / kk;
            return a[(c * p.m + m) * kk + k % kk];
        }
        default: {
            // k = (b, oy, ox); a is [batch, m, small_h, small_w]
            let hw = p.small_h * p.small_w;
            let b = k / hw;
            return a[(b * p.m + m) * hw + k % hw];
        }
    }
}

// x at (b, c, y, x) with y, x signed: zero outside the image (the padding).
fn load_x(b: u32, c: u32, y: i32, xx: i32) -> f32 {
    if (y < 0 || xx < 0 || y >= i32(p.large_h) || xx >= i32(p.large_w)) {
        return 0.0;
    }
    return x[((b * p.channels + c) * p.large_h + u32(y)) * p.large_w + u32(xx)];
}

fn load_b(k: u32, n: u32) -> f32 {
    if (k >= p.k || n >= p.n) {
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
            return load_x(b, c, i32(oy * p.stride + ky) - i32(p.pad_y), i32(ox * p.stride + kx) - i32(p.pad_x));
        }
        case 1u: {
            // k = (c, ky, kx), n = (b, oy, ox) over the large image; x is the small image:
            // the tap (ky, kx) reaches (oy, ox) from iy = (oy + p - ky) / s when that divides.
            let c = k / kk;
            let ky = (k % kk) / p.kernel_w;
            let kx = k % p.kernel_w;
            let hw = p.large_h * p.large_w;
            let b = n / hw;
            let oy = (n % hw) / p.large_w;
            let ox = n % p.large_w;
            let ty = i32(oy + p.pad_y) - i32(ky);
            let tx = i32(ox + p.pad_x) - i32(kx);
            let s = i32(p.stride);
            if (ty < 0 || tx < 0 || ty % s != 0 || tx % s != 0) {
                return 0.0;
            }
            let iy = u32(ty / s);
            let ix = u32(tx / s);
            if (iy >= p.small_h || ix >= p.small_w) {
                return 0.0;
            }
            return x[((b * p.channels + c) * p.small_h + iy) * p.small_w + ix];
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
            return load_x(b, c, i32(oy * p.stride + ky) - i32(p.pad_y), i32(ox * p.stride + kx) - i32(p.pad_x));
        }
    }
}

fn out_index(m: u32, n: u32) -> u32 {
    switch MODE {
        case 0u: {
            let hw = p.small_h * p.small_w;
            return ((n / hw) * p.m + m) * hw + n % hw;
        }
        case 1u: {
            let hw = p.large_h * p.large_w;
            return ((n / hw) * p.m + m) * hw + n % hw;
        }
        default: {
            return m * p.n + n;
        }
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) flat: u32,
) {
    let m0 = group.y * TILE_M;
    let n0 = group.x * TILE_N;
    // Each thread loads one vec4 of each tile per k step: row flat / 16 of k, 4 columns.
    let load_k = flat / THREADS;
    let load_col = (flat % THREADS) * 4u;

    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        let k = k0 + load_k;
        tile_a[flat] = vec4<f32>(
            load_a(m0 + load_col, k),
            load_a(m0 + load_col + 1u, k),
            load_a(m0 + load_col + 2u, k),
            load_a(m0 + load_col + 3u, k),
        );
        tile_b[flat] = vec4<f32>(
            load_b(k, n0 + load_col),
            load_b(k, n0 + load_col + 1u),
            load_b(k, n0 + load_col + 2u),
            load_b(k, n0 + load_col + 3u),
        );
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let av = tile_a[kk * THREADS + local.y];
            let bv = tile_b[kk * THREADS + local.x];
            acc[0] += av.x * bv;
            acc[1] += av.y * bv;
            acc[2] += av.z * bv;
            acc[3] += av.w * bv;
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let m = m0 + local.y * 4u + i;
        if (m >= p.m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + local.x * 4u + j;
            if (n >= p.n) {
                break;
            }
            var v = acc[i][j];
            if ((p.flags & 1u) != 0u) {
                v += bias[m];
            }
            let idx = out_index(m, n);
            if ((p.flags & 2u) != 0u) {
                v += out[idx];
            }
            out[idx] = v;
        }
    }
}

// Implicit GEMM through packed operands: out(m, n) = sum_k A(m, k) * B(k, n), with A and B
// gathered from NCHW tensors into dense, zero-padded scratch matrices, then multiplied by a
// register-blocked GEMM. One engine serves dense, conv2d and transposed conv2d, forward and
// backward, through three gather modes (a dense layer is a 1x1 convolution of 1x1 images):
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
//   MODE 4, PLAIN:   out[i, j] = sum_k a[i, k] * x[k, j], both read as they lie (no packs):
//                    MODE 1 from a single pixel whose taps each reach one output pixel (a
//                    generator's first layer, 1x1 -> 4x4 with no padding; a dense layer's input
//                    gradient): out[b, (m, ky, kx)] = sum_c x[b, c] * a[c, (m, ky, kx)].
//                    Or B comes transposed, [n][k], and is packed first (a dense layer of
//                    fewer outputs than images, its images read as they lie as A).
//   MODE 3, COLUMNS: MODE 1 for few output channels (m <= 4), in two steps. There a phase's
//                    GEMM has one row in 8 of its blocks used, and its B (x once per tap) is
//                    packed for a single row. Instead, a 1x1 GEMM computes every tap's
//                    contribution at every input pixel, col[(m, ky, kx)][b, iy, ix] =
//                    sum_c a[c, m, ky, kx] * x[b, c, iy, ix] (m * kh * kw rows, x packed once),
//                    into `partial`; then `col2im` sums, for each output pixel, the taps that
//                    reach it. A gather both times: no atomics.
//                    With GATHER_COLUMNS, MODE 0 the same way (a conv2d to few channels with a
//                    wide kernel, stride 1: CycleGAN's last 7x7 layer), where MODE 0's B would
//                    be x once per tap for a GEMM of one block of rows: col[(m, ky, kx)][b, iy,
//                    ix] = sum_c a[m, c, ky, kx] * x[b, c, iy, ix] over x's own pixels, then
//                    `col_gather` sums col[(m, ky, kx)] at (oy*s - p + ky, ox*s - p + kx) for
//                    each output pixel. The host swaps small and large for it, so that the
//                    GEMM's columns are x's pixels (p.small_*) and the output is p.large_*.
//   MODE 5, WINOGRAD: a 3x3 stride-1 gather or transposed gather as Winograd's F(2x2, 3x3), 16
//                    GEMMs over 2.25 times fewer multiplies (see conv_winograd.wgsl, whose
//                    wino_a and wino_b pack A and B, and wino_out finishes the products).
//
// Why pack: gathering inside the GEMM costs a dozen integer divisions per operand element, and
// every element is read by many threads. Packing does that index arithmetic once per element;
// the GEMM then reads whole vec4s with no bounds logic, which is what CPU adapters (SwiftShader,
// lavapipe: one SIMD lane per invocation, a bounds check per load) and GPUs alike run fastest.
// Each GEMM thread keeps an 8 x 8 block of out in registers and shares nothing, so there is no
// workgroup memory and no barrier (barriers are costly on CPU adapters).
//
// The batch may be cut into chunks of images (`batch0`, `batch`) so that the packs fit their
// scratch buffers. One image too large for a binding is cut further: MODE 0 and 1 reduce over
// a group of x's channels at a time (`channel0`, `group_channels`), each group's sum added
// into out by the next run; MODE 2 over a band of an image's pixels (`pixel0`, k of them),
// summed likewise. Long reductions with few output blocks (weight gradients, a 1-logit dense
// layer) split k over `splits` slices that write partial sums; `reduce_splits` adds them up.

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
    unused: u32,       // keeps the struct a multiple of 16 bytes
    splits: u32,       // workgroups sharing one output tile's reduction (1: no split)
    out_len: u32,      // elements of out
    batch0: u32,       // first image of this chunk; `batch` counts the chunk's images
    phases: u32,       // GEMMs in the grid's z (MODE 1: stride^2; else 1)
    rows: u32,         // rows of a packed A: m rounded up to 8
    a_row4: u32,       // vec4s per row of a packed A (k rounded up to 4)
    b_row4: u32,       // vec4s per row of a packed B (n rounded up to 8)
    a_phase4: u32,     // vec4s per phase of the packed A
    b_phase4: u32,     // vec4s per phase of the packed B
    channel0: u32,     // MODE 0, 1: the first of x's channels this run reduces over
    group_channels: u32, // MODE 0, 1: how many (p.channels unless one image is cut)
    pixel0: u32,       // MODE 2: the first pixel of the image this run reduces over
    unused2: u32,
}

override MODE: u32 = 0u;
// Bit 0: add bias[m]; bit 1: add into out instead of overwriting it; bit 2: write the GEMM's
// result to `partial` as it is (split reductions, MODE 3's columns); bit 3: then rectify it
// (a ReLU or leaky ReLU after a layer with no batch norm between). Constants, not uniforms:
// CPU adapters run both sides of a branch they cannot prove uniform, loads included, and the
// bias and accumulate loads cost a quarter of a short-k GEMM's time.
override FLAGS: u32 = 0u;
// FLAGS bit 3's slope for negative results, as f32 bits: a constant like FLAGS, so that the
// stores read no uniform per element.
override SLOPE_BITS: u32 = 0u;

// The GEMM reads an operand where it already lies, skipping its pack, bound in the pack's
// place. Bit 0, A: MODE 2's a ([b][m][hw], hw % 4 == 0: a run of k is a vec4 of one image), or
// a plain [m][k] (MODE 0's weights, MODE 4; k % 4 == 0). Bit 1, B: MODE 3's x ([b][c][hw], hw
// and c % 4 == 0), or a plain [k][n] (MODE 2 from one pixel to a whole kernel, MODE 4;
// n % 4 == 0).
// Bit 2, A gathered from the weights a in place, 4 floats per vec4 of A (see `a_row`): MODE 1
// with 2 x 2 taps per phase (kernel = 2 * stride), where a vec4 of row m is one channel's taps
// of the phase, a[c, m, ry + {0, s}, rx + {0, s}]; MODE 3's a transposed ([c][rows]: a vec4
// of row r is a[c .. c + 3][r]). The pack these replace transposed the weights at a few ns a
// float on CPU adapters, more than the GEMM itself for the U-Net's inner layers (pix2pix64's
// convT 1024→512: 38 of 48 ms), where the GEMM's extra loads cost far less. Those loads are
// per thread, so they grow with the GEMM's columns while the pack does not: the host sets bits
// 2 and 3 for GEMMs of few columns only (GATHER_MAX_COLUMNS in conv.rs).
// Bit 3, A from the weights in place for MODE 1 at stride 1 with kh · kw % 4 == 0 (the
// PatchGAN's 4 x 4 stride-1 layers' input gradients): k = (c, tap) and a channel's taps lie
// in a row, so that vec4 r of channel c is a[c, m] from tap 4r on, 4 floats in a row.
override DIRECT: u32 = 0u;

// Set when every group of 4 columns (n % 4 == 0) of the GEMM's output lies evenly spaced in
// out and n % 4 == 0 (see `runs` in conv.rs): the GEMM then stores no element on its own.
override RUNS: u32 = 0u;
// MODE 1 with 2 x 2 taps per phase (kernel = 2 * stride) over phases of one size (large % stride
// == 0): the phases share one B. Tap (jy, jx) of a phase reads x shifted by (dy - jy, dx - jx),
// and over all phases these shifts take 3 values a side (dy takes two): B packed once per
// shift, rows (c, 3 x 3 shifts), is 9 / 16 of the phases' own (4 phases x 4 taps), and each
// phase's GEMM reads its 4 rows of a channel from it (see `shift_row`).
override SHIFTS: u32 = 0u;

// MODE 3 for a gather (see MODE 3 above): A's rows (m, ky, kx) read a as [m, c, kh, kw].
override GATHER_COLUMNS: u32 = 0u;

// The GEMM's workgroup, in threads of 8 x 8 blocks: 8 x 8 unless the output is narrow (a
// weight gradient's few columns, the columns' few rows), where it follows the output's shape.
override GROUP_X: u32 = 8u;
override GROUP_Y: u32 = 8u;

// 4 with subgroups whose lanes are the workgroup's threads in order (checked once per device
// by lanes.wgsl: WebGPU does not promise it) and GROUP_X % 4 == 0: then 4 lanes side by side
// share their blocks' rows of A, each loading 2 of its 8 vec4s and taking the others by
// shuffles (matmul 1024^3: lavapipe 16 -> 22 GFLOP/s, SwiftShader 4.4 -> 5.2). The entry point
// and the shuffle come from conv_subgroups.wgsl, or conv_no_subgroups.wgsl without the feature.
// (Checking the lanes in the kernel instead cost more than the sharing won: a branch in the
// loop that CPU adapters cannot prove uniform runs both ways.)
// 8 where a subgroup is exactly 8 lanes (lavapipe on AVX2) and GROUP_Y % 2 == 0 as well: a
// subgroup then spans 4 blocks by 2 rows of blocks, each row's 4 sharing A as above and each
// column's 2 sharing B, so that a thread loads 4 of its 8 texels of B for each vec4 of k.
// There B's texel loads were most of the GEMM (lavapipe, the GEMMs of CycleGAN64's residual
// conv: 3.4 ms, 1.3 with B's loads left out), and a shuffle costs a tenth of a load: those
// GEMMs 3.4 -> 2.8 ms (forward), 5.3 -> 4.0 (input gradient); matmul 1024^3 65 -> 57-65 ms.
override LANES: u32 = 0u;

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// Binding 4, `out`, is declared by the part the host appends: conv_out.wgsl (f32s) or
// conv_out_vec4.wgsl (vec4s, for GEMMs whose runs of 4 columns are whole vec4s of out). Each
// also holds `finish`, the one place results are written, and `finish4`, for a run of 4.
// [splits][out_len] partial sums when the reduction is split, MODE 3's columns [m][n]; unused
// otherwise.
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
// The GEMM's operands where they need no pack (see DIRECT): A [rows][k / 4] and B
// [k][n / 4] as they lie. Packed ones lie in the textures below.
@group(0) @binding(6) var<storage, read_write> packed_a: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> packed_b: array<vec4<f32>>;
// Packed B lies in a texture, vec4 i at texel (i % 2^B_SHIFT, i >> B_SHIFT) (PACKED_B_WIDTH
// in gpu.rs): CPU adapters load a texel's 4 floats at once, where they load a storage
// buffer float by float and lane by lane, and B is most of the GEMM's loads (lavapipe: the
// GEMM of CycleGAN64's residual conv 1.5 times as fast). The packs write it and the GEMM
// reads it, each through its own binding; `packed_b` above is then unused, or B read in
// place.
@group(0) @binding(8) var packed_b_read: texture_2d<f32>;
@group(0) @binding(9) var packed_b_write: texture_storage_2d<rgba32float, write>;
// Packed A, laid out as packed B and for the same reason (Winograd's residual GEMMs: 1.5 to 2
// times as fast on lavapipe): its packs write it through `packed_b_write`, and the GEMM reads
// a texel where it would read a vec4 of `packed_a`, which then holds A read in place or
// nothing.
@group(0) @binding(10) var packed_a_read: texture_2d<f32>;
const B_SHIFT: u32 = 12u;

fn b_texel(i: u32) -> vec2<u32> {
    return vec2<u32>(i & ((1u << B_SHIFT) - 1u), i >> B_SHIFT);
}

fn put_b(i: u32, v: vec4<f32>) {
    textureStore(packed_b_write, b_texel(i), v);
}

// The GEMM's B at vec4 i: packed, or (DIRECT bit 1) read in place.
fn get_b(i: u32) -> vec4<f32> {
    if ((DIRECT & 2u) != 0u) {
        return packed_b[i];
    }
    return textureLoad(packed_b_read, b_texel(i), 0);
}

// The GEMM of one phase (MODE 1), or the only one. Passed by value, not kept in
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
    // The grid's phase (MODE 5: the position in the 4 x 4 transforms).
    phase: u32,
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
    r.k = p.group_channels * r.th * r.tw;
    return r;
}

fn load_a(g: Gemm, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= g.k) {
        return 0.0;
    }
    let kk = p.kernel_h * p.kernel_w;
    switch MODE {
        case 0u: {
            // a is [m, channels · kh · kw]; this run's k starts at channel0.
            return a[(m * p.channels + p.channel0) * kk + k];
        }
        case 1u: {
            // k = (c, jy, jx) → tap (ry + jy·s, rx + jx·s); a is [c, m, kh, kw]
            let taps = g.th * g.tw;
            let c = p.channel0 + k / taps;
            let ky = g.ry + (k % taps) / g.tw * p.stride;
            let kx = g.rx + k % g.tw * p.stride;
            return a[(c * p.m + m) * kk + ky * p.kernel_w + kx];
        }
        case 3u: {
            if (GATHER_COLUMNS != 0u) {
                // m = (m, ky, kx), k = c; a is [m, c, kh, kw].
                return a[((m / kk) * p.channels + k) * kk + m % kk];
            }
            // m = (m, ky, kx), k = c; a is [c, m, kh, kw]: A transposed.
            return a[k * p.m + m];
        }
        default: {
            // k = (b, oy, ox) from pixel0; a is [batch, m, small_h, small_w]
            let hw = p.small_h * p.small_w;
            let kp = p.pixel0 + k;
            let b = p.batch0 + kp / hw;
            return a[(b * p.m + m) * hw + kp % hw];
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

fn out_index(g: Gemm, m: u32, n: u32) -> u32 {
    switch MODE {
        case 0u: {
            let hw = p.small_h * p.small_w;
            return ((p.batch0 + n / hw) * p.m + m) * hw + n % hw;
        }
        case 1u: {
            let q = g.qh * g.qw;
            let b = p.batch0 + n / q;
            let oy = g.oy0 + (n % q) / g.qw * p.stride;
            let ox = g.ox0 + n % g.qw * p.stride;
            return ((b * p.m + m) * p.large_h + oy) * p.large_w + ox;
        }
        default: {
            return m * p.n + n;
        }
    }
}

// The bias of row m at output element idx (MODE 4's bias is per column: a dense layer's
// outputs are its columns there).
fn bias_at(m: u32, idx: u32) -> f32 {
    return bias[select(m, idx % p.n, MODE == 4u)];
}

// FLAGS bit 3's rectifier, for finish.
fn rectify(r: f32) -> f32 {
    return select(r * bitcast<f32>(SLOPE_BITS), r, r >= 0.0);
}

fn gemm_of(phase: u32) -> Gemm {
    if (MODE == 1u) {
        return phase_gemm(phase);
    }
    var g: Gemm;
    g.n = p.n;
    g.k = p.k;
    g.phase = phase;
    return g;
}

// The flat index of a pack thread; the grid's x and y spread it past 65,535 workgroups.
fn pack_index(group: vec3<u32>, groups: vec3<u32>, l: u32) -> u32 {
    return (group.y * groups.x + group.x) * 256u + l;
}

// Packed A, [phase][row][k / 4] vec4s of the texture bound for writing: A of each phase, zero
// beyond m and k.
@compute @workgroup_size(256)
fn pack_a(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    let per_phase = p.rows * p.a_row4;
    if (i >= per_phase) {
        return;
    }
    let g = gemm_of(group.z);
    let m = i / p.a_row4;
    let k = i % p.a_row4 * 4u;
    // Into packed A's texture, bound for writing here.
    if (MODE == 1u) {
        put_b(group.z * p.a_phase4 + i, transposed_a4(g, m, k));
        return;
    }
    put_b(group.z * p.a_phase4 + i, vec4<f32>(load_a(g, m, k), load_a(g, m, k + 1u), load_a(g, m, k + 2u), load_a(g, m, k + 3u)));
}

// MODE 1's load_a at k .. k + 3, walking (c, jy, jx) from k's: 4 integer divisions for the
// four, where load_a makes 4 apiece. CPU adapters divide lane by lane: CycleGAN's residual
// blocks' input gradients packed their 3 x 3 kernels (590 K floats) in 2.6 ms on lavapipe,
// 1.7 so.
fn transposed_a4(g: Gemm, m: u32, k: u32) -> vec4<f32> {
    var r = vec4<f32>();
    if (m >= p.m) {
        return r;
    }
    let taps = g.th * g.tw;
    let first = k % taps;
    // (c, jy, jx)
    var t = vec3<u32>(p.channel0 + k / taps, first / g.tw, first % g.tw);
    let kk = p.kernel_h * p.kernel_w;
    for (var j = 0u; j < 4u; j++) {
        if (k + j < g.k) {
            let ky = g.ry + t.y * p.stride;
            let kx = g.rx + t.z * p.stride;
            r[j] = a[(t.x * p.m + m) * kk + ky * p.kernel_w + kx];
        }
        t = next_tap(t, g.th, g.tw);
    }
    return r;
}

// The tap after (c, y, x) in a walk over channels of h x w taps, x fastest.
fn next_tap(t: vec3<u32>, h: u32, w: u32) -> vec3<u32> {
    if (t.z + 1u < w) {
        return vec3<u32>(t.x, t.y, t.z + 1u);
    }
    if (t.y + 1u < h) {
        return vec3<u32>(t.x, t.y + 1u, 0u);
    }
    return vec3<u32>(t.x + 1u, 0u, 0u);
}

// A's vec4 at `i`: packed, or (DIRECT bit 2 or 3) the 4 floats of a at i and the offsets e.
fn a_row(i: u32, e: vec3<u32>) -> vec4<f32> {
    if ((DIRECT & 13u) == 0u) {
        return textureLoad(packed_a_read, b_texel(i), 0);
    }
    if ((DIRECT & 12u) != 0u) {
        return vec4<f32>(a[i], a[i + e.x], a[i + e.y], a[i + e.z]);
    }
    return packed_a[i];
}

// The smallest shift (y, x) of x a tap meets over all phases (SHIFTS): tap 1 of the last
// phase, whose dy and dx are the smallest.
fn smallest_shift() -> vec2<i32> {
    let last = phase_gemm(p.stride * p.stride - 1u);
    return vec2<i32>(last.dy - 1, last.dx - 1);
}

// SHIFTS: the row of the shared B, within a channel's 9, that tap (0, 0) of phase g reads;
// its taps (0, 1), (1, 0), (1, 1) read rows 1, 3 and 4 before it.
fn shift_row(g: Gemm) -> u32 {
    let low = smallest_shift();
    return u32(g.dy - low.x) * 3u + u32(g.dx - low.y);
}

// A run of B's row k over columns that walk an output grid row by row (MODE 0: (b, oy, ox);
// MODE 1: a phase's (b, qy, qx)), each element x[b, c, row * step + dy, col * step + dx].
struct Grid {
    h: u32,       // x's height and width
    w: u32,
    rows: u32,    // the grid's rows per image and columns per row
    cols: u32,
    step: u32,
}

// Where grid row (b, r) reads x, for channel c and offset dy: (index of x's column 0, 1 when
// the row lies inside the image); the column and dx are added per element.
fn grid_row(t: Grid, b: u32, r: u32, c: u32, dy: i32) -> vec2<i32> {
    let y = i32(r * t.step) + dy;
    let inside = y >= 0 && y < i32(t.h);
    return vec2<i32>((i32((b * p.channels + c) * t.h) + y) * i32(t.w), i32(inside));
}

// The grid row after (b, r), as (b, r).
fn next_row(t: Grid, b: u32, r: u32) -> vec2<u32> {
    let wrap = r + 1u == t.rows;
    return vec2<u32>(select(b, b + 1u, wrap), select(r + 1u, 0u, wrap));
}

// Element j of a run starting at column col0 of row r0, which moves on to rows r1 and r2 at
// elements s1 and s2.
fn grid_at(t: Grid, j: u32, col0: u32, s1: u32, s2: u32, r0: vec2<i32>, r1: vec2<i32>, r2: vec2<i32>, dx: i32) -> f32 {
    let row = select(select(r0, r1, j >= s1), r2, j >= s2);
    let col = col0 + j - select(select(0u, t.cols, j >= s1), 2u * t.cols, j >= s2);
    let xx = i32(col * t.step) + dx;
    let inside = row.y != 0 && xx >= 0 && xx < i32(t.w);
    return select(0.0, x[u32(max(row.x + xx, 0))], inside);
}

// Eight columns over at most three grid rows (t.cols >= 4) from (b, r, col): each row's start
// in x and whether it lies inside found once, then every element by constant arithmetic and
// selects, with no branch and a bounds test for the column alone. SwiftShader: pack B of
// dcgan28's 4 x 4 stride-2 gathers 45 -> 32 ms.
fn grid_run(t: Grid, b: u32, r: u32, col: u32, c: u32, dy: i32, dx: i32) -> array<f32, 8> {
    let r0 = grid_row(t, b, r, c, dy);
    let n1 = next_row(t, b, r);
    let r1 = grid_row(t, n1.x, n1.y, c, dy);
    let n2 = next_row(t, n1.x, n1.y);
    let r2 = grid_row(t, n2.x, n2.y, c, dy);
    let s1 = t.cols - col;
    let s2 = s1 + t.cols;
    return array<f32, 8>(
        grid_at(t, 0u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 1u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 2u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 3u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 4u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 5u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 6u, col, s1, s2, r0, r1, r2, dx),
        grid_at(t, 7u, col, s1, s2, r0, r1, r2, dx),
    );
}

// B[k][n0 .. n0 + 7], zero beyond k and n. The index arithmetic is done once and then stepped
// along n: load_b's divisions, paid per element, cost more than the copy itself.
fn b_run(g: Gemm, k: u32, n0: u32) -> array<f32, 8> {
    var r: array<f32, 8>;
    if (k >= g.k) {
        return r;
    }
    let kk = p.kernel_h * p.kernel_w;
    switch MODE {
        case 0u: {
            let c = p.channel0 + k / kk;
            let ky = i32((k % kk) / p.kernel_w) - i32(p.pad_y);
            let kx = i32(k % p.kernel_w) - i32(p.pad_x);
            let hw = p.small_h * p.small_w;
            var b = p.batch0 + n0 / hw;
            var oy = (n0 % hw) / p.small_w;
            var ox = n0 % p.small_w;
            if (p.small_w >= 4u && n0 + 8u <= g.n) {
                return grid_run(Grid(p.large_h, p.large_w, p.small_h, p.small_w, p.stride), b, oy, ox, c, ky, kx);
            }
            for (var j = 0u; j < 8u && n0 + j < g.n; j++) {
                r[j] = load_large(b, c, i32(oy * p.stride) + ky, i32(ox * p.stride) + kx);
                ox += 1u;
                if (ox == p.small_w) {
                    ox = 0u;
                    oy += 1u;
                    if (oy == p.small_h) {
                        oy = 0u;
                        b += 1u;
                    }
                }
            }
        }
        case 1u: {
            // Row k of B reads x shifted by (sy, sx): tap (jy, jx) of the phase, or with
            // SHIFTS the k % 9'th of the 3 x 3 shifts from the smallest.
            var c: u32;
            var sy: i32;
            var sx: i32;
            if (SHIFTS != 0u) {
                let low = smallest_shift();
                c = p.channel0 + k / 9u;
                sy = low.x + i32(k % 9u / 3u);
                sx = low.y + i32(k % 3u);
            } else {
                let taps = g.th * g.tw;
                c = p.channel0 + k / taps;
                sy = g.dy - i32((k % taps) / g.tw);
                sx = g.dx - i32(k % g.tw);
            }
            let q = g.qh * g.qw;
            var b = p.batch0 + n0 / q;
            var qy = (n0 % q) / g.qw;
            var qx = n0 % g.qw;
            if (g.qw >= 4u && n0 + 8u <= g.n) {
                return grid_run(Grid(p.small_h, p.small_w, g.qh, g.qw, 1u), b, qy, qx, c, sy, sx);
            }
            for (var j = 0u; j < 8u && n0 + j < g.n; j++) {
                let iy = i32(qy) + sy;
                let ix = i32(qx) + sx;
                if (iy >= 0 && ix >= 0 && iy < i32(p.small_h) && ix < i32(p.small_w)) {
                    r[j] = x[((b * p.channels + c) * p.small_h + u32(iy)) * p.small_w + u32(ix)];
                }
                qx += 1u;
                if (qx == g.qw) {
                    qx = 0u;
                    qy += 1u;
                    if (qy == g.qh) {
                        qy = 0u;
                        b += 1u;
                    }
                }
            }
        }
        case 4u: {
            // B's transpose, [n][k], in x.
            for (var j = 0u; j < 8u && n0 + j < g.n; j++) {
                r[j] = x[(n0 + j) * p.k + k];
            }
        }
        case 3u: {
            // x[b, k, i]: row k of B is channel k of each image in turn.
            let hw = p.small_h * p.small_w;
            var b = p.batch0 + n0 / hw;
            var i = n0 % hw;
            if (i + 8u <= hw && n0 + 8u <= g.n) {
                // The common case, eight floats of one image, read with constant indices: on
                // SwiftShader this pack took 4.2 ms instead of the loop's 7.0 (dcgan28, b64).
                let at = (b * p.channels + k) * hw + i;
                return array<f32, 8>(x[at], x[at + 1u], x[at + 2u], x[at + 3u], x[at + 4u], x[at + 5u], x[at + 6u], x[at + 7u]);
            }
            for (var j = 0u; j < 8u && n0 + j < g.n; j++) {
                r[j] = x[(b * p.channels + k) * hw + i];
                i += 1u;
                if (i == hw) {
                    i = 0u;
                    b += 1u;
                }
            }
        }
        default: {
            let hw = p.small_h * p.small_w;
            let kp = p.pixel0 + k;
            let b = p.batch0 + kp / hw;
            let oy = i32((kp % hw) / p.small_w * p.stride) - i32(p.pad_y);
            let ox = i32(kp % p.small_w * p.stride) - i32(p.pad_x);
            if (p.kernel_w == 4u && kk % 8u == 0u) {
                // The eight columns are two rows of one channel's 4-wide tap window: six
                // bounds tests instead of 32, and no branch (lanes at a border and lanes
                // inside take the same path).
                let c = n0 / kk;
                let y = oy + i32((n0 % kk) / 4u);
                let w = i32(p.large_w);
                let h = i32(p.large_h);
                let at = (i32((b * p.channels + c) * p.large_h) + y) * w + ox;
                let r0 = y >= 0 && y < h;
                let r1 = y + 1 >= 0 && y + 1 < h;
                let c0 = ox >= 0 && ox < w;
                let c1 = ox + 1 >= 0 && ox + 1 < w;
                let c2 = ox + 2 >= 0 && ox + 2 < w;
                let c3 = ox + 3 >= 0 && ox + 3 < w;
                return array<f32, 8>(
                    select(0.0, x[u32(max(at, 0))], r0 && c0),
                    select(0.0, x[u32(max(at + 1, 0))], r0 && c1),
                    select(0.0, x[u32(max(at + 2, 0))], r0 && c2),
                    select(0.0, x[u32(max(at + 3, 0))], r0 && c3),
                    select(0.0, x[u32(max(at + w, 0))], r1 && c0),
                    select(0.0, x[u32(max(at + w + 1, 0))], r1 && c1),
                    select(0.0, x[u32(max(at + w + 2, 0))], r1 && c2),
                    select(0.0, x[u32(max(at + w + 3, 0))], r1 && c3),
                );
            }
            // (c, ky, kx)
            var t = vec3<u32>(n0 / kk, (n0 % kk) / p.kernel_w, n0 % p.kernel_w);
            for (var j = 0u; j < 8u && n0 + j < g.n; j++) {
                r[j] = load_large(b, t.x, oy + i32(t.y), ox + i32(t.z));
                t = next_tap(t, p.kernel_h, p.kernel_w);
            }
        }
    }
    return r;
}

// packed_b[phase][k][n / 4]: B of each phase, eight columns of a row per thread, or in MODE 1
// of four rows: there a thread's setup (its phase's GEMM, its row and column) cost lavapipe
// as much as the packing, and four rows a thread took CycleGAN's stride-2 input gradients'
// pack from 33 to 18 ms at batch 4.
@compute @workgroup_size(256)
fn pack_b(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    let runs = p.b_row4 / 2u;
    let n0 = i % runs * 8u;
    if (MODE != 1u) {
        // One row, in no loop or branch: lavapipe loads lane by lane inside either, and the
        // grid's loads cost these packs 10% more there.
        if (i >= p.b_phase4 / 2u) {
            return;
        }
        let k = i / runs;
        store_b_run(group.z, k, n0, b_run(gemm_of(group.z), k, n0));
        return;
    }
    var g = gemm_of(group.z);
    // Rows the GEMM reads: the phase's up to its last vec4 of k (a 3 x 3 stride-2 kernel's
    // phases have 4, 2, 2 and 1 taps, and writing the zeros past them cost a quarter of the
    // pack), or with SHIFTS, 9 per channel.
    var last = (g.k + 3u) / 4u * 4u;
    if (SHIFTS != 0u) {
        g.k = 9u * p.group_channels;
        last = g.k;
    }
    let k0 = i / runs * 4u;
    for (var k = k0; k < min(k0 + 4u, last); k++) {
        store_b_run(group.z, k, n0, b_run(g, k, n0));
    }
}

// Row k's columns n0 .. n0 + 7 of phase z's packed B.
fn store_b_run(z: u32, k: u32, n0: u32, r: array<f32, 8>) {
    let at = z * p.b_phase4 + k * p.b_row4 + n0 / 4u;
    put_b(at, vec4<f32>(r[0], r[1], r[2], r[3]));
    put_b(at + 1u, vec4<f32>(r[4], r[5], r[6], r[7]));
}

// Writes one row of a thread's block: columns n0 .. n0 + 7 of row m.
fn store_row(g: Gemm, split: u32, m: u32, n0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (m >= p.m) {
        return;
    }
    for (var j = 0u; j < 8u; j++) {
        let n = n0 + j;
        if (n >= g.n) {
            return;
        }
        let v = select(hi[j & 3u], lo[j & 3u], j < 4u);
        let idx = out_index(g, m, n);
        if ((FLAGS & 4u) != 0u) {
            partial[split * p.out_len + idx] = v;
        } else {
            finish(m, idx, v);
        }
    }
}

// Where columns n .. n + 3 of row m0 lie in out (or in the split's partial), for columns that
// lie evenly spaced: (index, step along n, step along m).
fn group_at(g: Gemm, split: u32, m0: u32, n: u32) -> vec3<u32> {
    let base = select(0u, split * p.out_len, (FLAGS & 4u) != 0u);
    switch MODE {
        case 0u: {
            let hw = p.small_h * p.small_w;
            // A dense layer's columns are images, one row of p.m apart.
            return vec3<u32>(base + out_index(g, m0, n), select(1u, p.m, hw == 1u), select(hw, 1u, hw == 1u));
        }
        case 1u: {
            let large = p.large_h * p.large_w;
            return vec3<u32>(base + out_index(g, m0, n), select(p.stride, p.m, large == 1u), select(large, 1u, large == 1u));
        }
        default: {
            return vec3<u32>(base + m0 * p.n + n, 1u, p.n);
        }
    }
}

// group_at for a block whose 8 columns lie evenly spaced, or step 0 when they wrap to another
// image or output row, for store_row to place one by one.
fn run_of(g: Gemm, split: u32, m0: u32, n0: u32) -> vec3<u32> {
    if (n0 + 8u > g.n) {
        return vec3<u32>();
    }
    if (MODE == 0u) {
        let hw = p.small_h * p.small_w;
        if (hw != 1u && n0 % hw + 8u > hw) {
            return vec3<u32>();
        }
    }
    if (MODE == 1u && p.large_h * p.large_w != 1u && (n0 % (g.qh * g.qw)) % g.qw + 8u > g.qw) {
        return vec3<u32>();
    }
    return group_at(g, split, m0, n0);
}

// Four columns of row m, `step` apart from `at`: indices and vector components known without
// a division or a dynamic component per element (SwiftShader and lavapipe divide lane by
// lane, and a vector's dynamic component goes through memory).
fn store4(m: u32, at: u32, step: u32, v: vec4<f32>) {
    if (m >= p.m) {
        return;
    }
    if ((FLAGS & 4u) != 0u) {
        partial[at] = v.x;
        partial[at + step] = v.y;
        partial[at + 2u * step] = v.z;
        partial[at + 3u * step] = v.w;
    } else {
        finish4(m, at, step, v);
    }
}

// The vec4 of x (MODE 3, read in place) holding B's row 0 at columns n .. n + 3 (n % 4 == 0).
fn x_vec4(n: u32, hw4: u32) -> u32 {
    let b = p.batch0 + n / (hw4 * 4u);
    return b * p.channels * hw4 + n % (hw4 * 4u) / 4u;
}

// One thread: rows m0 .. m0 + 7 by columns n0 .. n0 + 7 of its phase's out, over its split's
// share of k. With B's 4 x 4 blocks as matrices, B^T-times-a-row is four multiply-adds.
// Called by the entry point `main` with the thread's index in its workgroup (row-major, x
// fastest) and, with subgroups, its lane.
fn gemm(li: u32, group: vec3<u32>, lane: u32) {
    // Phases fastest: a split's phases run one after another and read the same channels of
    // the weights (and with SHIFTS, of B) while they are in cache. Read in place (DIRECT bit
    // 2), each phase reads a quarter of every line: pix2pix64's convT 1024→512 forward, 33 MB
    // of weights, took 18.5 ms on lavapipe with splits fastest, 15.4 with phases.
    let phase = group.z % p.phases;
    let split = group.z / p.phases;
    let g = gemm_of(phase);
    var id = vec2<u32>(group.x * GROUP_X + li % GROUP_X, group.y * GROUP_Y + li / GROUP_X);
    // The row of blocks whose A the thread loads: its own, or (LANES 8) the last one where
    // its own lies past the end and its subgroup's other row does not.
    var ma = id.y * 8u;
    if (LANES == 8u) {
        // A subgroup of 8 is 4 blocks side by side in 2 rows (the host checked GROUP_X % 4
        // and GROUP_Y % 2): the 4 of a row share its rows of A and the 2 of a column its B.
        let sub = li / 8u;
        let across = max(GROUP_X / 4u, 1u);
        id = vec2<u32>(group.x * GROUP_X + sub % across * 4u + lane % 4u, group.y * GROUP_Y + sub / across * 2u + lane / 4u);
        if (id.y * 8u - lane / 4u * 8u >= p.m) {
            return;
        }
        ma = min(id.y * 8u, (p.m - 1u) / 8u * 8u);
    }
    let n0 = id.x * 8u;
    let m0 = id.y * 8u;
    // Rows past the end leave in whole groups of lanes (one row of blocks each, or with LANES
    // 8 a subgroup's two); columns past the end stay to the end of the loop when lanes share
    // A, reading column 0's B.
    if ((m0 >= p.m && LANES != 8u) || (n0 >= g.n && LANES == 0u)) {
        return;
    }
    // A subgroup's two rows load each other's B: x8 follows the column alone.
    let x8 = select(0u, id.x, n0 < g.n);
    let live = n0 < g.n && m0 < p.m;
    let nb = x8 * 8u;
    let q = lane % 4u;
    let base = lane - q;
    let k4s = (g.k + 3u) / 4u;
    let per_split = (k4s + p.splits - 1u) / p.splits;
    let k_begin = min(k4s, split * per_split);
    let k_end = min(k4s, k_begin + per_split);

    // A's row m0 + r, vec4 k4, is packed_a[at + r * s + k4], where `at` moves on by `skip`
    // after each image's `per_image` vec4s of k when A is read in place.
    var at = phase * p.a_phase4 + ma * p.a_row4;
    var s = p.a_row4;
    var per_image = 0u;
    var left = 0u;
    var skip = 0u;
    if ((DIRECT & 1u) != 0u && MODE != 2u) {
        s = p.k / 4u;
        at = ma * s;
    }
    // `ka`: how far `at` moves per vec4 of k; `e`: a_row's offsets of a vec4's floats.
    var ka = 1u;
    var e = vec3<u32>();
    if ((DIRECT & 4u) != 0u && MODE == 1u) {
        let kk = p.kernel_h * p.kernel_w;
        s = kk;
        ka = p.m * kk;
        at = (p.channel0 * p.m + ma) * kk + g.ry * p.kernel_w + g.rx;
        e = vec3<u32>(p.stride, p.stride * p.kernel_w, p.stride * (p.kernel_w + 1u));
    }
    // DIRECT bit 3: vec4s per channel; vec4 k4 is at + (k4 / v) * ka + (k4 % v) * 4.
    var v = 0u;
    if ((DIRECT & 8u) != 0u && MODE == 1u) {
        let kk = p.kernel_h * p.kernel_w;
        v = kk / 4u;
        s = kk;
        ka = p.m * kk;
        at = (p.channel0 * p.m + ma) * kk;
        e = vec3<u32>(1u, 2u, 3u);
    }
    if ((DIRECT & 4u) != 0u && MODE == 3u) {
        s = 1u;
        ka = 4u * p.m;
        at = ma;
        e = vec3<u32>(p.m, 2u * p.m, 3u * p.m);
    }
    if ((DIRECT & 1u) != 0u && MODE == 2u) {
        per_image = p.small_h * p.small_w / 4u;
        s = per_image;
        skip = (p.m - 1u) * per_image;
        let image = k_begin / per_image;
        at = (p.batch0 * p.m + ma) * per_image + image * skip;
        left = per_image - k_begin % per_image;
    }
    // B's rows for the thread's two vec4s of columns start at rlo and rhi, `sb` apart: rows
    // k .. k + 3 at offsets o0 .. o3 from rlo + k / 4 * kstep.
    var rlo = phase * p.b_phase4 + x8 * 2u;
    var sb = p.b_row4;
    if (SHIFTS != 0u) {
        // One B for all phases; tap (1, 1) of a channel's four is its lowest row.
        rlo = x8 * 2u + (shift_row(g) - 4u) * sb;
    }
    var rhi = rlo + 1u;
    if ((DIRECT & 2u) != 0u && MODE == 3u) {
        let hw4 = p.small_h * p.small_w / 4u;
        sb = hw4;
        rlo = x_vec4(nb, hw4);
        rhi = select(rlo, x_vec4(nb + 4u, hw4), nb + 4u < g.n);
    }
    if ((DIRECT & 2u) != 0u && MODE != 3u) {
        // Row k of a weight gradient's B is image batch0 + k.
        sb = g.n / 4u;
        rlo = p.batch0 * sb + nb / 4u;
        rhi = select(rlo, rlo + 1u, nb + 4u < g.n);
    }
    let kstep = select(4u, 9u, SHIFTS != 0u) * sb;
    let o0 = select(0u, 4u * sb, SHIFTS != 0u);
    let o1 = select(sb, 3u * sb, SHIFTS != 0u);
    let o2 = select(2u * sb, sb, SHIFTS != 0u);
    let o3 = select(3u * sb, 0u, SHIFTS != 0u);
    var l0 = vec4<f32>(); var h0 = vec4<f32>();
    var l1 = vec4<f32>(); var h1 = vec4<f32>();
    var l2 = vec4<f32>(); var h2 = vec4<f32>();
    var l3 = vec4<f32>(); var h3 = vec4<f32>();
    var l4 = vec4<f32>(); var h4 = vec4<f32>();
    var l5 = vec4<f32>(); var h5 = vec4<f32>();
    var l6 = vec4<f32>(); var h6 = vec4<f32>();
    var l7 = vec4<f32>(); var h7 = vec4<f32>();
    for (var k4 = k_begin; k4 < k_end; k4++) {
        let b0 = rlo + k4 * kstep;
        let c0 = rhi + k4 * kstep;
        // Columns: B's rows k .. k + 3, so that lo * a = sum_j a[j] * B[k + j][n0 .. n0 + 3].
        var lo: mat4x4<f32>;
        var hi: mat4x4<f32>;
        if (LANES == 8u) {
            // The upper lane of a column loads rows k + 2 and k + 3, the lower k and k + 1.
            let up = lane >= 4u;
            let oa = select(o0, o2, up);
            let ob = select(o1, o3, up);
            let t0 = get_b(b0 + oa);
            let t1 = get_b(b0 + ob);
            let t2 = get_b(c0 + oa);
            let t3 = get_b(c0 + ob);
            let q4 = lane % 4u;
            lo = mat4x4<f32>(from_lane(t0, q4), from_lane(t1, q4), from_lane(t0, q4 + 4u), from_lane(t1, q4 + 4u));
            hi = mat4x4<f32>(from_lane(t2, q4), from_lane(t3, q4), from_lane(t2, q4 + 4u), from_lane(t3, q4 + 4u));
        } else {
            lo = mat4x4<f32>(get_b(b0 + o0), get_b(b0 + o1), get_b(b0 + o2), get_b(b0 + o3));
            hi = mat4x4<f32>(get_b(c0 + o0), get_b(c0 + o1), get_b(c0 + o2), get_b(c0 + o3));
        }
        var ra = at + k4 * ka;
        if ((DIRECT & 8u) != 0u) {
            ra = at + k4 / v * ka + k4 % v * 4u;
        }
        var a0: vec4<f32>; var a1: vec4<f32>; var a2: vec4<f32>; var a3: vec4<f32>;
        var a4: vec4<f32>; var a5: vec4<f32>; var a6: vec4<f32>; var a7: vec4<f32>;
        if (LANES != 0u) {
            // Lane q of 4 loads rows q and q + 4; row r comes from lane base + r % 4.
            let lo_row = a_row(ra + q * s, e);
            let hi_row = a_row(ra + (q + 4u) * s, e);
            a0 = from_lane(lo_row, base); a1 = from_lane(lo_row, base + 1u);
            a2 = from_lane(lo_row, base + 2u); a3 = from_lane(lo_row, base + 3u);
            a4 = from_lane(hi_row, base); a5 = from_lane(hi_row, base + 1u);
            a6 = from_lane(hi_row, base + 2u); a7 = from_lane(hi_row, base + 3u);
        } else {
            a0 = a_row(ra, e);
            a1 = a_row(ra + s, e);
            a2 = a_row(ra + 2u * s, e);
            a3 = a_row(ra + 3u * s, e);
            a4 = a_row(ra + 4u * s, e);
            a5 = a_row(ra + 5u * s, e);
            a6 = a_row(ra + 6u * s, e);
            a7 = a_row(ra + 7u * s, e);
        }
        if ((DIRECT & 1u) != 0u && MODE == 2u) {
            left -= 1u;
            if (left == 0u) {
                left = per_image;
                at += skip;
            }
        }
        l0 += lo * a0; h0 += hi * a0;
        l1 += lo * a1; h1 += hi * a1;
        l2 += lo * a2; h2 += hi * a2;
        l3 += lo * a3; h3 += hi * a3;
        l4 += lo * a4; h4 += hi * a4;
        l5 += lo * a5; h5 += hi * a5;
        l6 += lo * a6; h6 += hi * a6;
        l7 += lo * a7; h7 += hi * a7;
    }
    if (!live) {
        return;
    }
    if (MODE == 5u) {
        // Winograd's products (conv_winograd.wgsl), a texel for each run of 4 columns.
        put_products(phase, m0, n0, l0, h0);
        put_products(phase, m0 + 1u, n0, l1, h1);
        put_products(phase, m0 + 2u, n0, l2, h2);
        put_products(phase, m0 + 3u, n0, l3, h3);
        put_products(phase, m0 + 4u, n0, l4, h4);
        put_products(phase, m0 + 5u, n0, l5, h5);
        put_products(phase, m0 + 6u, n0, l6, h6);
        put_products(phase, m0 + 7u, n0, l7, h7);
        return;
    }
    // Each row's columns n0 .. n0 + 3 go as one run from lo, n0 + 4 .. n0 + 7 from hi (when
    // `two`): (index, step along n, step along m), see group_at.
    var lo: vec3<u32>;
    var hi: vec3<u32>;
    var two = true;
    if (RUNS != 0u) {
        // Every 4 columns lie evenly spaced (the host checked): no element-by-element path,
        // whose code alone, skipped or not, cost short-k GEMMs a tenth of their time.
        lo = group_at(g, split, m0, n0);
        hi = group_at(g, split, m0, n0 + 4u);
        two = n0 + 4u < g.n;
    } else {
        lo = run_of(g, split, m0, n0);
        if (lo.y == 0u && n0 + 8u <= g.n) {
            // Columns that wrap to another image or output row (a phase's rows of 7 always
            // do): each column's place found once for all 8 rows, where store_row divides
            // for every element. dcgan28's G convT 128→64 forward and D conv 64→128 d input,
            // all of whose blocks wrap: their GEMMs 158 → 143 ms on SwiftShader, 32 → 30.5
            // on lavapipe.
            let base = select(0u, split * p.out_len, (FLAGS & 4u) != 0u);
            let clo = vec4<u32>(out_index(g, 0u, n0), out_index(g, 0u, n0 + 1u), out_index(g, 0u, n0 + 2u), out_index(g, 0u, n0 + 3u)) + base;
            let chi = vec4<u32>(out_index(g, 0u, n0 + 4u), out_index(g, 0u, n0 + 5u), out_index(g, 0u, n0 + 6u), out_index(g, 0u, n0 + 7u)) + base;
            let rs = row_step();
            scatter_rows(m0, clo, rs, l0, l1, l2, l3, l4, l5, l6, l7);
            scatter_rows(m0, chi, rs, h0, h1, h2, h3, h4, h5, h6, h7);
            return;
        }
        if (lo.y == 0u) {
            store_row(g, split, m0, n0, l0, h0);
            store_row(g, split, m0 + 1u, n0, l1, h1);
            store_row(g, split, m0 + 2u, n0, l2, h2);
            store_row(g, split, m0 + 3u, n0, l3, h3);
            store_row(g, split, m0 + 4u, n0, l4, h4);
            store_row(g, split, m0 + 5u, n0, l5, h5);
            store_row(g, split, m0 + 6u, n0, l6, h6);
            store_row(g, split, m0 + 7u, n0, l7, h7);
            return;
        }
        hi = vec3<u32>(lo.x + 4u * lo.y, lo.y, lo.z);
    }
    store_rows(m0, lo, l0, l1, l2, l3, l4, l5, l6, l7);
    if (two) {
        store_rows(m0, hi, h0, h1, h2, h3, h4, h5, h6, h7);
    }
}

// How far apart rows m and m + 1 of the output lie, for a column in out_index.
fn row_step() -> u32 {
    switch MODE {
        case 0u: { return p.small_h * p.small_w; }
        case 1u: { return p.large_h * p.large_w; }
        default: { return p.n; }
    }
}

// Four columns of row m at `at` (row 0's places, plus m rows).
fn scatter4(m: u32, at: vec4<u32>, v: vec4<f32>) {
    if (m >= p.m) {
        return;
    }
    if ((FLAGS & 4u) != 0u) {
        partial[at.x] = v.x;
        partial[at.y] = v.y;
        partial[at.z] = v.z;
        partial[at.w] = v.w;
    } else {
        finish(m, at.x, v.x);
        finish(m, at.y, v.y);
        finish(m, at.z, v.z);
        finish(m, at.w, v.w);
    }
}

// Four columns of rows m0 .. m0 + 7, where row 0 has them at `c`, rows `rs` apart.
fn scatter_rows(m0: u32, c: vec4<u32>, rs: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>) {
    scatter4(m0, c + m0 * rs, v0);
    scatter4(m0 + 1u, c + (m0 + 1u) * rs, v1);
    scatter4(m0 + 2u, c + (m0 + 2u) * rs, v2);
    scatter4(m0 + 3u, c + (m0 + 3u) * rs, v3);
    scatter4(m0 + 4u, c + (m0 + 4u) * rs, v4);
    scatter4(m0 + 5u, c + (m0 + 5u) * rs, v5);
    scatter4(m0 + 6u, c + (m0 + 6u) * rs, v6);
    scatter4(m0 + 7u, c + (m0 + 7u) * rs, v7);
}

// Four columns of rows m0 .. m0 + 7, from `at` = (index, step along n, step along m).
fn store_rows(m0: u32, at: vec3<u32>, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>) {
    store4(m0, at.x, at.y, v0);
    store4(m0 + 1u, at.x + at.z, at.y, v1);
    store4(m0 + 2u, at.x + 2u * at.z, at.y, v2);
    store4(m0 + 3u, at.x + 3u * at.z, at.y, v3);
    store4(m0 + 4u, at.x + 4u * at.z, at.y, v4);
    store4(m0 + 5u, at.x + 5u * at.z, at.y, v5);
    store4(m0 + 6u, at.x + 6u * at.z, at.y, v6);
    store4(m0 + 7u, at.x + 7u * at.z, at.y, v7);
}

// MODE 3's second step: out[b, m, oy, ox] = sum of col over the taps that reach (oy, ox). One
// thread per run of up to 8 output pixels of a row (`runs` per row), so that its divisions are
// paid once: along the run, tx = ox + p and its quotient and remainder by the stride are
// stepped. p.m counts col's rows (m * kh * kw) and p.n its columns (the chunk's input pixels).
@compute @workgroup_size(256)
fn col2im(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    let taps = p.kernel_h * p.kernel_w;
    let channels = p.m / taps;
    let runs = (p.large_w + 7u) / 8u;
    if (i >= p.batch * channels * p.large_h * runs) {
        return;
    }
    let ox0 = i % runs * 8u;
    let row = i / runs;
    let oy = row % p.large_h;
    let m = row / p.large_h % channels;
    let b = row / (p.large_h * channels);
    let s = p.stride;
    // Taps ky ≡ oy + p (mod s) reach row iy = (oy + p − ky) / s: ky = ry + jy·s meets
    // iy = qy − jy.
    let ty = oy + p.pad_y;
    let ry = ty % s;
    let qy = ty / s;
    var rx = (ox0 + p.pad_x) % s;
    var qx = (ox0 + p.pad_x) / s;
    let col0 = b * p.small_h * p.small_w;
    let at = ((p.batch0 + b) * channels + m) * p.large_h * p.large_w + oy * p.large_w;
    for (var ox = ox0; ox < min(ox0 + 8u, p.large_w); ox++) {
        var sum = 0.0;
        for (var jy = 0u; ry + jy * s < p.kernel_h && jy <= qy; jy++) {
            let iy = qy - jy;
            if (iy >= p.small_h) {
                continue;
            }
            let tap_row = m * taps + (ry + jy * s) * p.kernel_w;
            for (var jx = 0u; rx + jx * s < p.kernel_w && jx <= qx; jx++) {
                let ix = qx - jx;
                if (ix < p.small_w) {
                    sum += partial[(tap_row + rx + jx * s) * p.n + col0 + iy * p.small_w + ix];
                }
            }
        }
        finish(m, at + ox, sum);
        rx += 1u;
        if (rx == s) {
            rx = 0u;
            qx += 1u;
        }
    }
}

// MODE 3's second step for a gather (GATHER_COLUMNS): out[b, m, oy, ox] = sum over the taps of
// col[(m, ky, kx)][b, oy*s - p + ky, ox*s - p + kx], taps outside x adding nothing. Small and
// large are swapped: x's pixels (col's columns) are p.small_*, the output's p.large_*. One
// thread per output pixel: neighbouring threads read neighbouring columns of col.
@compute @workgroup_size(256)
fn col_gather(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = pack_index(group, groups, l);
    let taps = p.kernel_h * p.kernel_w;
    let channels = p.m / taps;
    let out_hw = p.large_h * p.large_w;
    if (i >= p.batch * channels * out_hw) {
        return;
    }
    let pixel = i % out_hw;
    let m = i / out_hw % channels;
    let b = i / (out_hw * channels);
    let oy = i32(pixel / p.large_w * p.stride) - i32(p.pad_y);
    let ox = i32(pixel % p.large_w * p.stride) - i32(p.pad_x);
    let col0 = b * p.small_h * p.small_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let iy = oy + i32(ky);
        if (iy < 0 || iy >= i32(p.small_h)) {
            continue;
        }
        let row = (m * taps + ky * p.kernel_w) * p.n + col0 + u32(iy) * p.small_w;
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let ix = ox + i32(kx);
            if (ix >= 0 && ix < i32(p.small_w)) {
                sum += partial[row + kx * p.n + u32(ix)];
            }
        }
    }
    finish(m, ((p.batch0 + b) * channels + m) * out_hw + pixel, sum);
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

// MODE 2 for a few rows (m <= 4) at stride 1, kernels up to 8 wide: the weight gradient of a
// conv to a few channels (CycleGAN's last 7 x 7 layer, the PatchGAN's 1-logit layer), summed
// directly. The GEMM would pack B, x once per tap (12.8 M floats for the 7 x 7 layer at 64:
// 53 of its 62 ms on lavapipe) for 3 rows of A. Here a thread per (c, ky) and slice of output
// rows keeps a vec4 over m per kx, and walks each output row with a window of 8 of x's pixels
// that moves by one load a pixel: 62 → 15 ms. (a's values at the pixel, the same for every
// thread, are most of the rest: lavapipe loads per lane inside any loop.) Slices (group.z,
// `splits`) write partial sums for reduce_splits when there are more than one.
@compute @workgroup_size(64)
fn weight_few(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let t = group.x * 64u + l;
    if (t >= p.channels * p.kernel_h) {
        return;
    }
    let c = t / p.kernel_h;
    let ky = t % p.kernel_h;
    let rows = p.batch * p.small_h;
    let per = (rows + p.splits - 1u) / p.splits;
    let r0 = min(rows, group.z * per);
    let r1 = min(rows, r0 + per);
    let hw = p.small_h * p.small_w;
    var s0 = vec4<f32>(); var s1 = vec4<f32>(); var s2 = vec4<f32>(); var s3 = vec4<f32>();
    var s4 = vec4<f32>(); var s5 = vec4<f32>(); var s6 = vec4<f32>(); var s7 = vec4<f32>();
    for (var r = r0; r < r1; r++) {
        let b = r / p.small_h;
        let oy = r % p.small_h;
        let iy = i32(oy + ky) - i32(p.pad_y);
        if (iy < 0 || iy >= i32(p.large_h)) {
            continue;
        }
        let xrow = ((b * p.channels + c) * p.large_h + u32(iy)) * p.large_w;
        // The window: w_k = x at column ox - pad + k.
        let ix = -i32(p.pad_x);
        var w0 = x_in_row(xrow, ix); var w1 = x_in_row(xrow, ix + 1);
        var w2 = x_in_row(xrow, ix + 2); var w3 = x_in_row(xrow, ix + 3);
        var w4 = x_in_row(xrow, ix + 4); var w5 = x_in_row(xrow, ix + 5);
        var w6 = x_in_row(xrow, ix + 6); var w7 = x_in_row(xrow, ix + 7);
        let arow = (b * p.m * p.small_h + oy) * p.small_w;
        for (var ox = 0u; ox < p.small_w; ox++) {
            let i = arow + ox;
            var av = vec4<f32>(a[i], 0.0, 0.0, 0.0);
            if (p.m > 1u) {
                av.y = a[i + hw];
            }
            if (p.m > 2u) {
                av.z = a[i + 2u * hw];
            }
            if (p.m > 3u) {
                av.w = a[i + 3u * hw];
            }
            s0 += w0 * av; s1 += w1 * av; s2 += w2 * av; s3 += w3 * av;
            s4 += w4 * av; s5 += w5 * av; s6 += w6 * av; s7 += w7 * av;
            w0 = w1; w1 = w2; w2 = w3; w3 = w4; w4 = w5; w5 = w6; w6 = w7;
            w7 = x_in_row(xrow, ix + i32(ox) + 8);
        }
    }
    // out[m, c, ky, kx] is row m's column (c, ky, kx).
    let col = t * p.kernel_w;
    let z = group.z;
    few_store(z, col, 0u, s0); few_store(z, col, 1u, s1); few_store(z, col, 2u, s2);
    few_store(z, col, 3u, s3); few_store(z, col, 4u, s4); few_store(z, col, 5u, s5);
    few_store(z, col, 6u, s6); few_store(z, col, 7u, s7);
}

// x at column ix of the large image's row that starts at `row`, zero outside it.
fn x_in_row(row: u32, ix: i32) -> f32 {
    if (ix < 0 || ix >= i32(p.large_w)) {
        return 0.0;
    }
    return x[row + u32(ix)];
}

// weight_few's sums for tap kx of column `col`, one per row m: to out, or to slice z's
// partial sums.
fn few_store(z: u32, col: u32, kx: u32, v: vec4<f32>) {
    if (kx >= p.kernel_w) {
        return;
    }
    for (var m = 0u; m < p.m; m++) {
        let idx = m * p.n + col + kx;
        if ((FLAGS & 4u) != 0u) {
            partial[z * p.out_len + idx] = v[m];
        } else {
            finish(m, idx, v[m]);
        }
    }
}

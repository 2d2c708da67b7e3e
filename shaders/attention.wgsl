// SAGAN's self-attention (Zhang et al. 2019) past its 1x1 convolutions. Per image, with
// q, k [C', N] and v [C, N] over the N = H*W positions:
//
//   energy[i, j] = sum_c q[c, i] k[c, j]            matmul, A = q transposed
//   attn[i, j]   = softmax_j(energy[i, j])           softmax_forward, in place
//   o[c, i]      = sum_j v[c, j] attn[i, j]          matmul, B = attn transposed
//   y            = gamma * o + x                     residual_forward
//
// and backward, every product again one `matmul` with its own transposes:
//
//   do     = gamma * dy                              residual_backward
//   dgamma = sum dy * o                              gamma_grad (one workgroup)
//   dv     = do attn             dattn = do^T v
//   de[i, j] = attn[i, j] (dattn[i, j] - sum_l dattn[i, l] attn[i, l])   softmax_backward
//   dq     = k de^T              dk    = q de
//
// Every output element is written by the one thread that computes it (gather: WGSL has no f32
// atomics).

struct AttentionParams {
    m: u32,          // matmul: rows of out; softmax: rows; elementwise: elements
    n: u32,          // matmul: columns of out; softmax: the row's length
    k: u32,          // matmul: the reduction's length
    a_stride: u32,   // matmul: elements from one image's A to the next (0: A shared)
    b_stride: u32,
    out_stride: u32,
    scale: f32,      // matmul: out (+)= scale * A B
    unused: u32,     // keeps the struct a multiple of 16 bytes
}

// out[z] (+)= scale * op(A[z]) op(B[z]) for image z, A [m, k] as it lies, or [k, m] when A_T
// is 1; B [k, n], or [n, k] when B_T is 1.
override A_T: u32 = 0u;
override B_T: u32 = 0u;
// 1: m, n and k are multiples of 4, and `a4`, `b4` are `a`, `b` seen as vec4s: each load takes
// four neighbours at once (the fast path of SAGAN's shapes, C' = C/8 and N = H*W).
override VEC4: u32 = 0u;
// 1: add into out (backward passes and gradients that meet another one); else overwrite it.
override ACCUMULATE: u32 = 0u;

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;   // [1]
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const GROUP: u32 = 256u;

fn store(idx: u32, v: f32) {
    if (ACCUMULATE == 1u) {
        out[idx] += v;
    } else {
        out[idx] = v;
    }
}

// A(i, kk) of image z, 0 past the edges.
fn a_at(z: u32, i: u32, kk: u32) -> f32 {
    if (i >= p.m || kk >= p.k) {
        return 0.0;
    }
    let at = select(i * p.k + kk, kk * p.m + i, A_T == 1u);
    return a[z * p.a_stride + at];
}

// B(kk, j) of image z, 0 past the edges.
fn b_at(z: u32, kk: u32, j: u32) -> f32 {
    if (kk >= p.k || j >= p.n) {
        return 0.0;
    }
    let at = select(kk * p.n + j, j * p.k + kk, B_T == 1u);
    return b[z * p.b_stride + at];
}

// Rows i0 .. i0 + 3 of A over k0 .. k0 + 3, one vec4 (over k) per row.
fn a_block(z: u32, i0: u32, k0: u32) -> array<vec4<f32>, 4> {
    var r: array<vec4<f32>, 4>;
    if (VEC4 == 0u) {
        for (var i = 0u; i < 4u; i++) {
            r[i] = vec4(a_at(z, i0 + i, k0), a_at(z, i0 + i, k0 + 1u), a_at(z, i0 + i, k0 + 2u), a_at(z, i0 + i, k0 + 3u));
        }
        return r;
    }
    // Rows past m are clamped onto the last ones: their results are never stored.
    let base = z * p.a_stride;
    if (A_T == 0u) {
        for (var i = 0u; i < 4u; i++) {
            r[i] = a4[(base + min(i0 + i, p.m - 1u) * p.k + k0) / 4u];
        }
    } else {
        let first = min(i0, p.m - 4u);
        let t0 = a4[(base + k0 * p.m + first) / 4u];
        let t1 = a4[(base + (k0 + 1u) * p.m + first) / 4u];
        let t2 = a4[(base + (k0 + 2u) * p.m + first) / 4u];
        let t3 = a4[(base + (k0 + 3u) * p.m + first) / 4u];
        for (var i = 0u; i < 4u; i++) {
            r[i] = vec4(t0[i], t1[i], t2[i], t3[i]);
        }
    }
    return r;
}

// Rows k0 .. k0 + 3 of B over columns j0 .. j0 + 3, one vec4 (over the columns) per row.
fn b_block(z: u32, k0: u32, j0: u32) -> array<vec4<f32>, 4> {
    var r: array<vec4<f32>, 4>;
    if (VEC4 == 0u) {
        for (var kk = 0u; kk < 4u; kk++) {
            r[kk] = vec4(b_at(z, k0 + kk, j0), b_at(z, k0 + kk, j0 + 1u), b_at(z, k0 + kk, j0 + 2u), b_at(z, k0 + kk, j0 + 3u));
        }
        return r;
    }
    let base = z * p.b_stride;
    if (B_T == 0u) {
        let first = min(j0, p.n - 4u);
        for (var kk = 0u; kk < 4u; kk++) {
            r[kk] = b4[(base + (k0 + kk) * p.n + first) / 4u];
        }
    } else {
        let c0 = b4[(base + min(j0, p.n - 1u) * p.k + k0) / 4u];
        let c1 = b4[(base + min(j0 + 1u, p.n - 1u) * p.k + k0) / 4u];
        let c2 = b4[(base + min(j0 + 2u, p.n - 1u) * p.k + k0) / 4u];
        let c3 = b4[(base + min(j0 + 3u, p.n - 1u) * p.k + k0) / 4u];
        for (var kk = 0u; kk < 4u; kk++) {
            r[kk] = vec4(c0[kk], c1[kk], c2[kk], c3[kk]);
        }
    }
    return r;
}

// acc (+)= A's 4 rows times B's 4 columns over one step of 4 in k.
fn product(acc: vec4<f32>, a_row: vec4<f32>, bv: array<vec4<f32>, 4>) -> vec4<f32> {
    return acc + a_row.x * bv[0] + a_row.y * bv[1] + a_row.z * bv[2] + a_row.w * bv[3];
}

// One 8 x 8 block of out[z] per thread (four 4 x 4 quarters), its sums in registers: no
// workgroup memory and no barrier, which CPU adapters (lavapipe, SwiftShader) run fastest, as
// conv.wgsl's GEMM does. Each step of 4 in k loads 16 vec4s for 64 vec4 multiply-adds (a
// 4 x 4 block: 8 for 16, which ran at half the speed on lavapipe).
@compute @workgroup_size(8, 8)
fn matmul(@builtin(global_invocation_id) id: vec3<u32>) {
    let z = id.z;
    let i0 = id.y * 8u;
    let j0 = id.x * 8u;
    if (i0 >= p.m || j0 >= p.n) {
        return;
    }
    // acc[2 * r + h]: row i0 + r, columns j0 + 4h .. j0 + 4h + 3.
    var acc: array<vec4<f32>, 16>;
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let top = a_block(z, i0, k0);
        let bottom = a_block(z, i0 + 4u, k0);
        let left = b_block(z, k0, j0);
        let right = b_block(z, k0, j0 + 4u);
        for (var r = 0u; r < 4u; r++) {
            acc[2u * r] = product(acc[2u * r], top[r], left);
            acc[2u * r + 1u] = product(acc[2u * r + 1u], top[r], right);
            acc[2u * r + 8u] = product(acc[2u * r + 8u], bottom[r], left);
            acc[2u * r + 9u] = product(acc[2u * r + 9u], bottom[r], right);
        }
    }
    for (var r = 0u; r < 8u; r++) {
        for (var c = 0u; c < 8u; c++) {
            if (i0 + r < p.m && j0 + c < p.n) {
                store(z * p.out_stride + (i0 + r) * p.n + j0 + c, p.scale * acc[2u * r + c / 4u][c % 4u]);
            }
        }
    }
}

// The thread's row of a 1-D grid spread over x and y (see grid_1d in kernels/mod.rs).
fn flat(group: vec3<u32>, groups: vec3<u32>, l: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + l;
}

// out's rows of p.n, each replaced by its softmax; the max is subtracted first, so that every
// exponent is <= 0 and the sum lies in [1, n].
@compute @workgroup_size(256)
fn softmax_forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let row = flat(group, groups, l);
    if (row >= p.m) {
        return;
    }
    let base = row * p.n;
    var top = out[base];
    for (var j = 1u; j < p.n; j++) {
        top = max(top, out[base + j]);
    }
    var total = 0.0;
    for (var j = 0u; j < p.n; j++) {
        let e = exp(out[base + j] - top);
        out[base + j] = e;
        total += e;
    }
    let inv = 1.0 / total;
    for (var j = 0u; j < p.n; j++) {
        out[base + j] *= inv;
    }
}

// d softmax, in place over out = d attn: de_j = s_j (g_j - sum_l g_l s_l), with s = attn (a).
@compute @workgroup_size(256)
fn softmax_backward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let row = flat(group, groups, l);
    if (row >= p.m) {
        return;
    }
    let base = row * p.n;
    var inner = 0.0;
    for (var j = 0u; j < p.n; j++) {
        inner += out[base + j] * a[base + j];
    }
    for (var j = 0u; j < p.n; j++) {
        out[base + j] = a[base + j] * (out[base + j] - inner);
    }
}

// out = gamma * o + x, with o = a and x = b, over p.m elements.
@compute @workgroup_size(256)
fn residual_forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat(group, groups, l);
    if (i < p.m) {
        out[i] = gamma[0] * a[i] + b[i];
    }
}

// d o (+)= gamma * dy, with dy = a, over p.m elements.
@compute @workgroup_size(256)
fn residual_backward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat(group, groups, l);
    if (i < p.m) {
        store(i, gamma[0] * a[i]);
    }
}

var<workgroup> partial: array<f32, 256>;

// d gamma (+)= sum_i dy_i o_i over p.m elements (dy = a, o = b), into out[0]: one workgroup,
// each thread a strided share, then a tree sum.
@compute @workgroup_size(256)
fn gamma_grad(@builtin(local_invocation_index) l: u32) {
    var sum = 0.0;
    for (var i = l; i < p.m; i += GROUP) {
        sum += a[i] * b[i];
    }
    partial[l] = sum;
    workgroupBarrier();
    for (var half = GROUP / 2u; half > 0u; half /= 2u) {
        if (l < half) {
            partial[l] += partial[l + half];
        }
        workgroupBarrier();
    }
    if (l == 0u) {
        store(0u, partial[0]);
    }
}

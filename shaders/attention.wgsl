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
// 4 with subgroups whose lanes are the workgroup's threads in order (checked once per device
// by gpu.rs): 4 lanes side by side, one row of blocks, share the loads of A's rows (share_a,
// from attention_subgroups.wgsl; attention_no_subgroups.wgsl without the feature). On
// lavapipe conv.wgsl's 1024^3 GEMM runs at 25.8 GFLOP/s with it and 17.3 without.
override LANES: u32 = 0u;

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

// Row i of out[z] at columns j0 .. j0 + 7 (lo: j0 .. j0 + 3, hi: the next four), those past the
// edges left alone.
fn store_row(z: u32, i: u32, j0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (i >= p.m) {
        return;
    }
    let base = z * p.out_stride + i * p.n;
    for (var c = 0u; c < 4u; c++) {
        if (j0 + c < p.n) {
            store(base + j0 + c, p.scale * lo[c]);
        }
        if (j0 + 4u + c < p.n) {
            store(base + j0 + 4u + c, p.scale * hi[c]);
        }
    }
}

// What lane q of 4 side by side loads of A for the others (LANES): rows i0 + q and i0 + 4 + q
// over k0 .. k0 + 3, or, with A transposed in vec4s, A at k = k0 + q over rows i0 .. i0 + 3 and
// i0 + 4 .. i0 + 7 (the lanes then hold the block's columns and each transposes its own).
fn a_share(z: u32, i0: u32, k0: u32, q: u32) -> array<vec4<f32>, 2> {
    var r: array<vec4<f32>, 2>;
    if (VEC4 == 0u) {
        for (var h = 0u; h < 2u; h++) {
            let i = i0 + 4u * h + q;
            r[h] = vec4(a_at(z, i, k0), a_at(z, i, k0 + 1u), a_at(z, i, k0 + 2u), a_at(z, i, k0 + 3u));
        }
        return r;
    }
    let base = z * p.a_stride;
    if (A_T == 0u) {
        r[0] = a4[(base + min(i0 + q, p.m - 1u) * p.k + k0) / 4u];
        r[1] = a4[(base + min(i0 + 4u + q, p.m - 1u) * p.k + k0) / 4u];
    } else {
        r[0] = a4[(base + (k0 + q) * p.m + min(i0, p.m - 4u)) / 4u];
        r[1] = a4[(base + (k0 + q) * p.m + min(i0 + 4u, p.m - 4u)) / 4u];
    }
    return r;
}

// A's rows i0 .. i0 + 7 over k0 .. k0 + 3, as two matrices whose column r is row r (top)
// and row 4 + r (bottom).
fn a_rows(z: u32, i0: u32, k0: u32, lane: u32) -> array<mat4x4<f32>, 2> {
    if (LANES == 0u) {
        let t = a_block(z, i0, k0);
        let b = a_block(z, i0 + 4u, k0);
        return array(mat4x4<f32>(t[0], t[1], t[2], t[3]), mat4x4<f32>(b[0], b[1], b[2], b[3]));
    }
    let q = lane % 4u;
    let first = lane - q;
    let mine = a_share(z, i0, k0, q);
    let top = mat4x4<f32>(share_a(mine[0], first), share_a(mine[0], first + 1u), share_a(mine[0], first + 2u), share_a(mine[0], first + 3u));
    let bottom = mat4x4<f32>(share_a(mine[1], first), share_a(mine[1], first + 1u), share_a(mine[1], first + 2u), share_a(mine[1], first + 3u));
    if (A_T == 1u && VEC4 == 1u) {
        return array(transpose(top), transpose(bottom));
    }
    return array(top, bottom);
}

// One 8 x 8 block of out[z] per thread, its sums in registers: no workgroup memory and no
// barrier, which CPU adapters (lavapipe, SwiftShader) run fastest, as conv.wgsl's GEMM does.
// Each step of 4 in k loads 16 vec4s for 64 vec4 multiply-adds (a 4 x 4 block: 8 for 16,
// which ran at half the speed on lavapipe); with subgroups, 4 lanes share A's 8 row loads,
// as conv.wgsl's lanes do. The sums are sixteen named vec4s, not an array: an array indexed
// in a loop the compiler does not unroll (the stores') stays in memory, and every multiply-add
// then loads and stores its sum. Called by the entry point `matmul` (attention_subgroups.wgsl
// or attention_no_subgroups.wgsl) with the thread's index in its 8 x 8 workgroup (x fastest).
fn matmul_block(li: u32, group: vec3<u32>, lane: u32) {
    let z = group.z;
    let i0 = (group.y * 8u + li / 8u) * 8u;
    let j0 = (group.x * 8u + li % 8u) * 8u;
    // Rows past the end leave in whole groups of lanes (one row of blocks); columns past the
    // end stay to the end of the loop when lanes share A, reading clamped (or zero) B.
    if (i0 >= p.m || (j0 >= p.n && LANES == 0u)) {
        return;
    }
    // lr, hr: row i0 + r at columns j0 .. j0 + 3 and j0 + 4 .. j0 + 7.
    var l0 = vec4<f32>(); var h0 = vec4<f32>();
    var l1 = vec4<f32>(); var h1 = vec4<f32>();
    var l2 = vec4<f32>(); var h2 = vec4<f32>();
    var l3 = vec4<f32>(); var h3 = vec4<f32>();
    var l4 = vec4<f32>(); var h4 = vec4<f32>();
    var l5 = vec4<f32>(); var h5 = vec4<f32>();
    var l6 = vec4<f32>(); var h6 = vec4<f32>();
    var l7 = vec4<f32>(); var h7 = vec4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let bl = b_block(z, k0, j0);
        let bh = b_block(z, k0, j0 + 4u);
        // Columns: B's rows k0 .. k0 + 3, so that lo * a = sum_t a[t] * B[k0 + t][j0 .. j0 + 3].
        let lo = mat4x4<f32>(bl[0], bl[1], bl[2], bl[3]);
        let hi = mat4x4<f32>(bh[0], bh[1], bh[2], bh[3]);
        let a = a_rows(z, i0, k0, lane);
        let top = a[0];
        let bottom = a[1];
        l0 += lo * top[0]; h0 += hi * top[0];
        l1 += lo * top[1]; h1 += hi * top[1];
        l2 += lo * top[2]; h2 += hi * top[2];
        l3 += lo * top[3]; h3 += hi * top[3];
        l4 += lo * bottom[0]; h4 += hi * bottom[0];
        l5 += lo * bottom[1]; h5 += hi * bottom[1];
        l6 += lo * bottom[2]; h6 += hi * bottom[2];
        l7 += lo * bottom[3]; h7 += hi * bottom[3];
    }
    if (j0 >= p.n) {
        return;
    }
    store_row(z, i0, j0, l0, h0);
    store_row(z, i0 + 1u, j0, l1, h1);
    store_row(z, i0 + 2u, j0, l2, h2);
    store_row(z, i0 + 3u, j0, l3, h3);
    store_row(z, i0 + 4u, j0, l4, h4);
    store_row(z, i0 + 5u, j0, l5, h5);
    store_row(z, i0 + 6u, j0, l6, h6);
    store_row(z, i0 + 7u, j0, l7, h7);
}

// The thread's row of a 1-D grid spread over x and y (see grid_1d in kernels/mod.rs).
fn flat(group: vec3<u32>, groups: vec3<u32>, l: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + l;
}

// Threads of a softmax workgroup: the 64 that gpu.rs's probe found in order when subgroups
// are on (the lanes of a subgroup then take its threads' rows together, see below).
const ROW_GROUP: u32 = 64u;

// The subgroup of `size` lanes (1 without subgroups) whose lane 0 is thread l - lane takes the
// rows of its threads one at a time, each lane every size-th element: neighbouring lanes read
// neighbouring floats, where a thread per row read floats a row apart. Rows past the end
// leave the whole subgroup.
fn row_of(group: vec3<u32>, groups: vec3<u32>, l: u32, lane: u32, r: u32) -> u32 {
    return (group.y * groups.x + group.x) * ROW_GROUP + l - lane + r;
}

// out's rows of p.n, each replaced by its softmax; every exponent has the max subtracted
// (the lane's running max, then the row's), so that none is > 0 and the row's sum lies in
// [1, n].
fn softmax_forward_rows(group: vec3<u32>, groups: vec3<u32>, l: u32, lane: u32, size: u32) {
    for (var r = 0u; r < size; r++) {
        let row = row_of(group, groups, l, lane, r);
        if (row >= p.m) {
            return;
        }
        let base = row * p.n;
        // One pass finds the lane's max and its sum of exponents below the max so far,
        // rescaled whenever the max moves; a second writes the softmax: two passes over the
        // row where three (max, exponents, scale) read it three times and wrote it twice.
        // The max starts below any energy a finite map holds; a lane past a short row keeps
        // it, and the subgroup's max passes over it. (f32's exact lowest, -3.4028235e38, is a
        // literal Tint rounds out of range.)
        var top = -3.0e38;
        var total = 0.0;
        for (var j = lane; j < p.n; j += size) {
            let e = out[base + j];
            let t = max(top, e);
            total = total * exp(top - t) + exp(e - t);
            top = t;
        }
        let row_top = lanes_max(top);
        let inv = 1.0 / lanes_sum(total * exp(top - row_top));
        for (var j = lane; j < p.n; j += size) {
            out[base + j] = exp(out[base + j] - row_top) * inv;
        }
    }
}

// d softmax, in place over out = d attn: de_j = s_j (g_j - sum_l g_l s_l), with s = attn (a).
fn softmax_backward_rows(group: vec3<u32>, groups: vec3<u32>, l: u32, lane: u32, size: u32) {
    for (var r = 0u; r < size; r++) {
        let row = row_of(group, groups, l, lane, r);
        if (row >= p.m) {
            return;
        }
        let base = row * p.n;
        var inner = 0.0;
        for (var j = lane; j < p.n; j += size) {
            inner += out[base + j] * a[base + j];
        }
        inner = lanes_sum(inner);
        for (var j = lane; j < p.n; j += size) {
            out[base + j] = a[base + j] * (out[base + j] - inner);
        }
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

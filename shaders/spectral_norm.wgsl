// Spectral normalisation of a weight (torch.nn.utils.spectral_norm): W seen as a matrix
// W[rows, cols] (rows = the `dim` PyTorch normalises over: out channels), one power iteration
// per train-mode forward, W_sn = W / σ with σ = uᵀ W v.
//
// Forward (train):   t = Wᵀ u                                  power_v   (a workgroup per col)
//                    s = W t                                   power_u   (a workgroup per row)
//                    v = t / max(‖t‖, ε), Wv = s / max(‖t‖, ε)
//                    u = Wv / max(‖Wv‖, ε), σ = uᵀ Wv          normalize (one workgroup)
//                    W_sn = W / σ                              scale
// Forward (eval):    s = W v, σ = uᵀ s with the stored u, v    power_u, normalize, scale
// Backward, with u and v constants (PyTorch computes them under no_grad) and G = dL/dW_sn:
//   σ = uᵀ W v  =>  dσ/dW = u vᵀ;  W_sn = W / σ  =>
//   dL/dW = G / σ − ⟨G, W⟩ / σ² · u vᵀ = (G − ⟨G, W_sn⟩ u vᵀ) / σ
//                                       grad_dot_rows, grad_dot, grad_transform
//
// Every sum is a gather by one workgroup into workgroup memory: WGSL has no f32 atomics.
//
// Layout: element (row, col) of the matrix lies at
//   (col / inner) · rows · inner + row · inner + col % inner
// inner = cols for a conv / dense weight [out, in, k, k] (dim 0: plain row-major), inner = k·k
// for a transposed conv's [in, out, k, k] (PyTorch's dim = 1: the matrix is
// weight.permute(1, 0, 2, 3).reshape(out, in·k·k)).

struct SpectralNormParams {
    rows: u32,        // length of u: the normalised dimension
    cols: u32,        // length of v: the product of the others
    inner: u32,       // see Layout above
    len: u32,         // rows · cols
    accumulate: u32,  // grad_transform: 1 adds into dweight, 0 overwrites it
    eval: u32,        // 1: no iteration; σ from the stored u and v
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: SpectralNormParams;
@group(0) @binding(1) var<storage, read> weight: array<f32>;           // W (weight_orig)
@group(0) @binding(2) var<storage, read_write> weight_u: array<f32>;   // (rows) persisted
@group(0) @binding(3) var<storage, read_write> weight_v: array<f32>;   // (cols) persisted
// [σ, ⟨G, W_sn⟩, -, -, u (rows), v (cols), t (cols), s (rows), ⟨G, W_sn⟩ per row (rows)]:
// this pass's own u, v and σ,
// which its backward reads even if another pass iterates the persisted ones in between.
@group(0) @binding(4) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(5) var<storage, read_write> weight_sn: array<f32>;  // W / σ
@group(0) @binding(6) var<storage, read> dweight_sn: array<f32>;       // G = dL/dW_sn
@group(0) @binding(7) var<storage, read_write> dweight: array<f32>;    // dL/dW (weight_orig)

const GROUP: u32 = 256u;
const EPS: f32 = 1e-12;
const SIGMA: u32 = 0u;
const DOT: u32 = 1u;
const U: u32 = 4u;

fn v_at() -> u32 { return U + p.rows; }
fn t_at() -> u32 { return U + p.rows + p.cols; }
fn s_at() -> u32 { return U + p.rows + 2u * p.cols; }
fn rows_at() -> u32 { return U + 2u * p.rows + 2u * p.cols; }

fn at(row: u32, col: u32) -> u32 {
    return (col / p.inner) * p.rows * p.inner + row * p.inner + col % p.inner;
}

// The flat workgroup index of a grid split over y past 65,535 (kernels::grid_1d).
fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

// t[col] = Σ_row W[row, col] u[row]: a workgroup per col.
@compute @workgroup_size(256)
fn power_v(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let col = group_index(wid, nwg);
    // Uniform across the workgroup, so the barriers below are reached by all or none.
    if (col >= p.cols) {
        return;
    }
    var sum = 0.0;
    for (var row = l; row < p.rows; row += GROUP) {
        sum += weight[at(row, col)] * weight_u[row];
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        scratch[t_at() + col] = total;
    }
}

// s[row] = Σ_col W[row, col] x[col], x = t (train) or the stored v (eval): a workgroup per row.
@compute @workgroup_size(256)
fn power_u(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    var sum = 0.0;
    for (var col = l; col < p.cols; col += GROUP) {
        var x = scratch[t_at() + col];
        if (p.eval == 1u) {
            x = weight_v[col];
        }
        sum += weight[at(row, col)] * x;
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        scratch[s_at() + row] = total;
    }
}

// Train: v = t / max(‖t‖, ε), Wv = s / max(‖t‖, ε), u = Wv / max(‖Wv‖, ε), σ = uᵀ Wv; the
// persisted u and v take the new values. Eval: u, v the stored ones, σ = uᵀ s. One workgroup.
@compute @workgroup_size(256)
fn normalize(@builtin(local_invocation_index) l: u32) {
    if (p.eval == 1u) {
        var sum = 0.0;
        for (var row = l; row < p.rows; row += GROUP) {
            scratch[U + row] = weight_u[row];
            sum += weight_u[row] * scratch[s_at() + row];
        }
        for (var col = l; col < p.cols; col += GROUP) {
            scratch[v_at() + col] = weight_v[col];
        }
        let sigma = workgroup_sum(l, sum);
        if (l == 0u) {
            scratch[SIGMA] = sigma;
        }
        return;
    }
    var tt = 0.0;
    for (var col = l; col < p.cols; col += GROUP) {
        let t = scratch[t_at() + col];
        tt += t * t;
    }
    let nt = max(sqrt(workgroup_sum(l, tt)), EPS);
    var ss = 0.0;
    for (var row = l; row < p.rows; row += GROUP) {
        let wv = scratch[s_at() + row] / nt;
        ss += wv * wv;
    }
    let nu = max(sqrt(workgroup_sum(l, ss)), EPS);
    var uwv = 0.0;
    for (var row = l; row < p.rows; row += GROUP) {
        let wv = scratch[s_at() + row] / nt;
        let u = wv / nu;
        scratch[U + row] = u;
        weight_u[row] = u;
        uwv += u * wv;
    }
    for (var col = l; col < p.cols; col += GROUP) {
        let v = scratch[t_at() + col] / nt;
        scratch[v_at() + col] = v;
        weight_v[col] = v;
    }
    let sigma = workgroup_sum(l, uwv);
    if (l == 0u) {
        scratch[SIGMA] = sigma;
    }
}

// W_sn = W / σ, elementwise (the layout does not matter).
@compute @workgroup_size(256)
fn scale(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = group_index(wid, nwg) * GROUP + l;
    if (k >= p.len) {
        return;
    }
    weight_sn[k] = weight[k] / scratch[SIGMA];
}

// ⟨G, W_sn⟩ in two stages, so that a large weight is not left to one workgroup: each row's
// share (a workgroup per row), then their sum (one workgroup).
@compute @workgroup_size(256)
fn grad_dot_rows(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    var sum = 0.0;
    for (var col = l; col < p.cols; col += GROUP) {
        let k = at(row, col);
        sum += dweight_sn[k] * weight_sn[k];
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        scratch[rows_at() + row] = total;
    }
}

@compute @workgroup_size(256)
fn grad_dot(@builtin(local_invocation_index) l: u32) {
    var sum = 0.0;
    for (var row = l; row < p.rows; row += GROUP) {
        sum += scratch[rows_at() + row];
    }
    let total = workgroup_sum(l, sum);
    if (l == 0u) {
        scratch[DOT] = total;
    }
}

// dL/dW (+)= (G − ⟨G, W_sn⟩ u vᵀ) / σ, elementwise with (row, col) recovered from the layout.
@compute @workgroup_size(256)
fn grad_transform(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = group_index(wid, nwg) * GROUP + l;
    if (k >= p.len) {
        return;
    }
    let block = p.rows * p.inner;
    let rest = k % block;
    let row = rest / p.inner;
    let col = (k / block) * p.inner + rest % p.inner;
    let u = scratch[U + row];
    let v = scratch[v_at() + col];
    let d = (dweight_sn[k] - scratch[DOT] * u * v) / scratch[SIGMA];
    if (p.accumulate == 1u) {
        dweight[k] += d;
    } else {
        dweight[k] = d;
    }
}

// A gradient penalty's kernels.
//
// interpolate: WGAN-GP's x̂_b = t_b real_b + (1 - t_b) fake_b, t_b = (e_b + 1)/2 from a draw
// e_b uniform in (-1, 1), one per sample.
//
// head: from a critic's input gradient g ([batch, per_sample]), one workgroup per sample b:
//
//   n_b = |g_b|
//   kind 0  WGAN-GP  term_b = λ/batch (n_b - 1)^2      slope_b = 2 λ/batch (n_b - 1)
//   kind 1  R1       term_b = γ/2/batch n_b^2           slope_b = γ/batch n_b
//   u_b = slope_b g_b / n_b   (dP/dg_b; 0 when n_b = 0)
//
// norms[b] and terms[b] are written for the step's statistics; u goes on through the critic's
// Jacobians (the penalty's second pass). The norm's sum of squares is a strided per-thread sum,
// then a tree over the workgroup.
//
// total: stats[slot] += the sum of the terms (the penalty joins D's loss), one workgroup.

struct PenaltyParams {
    per_sample: u32,  // elements of one sample (its gradient, its image)
    batch: u32,
    kind: u32,        // 0 WGAN-GP, 1 R1
    weight: f32,      // λ or γ
    slot: u32,        // total: the stats slot the penalty is added to
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: PenaltyParams;
@group(0) @binding(1) var<storage, read> g: array<f32>;          // head: g; interpolate: real
@group(0) @binding(2) var<storage, read> fake: array<f32>;       // interpolate
@group(0) @binding(3) var<storage, read_write> u: array<f32>;    // head: u; interpolate: x̂
@group(0) @binding(4) var<storage, read_write> norms: array<f32>;  // [batch]
@group(0) @binding(5) var<storage, read_write> terms: array<f32>;  // [batch]
@group(0) @binding(6) var<storage, read> mix: array<f32>;        // interpolate: e, [batch]
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;

const GROUP: u32 = 256u;

var<workgroup> slope_over_norm: f32;

@compute @workgroup_size(256)
fn head(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = wid.x;
    let start = b * p.per_sample;
    var sum = 0.0;
    for (var i = l; i < p.per_sample; i += GROUP) {
        let v = g[start + i];
        sum += v * v;
    }
    let total_sq = workgroup_sum(l, sum);
    if (l == 0u) {
        let n = sqrt(total_sq);
        let per = p.weight / f32(p.batch);
        var term = per * (n - 1.0) * (n - 1.0);
        var slope = 2.0 * per * (n - 1.0);
        if (p.kind == 1u) {
            term = 0.5 * per * n * n;
            slope = per * n;
        }
        norms[b] = n;
        terms[b] = term;
        slope_over_norm = select(0.0, slope / n, n > 0.0);
    }
    workgroupBarrier();
    let s = slope_over_norm;
    for (var i = l; i < p.per_sample; i += GROUP) {
        u[start + i] = s * g[start + i];
    }
}

@compute @workgroup_size(256)
fn interpolate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>,
               @builtin(local_invocation_index) l: u32) {
    let i = (wg.y * n.x + wg.x) * GROUP + l;
    if (i >= p.batch * p.per_sample) {
        return;
    }
    let t = 0.5 * (mix[i / p.per_sample] + 1.0);
    u[i] = t * g[i] + (1.0 - t) * fake[i];
}

@compute @workgroup_size(256)
fn total(@builtin(local_invocation_index) l: u32) {
    var sum = 0.0;
    for (var b = l; b < p.batch; b += GROUP) {
        sum += terms[b];
    }
    let all = workgroup_sum(l, sum);
    if (l == 0u) {
        stats[p.slot] += all;
    }
}

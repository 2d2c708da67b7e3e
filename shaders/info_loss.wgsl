// InfoGAN's mutual-information term on Q's output for a batch of fakes (Chen et al. 2016, as
// openai/InfoGAN's trainer computes it): per sample, Q's output holds the categorical code's
// k logits, then the m continuous codes' means (their deviation fixed at 1). With c the codes
// G was given:
//   categorical  l_cat  = logsumexp(logits) − logits[c]          dl/dlogits = softmax − onehot(c)
//   continuous   l_cont = Σ_j ½ (c_j − μ_j)²                     dl/dμ_j    = μ_j − c_j
// The loss is weight · mean over the batch of l_cat + l_cont; dq gets its gradient. stats
// receive the unweighted means of l_cat and l_cont (the reference's cross-entropies less the
// constant ½ log 2π per continuous code). One workgroup loops over the batch.

struct InfoParams {
    n: u32,           // batch
    k: u32,           // categorical values (0: none)
    m: u32,           // continuous codes
    weight: f32,      // the reference's info_reg_coeff
    slot_cat: u32,    // stats[slot_cat] = mean l_cat
    slot_cont: u32,   // stats[slot_cont] = mean l_cont
    _pad: vec2<u32>,
}

@group(0) @binding(0) var<uniform> p: InfoParams;
@group(0) @binding(1) var<storage, read> q: array<f32>;        // [n, k + m]
@group(0) @binding(2) var<storage, read> labels: array<u32>;   // [n] (k > 0)
@group(0) @binding(3) var<storage, read> codes: array<f32>;    // [n, m] (m > 0)
@group(0) @binding(4) var<storage, read_write> dq: array<f32>; // [n, k + m]
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

const GROUP: u32 = 256u;

@compute @workgroup_size(256)
fn info_loss(@builtin(local_invocation_index) l: u32) {
    let row = p.k + p.m;
    let scale = p.weight / f32(p.n);
    var cat_sum = 0.0;
    var cont_sum = 0.0;
    for (var i = l; i < p.n; i += GROUP) {
        let base = i * row;
        if (p.k > 0u) {
            // A stable log-sum-exp: shifted by the largest logit.
            var top = q[base];
            for (var j = 1u; j < p.k; j++) {
                top = max(top, q[base + j]);
            }
            var total = 0.0;
            for (var j = 0u; j < p.k; j++) {
                total += exp(q[base + j] - top);
            }
            let c = labels[i];
            cat_sum += top + log(total) - q[base + c];
            for (var j = 0u; j < p.k; j++) {
                let onehot = select(0.0, 1.0, j == c);
                dq[base + j] = scale * (exp(q[base + j] - top) / total - onehot);
            }
        }
        for (var j = 0u; j < p.m; j++) {
            let d = q[base + p.k + j] - codes[i * p.m + j];
            cont_sum += 0.5 * d * d;
            dq[base + p.k + j] = scale * d;
        }
    }
    let cat_mean = workgroup_sum(l, cat_sum) / f32(p.n);
    let cont_mean = workgroup_sum(l, cont_sum) / f32(p.n);
    if (l == 0u) {
        stats[p.slot_cat] = cat_mean;
        stats[p.slot_cont] = cont_mean;
    }
}

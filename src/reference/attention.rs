//! SAGAN's self-attention past its 1×1 convolutions, in f64 (`Self_Attn` of the PyTorch port
//! heykeetae/Self-Attention-GAN): per image, with q, k [c', n] and v [c, n] over n = h·w
//! positions,
//!
//!   attn[i, j] = softmax_j Σ_c q[c, i] k[c, j]      (no 1/√c' scale, as in SAGAN)
//!   o[c, i]    = Σ_j v[c, j] attn[i, j]
//!   y          = γ·o + x
//!
//! Tensors are [batch, channels, n]; the map is [batch, n, n] (its rows i, its columns j).

/// attn = softmax over j of qᵀk, per image; q and k hold `qk` channels.
pub fn map_forward(q: &[f64], k: &[f64], batch: usize, qk: usize, n: usize) -> Vec<f64> {
    let mut attn = vec![0.0; batch * n * n];
    for b in 0..batch {
        let (q, k) = (&q[b * qk * n..], &k[b * qk * n..]);
        for i in 0..n {
            let row = &mut attn[(b * n + i) * n..(b * n + i + 1) * n];
            for (j, e) in row.iter_mut().enumerate() {
                *e = (0..qk).map(|c| q[c * n + i] * k[c * n + j]).sum();
            }
            let top = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = row.iter().map(|e| (e - top).exp()).sum();
            for e in row.iter_mut() {
                *e = (*e - top).exp() / total;
            }
        }
    }
    attn
}

/// (dq, dk) from d attn: d energy = attn ⊙ (d attn − Σ_j d attn ⊙ attn) row by row, then
/// dq[c, i] = Σ_j k[c, j] de[i, j] and dk[c, j] = Σ_i q[c, i] de[i, j].
pub fn map_backward(
    q: &[f64],
    k: &[f64],
    attn: &[f64],
    dattn: &[f64],
    batch: usize,
    qk: usize,
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut de = vec![0.0; batch * n * n];
    for r in 0..batch * n {
        let (s, g) = (&attn[r * n..(r + 1) * n], &dattn[r * n..(r + 1) * n]);
        let inner: f64 = s.iter().zip(g).map(|(s, g)| s * g).sum();
        for j in 0..n {
            de[r * n + j] = s[j] * (g[j] - inner);
        }
    }
    let (mut dq, mut dk) = (vec![0.0; batch * qk * n], vec![0.0; batch * qk * n]);
    for b in 0..batch {
        let base = b * qk * n;
        let de = &de[b * n * n..(b + 1) * n * n];
        for c in 0..qk {
            for i in 0..n {
                for j in 0..n {
                    dq[base + c * n + i] += k[base + c * n + j] * de[i * n + j];
                    dk[base + c * n + j] += q[base + c * n + i] * de[i * n + j];
                }
            }
        }
    }
    (dq, dk)
}

/// o[c, i] = Σ_j v[c, j] attn[i, j], per image; v holds `channels`.
pub fn apply_forward(v: &[f64], attn: &[f64], batch: usize, channels: usize, n: usize) -> Vec<f64> {
    let mut o = vec![0.0; batch * channels * n];
    for b in 0..batch {
        for c in 0..channels {
            for i in 0..n {
                o[(b * channels + c) * n + i] = (0..n)
                    .map(|j| v[(b * channels + c) * n + j] * attn[(b * n + i) * n + j])
                    .sum();
            }
        }
    }
    o
}

/// (dv, d attn): dv[c, j] = Σ_i do[c, i] attn[i, j], d attn[i, j] = Σ_c do[c, i] v[c, j].
pub fn apply_backward(
    v: &[f64],
    attn: &[f64],
    d_o: &[f64],
    batch: usize,
    channels: usize,
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut dv = vec![0.0; v.len()];
    let mut dattn = vec![0.0; attn.len()];
    for b in 0..batch {
        for c in 0..channels {
            let at = (b * channels + c) * n;
            for i in 0..n {
                for j in 0..n {
                    let a = (b * n + i) * n + j;
                    dv[at + j] += d_o[at + i] * attn[a];
                    dattn[a] += d_o[at + i] * v[at + j];
                }
            }
        }
    }
    (dv, dattn)
}

/// y = γ·o + x.
pub fn residual_forward(gamma: f64, o: &[f64], x: &[f64]) -> Vec<f64> {
    o.iter().zip(x).map(|(o, x)| gamma * o + x).collect()
}

/// (d o, d x, d γ) = (γ·dy, dy, Σ dy·o).
pub fn residual_backward(gamma: f64, o: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let d_o = dy.iter().map(|d| gamma * d).collect();
    let dgamma = dy.iter().zip(o).map(|(d, o)| d * o).sum();
    (d_o, dy.to_vec(), dgamma)
}

//! InfoGAN's mutual-information term, the specification of `info_loss.wgsl`: per sample, the
//! categorical code's cross-entropy under Q's logits and the continuous codes' ½ squared error
//! from Q's means (a Gaussian of deviation 1 less its constant), forward above backward.

use crate::kernels::info_loss::InfoShape;

/// (mean categorical cross-entropy, mean continuous ½ squared error) over the batch.
pub fn info_loss(s: &InfoShape, q: &[f64], labels: &[u32], codes: &[f64]) -> (f64, f64) {
    let (k, m, row) = (s.categorical as usize, s.continuous as usize, s.row());
    let (mut cat, mut cont) = (0.0, 0.0);
    for i in 0..s.batch as usize {
        let x = &q[i * row..(i + 1) * row];
        if k > 0 {
            let top = x[..k].iter().cloned().fold(f64::MIN, f64::max);
            let total: f64 = x[..k].iter().map(|v| (v - top).exp()).sum();
            cat += top + total.ln() - x[labels[i] as usize];
        }
        for j in 0..m {
            let d = x[k + j] - codes[i * m + j];
            cont += 0.5 * d * d;
        }
    }
    let n = s.batch as f64;
    (cat / n, cont / n)
}

/// ∂(weight · (cat + cont))/∂q of [`info_loss`]'s means.
pub fn info_loss_backward(
    s: &InfoShape,
    weight: f64,
    q: &[f64],
    labels: &[u32],
    codes: &[f64],
) -> Vec<f64> {
    let (k, m, row) = (s.categorical as usize, s.continuous as usize, s.row());
    let scale = weight / s.batch as f64;
    let mut dq = vec![0.0; q.len()];
    for i in 0..s.batch as usize {
        let x = &q[i * row..(i + 1) * row];
        let d = &mut dq[i * row..(i + 1) * row];
        if k > 0 {
            let top = x[..k].iter().cloned().fold(f64::MIN, f64::max);
            let total: f64 = x[..k].iter().map(|v| (v - top).exp()).sum();
            for j in 0..k {
                let onehot = if j == labels[i] as usize { 1.0 } else { 0.0 };
                d[j] = scale * ((x[j] - top).exp() / total - onehot);
            }
        }
        for j in 0..m {
            d[k + j] = scale * (x[k + j] - codes[i * m + j]);
        }
    }
    dq
}

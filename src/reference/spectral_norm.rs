//! Spectral normalisation in f64 (torch.nn.utils.spectral_norm): the specification
//! `shaders/spectral_norm.wgsl` is held to.

/// How a weight is seen as the matrix W[rows, cols] whose largest singular value is divided
/// out: rows is the dimension PyTorch's `dim` names, cols the product of the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpectralLayout {
    pub rows: usize,
    pub cols: usize,
    /// Elements after the `dim` axis per step of it: `cols` when dim = 0 (conv, dense), k·k for
    /// a transposed conv's [in, out, k, k] with dim = 1.
    pub inner: usize,
}

impl SpectralLayout {
    /// A conv's [out, in, k, k] or a dense [out, in]: dim 0.
    pub fn dim0(rows: usize, cols: usize) -> SpectralLayout {
        SpectralLayout {
            rows,
            cols,
            inner: cols,
        }
    }

    /// A transposed conv's [in, out, k, k] with PyTorch's dim = 1: the matrix is
    /// weight.permute(1, 0, 2, 3).reshape(out, in·k·k).
    pub fn dim1(in_channels: usize, out_channels: usize, taps: usize) -> SpectralLayout {
        SpectralLayout {
            rows: out_channels,
            cols: in_channels * taps,
            inner: taps,
        }
    }

    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where W[row, col] lies in the weight's memory.
    pub fn at(&self, row: usize, col: usize) -> usize {
        (col / self.inner) * self.rows * self.inner + row * self.inner + col % self.inner
    }
}

/// PyTorch's default ε of `F.normalize` inside spectral_norm.
pub const EPS: f64 = 1e-12;

fn normalize(x: Vec<f64>) -> Vec<f64> {
    let n = x.iter().map(|a| a * a).sum::<f64>().sqrt().max(EPS);
    x.into_iter().map(|a| a / n).collect()
}

/// W x.
fn mv(l: SpectralLayout, w: &[f64], x: &[f64]) -> Vec<f64> {
    (0..l.rows)
        .map(|r| (0..l.cols).map(|c| w[l.at(r, c)] * x[c]).sum())
        .collect()
}

/// Wᵀ y.
fn mtv(l: SpectralLayout, w: &[f64], y: &[f64]) -> Vec<f64> {
    (0..l.cols)
        .map(|c| (0..l.rows).map(|r| w[l.at(r, c)] * y[r]).sum())
        .collect()
}

/// One power iteration from u: v = normalize(Wᵀ u), u = normalize(W v). Returns (u, v).
pub fn power_iteration(l: SpectralLayout, w: &[f64], u: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let v = normalize(mtv(l, w, u));
    let u = normalize(mv(l, w, &v));
    (u, v)
}

/// σ = uᵀ W v.
pub fn sigma(l: SpectralLayout, w: &[f64], u: &[f64], v: &[f64]) -> f64 {
    mv(l, w, v).iter().zip(u).map(|(a, b)| a * b).sum()
}

/// A forward's (W_sn = W / σ, σ, u, v): train mode iterates once from the stored u (the new u
/// and v are what PyTorch stores back), eval mode uses the stored u and v as they are.
pub fn forward(
    l: SpectralLayout,
    w: &[f64],
    u: &[f64],
    v: &[f64],
    train: bool,
) -> (Vec<f64>, f64, Vec<f64>, Vec<f64>) {
    let (u, v) = if train {
        power_iteration(l, w, u)
    } else {
        (u.to_vec(), v.to_vec())
    };
    let s = sigma(l, w, &u, &v);
    let w_sn = w.iter().map(|a| a / s).collect();
    (w_sn, s, u, v)
}

/// dL/dW from G = dL/dW_sn, with u and v held constant (PyTorch computes them under no_grad):
/// dσ/dW = u vᵀ, so dL/dW = G/σ − ⟨G, W⟩/σ² u vᵀ = (G − ⟨G, W_sn⟩ u vᵀ) / σ.
pub fn backward(
    l: SpectralLayout,
    w_sn: &[f64],
    sigma: f64,
    u: &[f64],
    v: &[f64],
    dw_sn: &[f64],
) -> Vec<f64> {
    let g_dot_w: f64 = dw_sn.iter().zip(w_sn).map(|(a, b)| a * b).sum();
    let mut dw = vec![0.0; l.len()];
    for (r, &ur) in u.iter().enumerate().take(l.rows) {
        for (c, &vc) in v.iter().enumerate().take(l.cols) {
            let k = l.at(r, c);
            dw[k] = (dw_sn[k] - g_dot_w * ur * vc) / sigma;
        }
    }
    dw
}

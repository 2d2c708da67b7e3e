//! The GAN losses, per sample and as a mean over a batch, each forward directly above its
//! backward. f64, written in the same overflow-free forms as `loss.wgsl`.

use crate::kernels::loss::Loss;

/// log(1 + e^x) = max(x, 0) + log(1 + e^−|x|): no overflow for any x.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// 1 / (1 + e^−x), through e^−|x| ≤ 1 on both sides.
pub fn sigmoid(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// l(x, t) = −t log σ(x) − (1 − t) log(1 − σ(x)) = max(x, 0) − x·t + log(1 + e^−|x|)
pub fn bce(x: f64, t: f64) -> f64 {
    softplus(x) - x * t
}

/// dl/dx = σ(x) − t
pub fn bce_backward(x: f64, t: f64) -> f64 {
    sigmoid(x) - t
}

/// l(x) = log(1 − σ(x)) = −softplus(x)
pub fn minimax(x: f64) -> f64 {
    -softplus(x)
}

/// dl/dx = −σ(x)
pub fn minimax_backward(x: f64) -> f64 {
    -sigmoid(x)
}

/// l(x) = −log σ(x) = softplus(−x)
pub fn non_saturating(x: f64) -> f64 {
    softplus(-x)
}

/// dl/dx = −σ(−x) (= σ(x) − 1)
pub fn non_saturating_backward(x: f64) -> f64 {
    -sigmoid(-x)
}

/// l(x) = sign·x
pub fn linear(x: f64, sign: f64) -> f64 {
    sign * x
}

/// dl/dx = sign
pub fn linear_backward(_x: f64, sign: f64) -> f64 {
    sign
}

/// l(x) = relu(1 + sign·x)
pub fn hinge(x: f64, sign: f64) -> f64 {
    (1.0 + sign * x).max(0.0)
}

/// dl/dx = sign where 1 + sign·x > 0, else 0 (the kink takes 0, as PyTorch's relu).
pub fn hinge_backward(x: f64, sign: f64) -> f64 {
    if 1.0 + sign * x > 0.0 {
        sign
    } else {
        0.0
    }
}

/// l(x, t) = (x − t)²: least squares (LSGAN).
pub fn least_squares(x: f64, t: f64) -> f64 {
    (x - t) * (x - t)
}

/// dl/dx = 2 (x − t)
pub fn least_squares_backward(x: f64, t: f64) -> f64 {
    2.0 * (x - t)
}

/// l(x, t) of `kind`; `t` is used by the losses with targets only.
pub fn loss_forward(kind: Loss, x: f64, t: f64) -> f64 {
    match kind {
        Loss::Bce => bce(x, t),
        Loss::Minimax => minimax(x),
        Loss::NonSaturating => non_saturating(x),
        Loss::Linear { sign } => linear(x, sign as f64),
        Loss::Hinge { sign } => hinge(x, sign as f64),
        Loss::LeastSquares => least_squares(x, t),
    }
}

/// dl/dx at (x, t) of `kind`.
pub fn loss_backward(kind: Loss, x: f64, t: f64) -> f64 {
    match kind {
        Loss::Bce => bce_backward(x, t),
        Loss::Minimax => minimax_backward(x),
        Loss::NonSaturating => non_saturating_backward(x),
        Loss::Linear { sign } => linear_backward(x, sign as f64),
        Loss::Hinge { sign } => hinge_backward(x, sign as f64),
        Loss::LeastSquares => least_squares_backward(x, t),
    }
}

/// The target of sample i: `targets[i]` for the losses with targets, unused (0) otherwise.
///
/// # Panics
/// If `kind` takes targets and `targets` is shorter than the batch.
fn target(kind: Loss, targets: &[f64], i: usize) -> f64 {
    if kind.takes_targets() {
        targets[i]
    } else {
        0.0
    }
}

/// (1/n) Σ_i l(x_i, t_i) over the batch `logits`. `targets` may be empty unless `kind` takes targets.
pub fn mean_loss(kind: Loss, logits: &[f64], targets: &[f64]) -> f64 {
    let sum: f64 = logits
        .iter()
        .enumerate()
        .map(|(i, &x)| loss_forward(kind, x, target(kind, targets, i)))
        .sum();
    sum / logits.len() as f64
}

/// dlogits[i] = d(mean loss)/dx_i = (1/n) dl/dx(x_i, t_i).
pub fn mean_loss_backward(kind: Loss, logits: &[f64], targets: &[f64]) -> Vec<f64> {
    let n = logits.len() as f64;
    logits
        .iter()
        .enumerate()
        .map(|(i, &x)| loss_backward(kind, x, target(kind, targets, i)) / n)
        .collect()
}

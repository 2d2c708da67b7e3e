//! λ times PyTorch's `nn.L1Loss()` and `nn.MSELoss()` (the mean over every element), forward
//! directly above backward, in f64.

use crate::kernels::pixel_loss::PixelLoss;

/// l(d) of one element's difference d = x − t: |d| or d².
pub fn distance(kind: PixelLoss, d: f64) -> f64 {
    match kind {
        PixelLoss::L1 => d.abs(),
        PixelLoss::Mse => d * d,
    }
}

/// dl/dd: sign(d) with sign(0) = 0 (PyTorch's, not Rust's signum, which gives ±1 at ±0), or 2d.
pub fn distance_backward(kind: PixelLoss, d: f64) -> f64 {
    match kind {
        PixelLoss::L1 if d == 0.0 => 0.0,
        PixelLoss::L1 => d.signum(),
        PixelLoss::Mse => 2.0 * d,
    }
}

/// λ/len Σ_i l(x_i − t_i) over input x and target t of one length.
///
/// # Panics
/// If the lengths differ.
pub fn pixel_loss(kind: PixelLoss, input: &[f64], targets: &[f64], weight: f64) -> f64 {
    assert_eq!(input.len(), targets.len(), "input and targets lengths");
    let sum: f64 = input
        .iter()
        .zip(targets)
        .map(|(x, t)| distance(kind, x - t))
        .sum();
    weight * sum / input.len() as f64
}

/// d(λ·loss)/dx_i = λ/len l'(x_i − t_i). The gradient with respect to the targets is its
/// negation: d/dt_i = −d/dx_i.
///
/// # Panics
/// If the lengths differ.
pub fn pixel_loss_backward(
    kind: PixelLoss,
    input: &[f64],
    targets: &[f64],
    weight: f64,
) -> Vec<f64> {
    assert_eq!(input.len(), targets.len(), "input and targets lengths");
    let scale = weight / input.len() as f64;
    input
        .iter()
        .zip(targets)
        .map(|(x, t)| scale * distance_backward(kind, x - t))
        .collect()
}

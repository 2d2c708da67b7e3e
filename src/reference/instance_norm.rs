//! Instance normalisation of x [batch, channels, pixels], PyTorch's `InstanceNorm2d` with
//! track_running_stats=False: each plane (n, c) of M = pixels values becomes
//! y = γ_c (x − mean) / √(var + eps) + β_c with the plane's mean and biased variance.
//! A layer without affine parameters is γ = 1, β = 0 (and ignores dγ, dβ).

use crate::kernels::instance_norm::InstanceNormShape;

/// The indices in x of plane `plane` (= n·channels + c).
fn plane(s: &InstanceNormShape, plane: usize) -> std::ops::Range<usize> {
    let m = s.pixels as usize;
    plane * m..(plane + 1) * m
}

/// (mean, biased variance) of every plane, in plane order (n·channels + c).
pub fn statistics(s: &InstanceNormShape, input: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = s.pixels as f64;
    (0..s.planes())
        .map(|k| {
            let x = &input[plane(s, k)];
            let mean = x.iter().sum::<f64>() / m;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
            (mean, var)
        })
        .unzip()
}

/// y = γ_c (x − mean) / √(var + eps) + β_c.
pub fn forward(
    s: &InstanceNormShape,
    input: &[f64],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    let (mean, var) = statistics(s, input);
    let mut output = vec![0.0; input.len()];
    for k in 0..s.planes() {
        let c = k % s.channels as usize;
        let invstd = 1.0 / (var[k] + eps).sqrt();
        for i in plane(s, k) {
            output[i] = gamma[c] * (input[i] - mean[k]) * invstd + beta[c];
        }
    }
    output
}

/// (dinput, dgamma, dbeta), where each plane's mean and var depend on its x too:
/// dx = γ_c / (M √(var + eps)) · (M dy − Σdy − x̂ Σdy·x̂) with sums over the plane;
/// dβ_c = Σ_n Σdy, dγ_c = Σ_n Σdy·x̂.
pub fn backward(
    s: &InstanceNormShape,
    input: &[f64],
    gamma: &[f64],
    doutput: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = s.pixels as f64;
    let (mean, var) = statistics(s, input);
    let mut dinput = vec![0.0; input.len()];
    let mut dgamma = vec![0.0; s.channels as usize];
    let mut dbeta = vec![0.0; s.channels as usize];
    for k in 0..s.planes() {
        let c = k % s.channels as usize;
        let invstd = 1.0 / (var[k] + eps).sqrt();
        let xhat = |i: usize| (input[i] - mean[k]) * invstd;
        let (mut sum_dy, mut sum_dy_xhat) = (0.0, 0.0);
        for i in plane(s, k) {
            sum_dy += doutput[i];
            sum_dy_xhat += doutput[i] * xhat(i);
        }
        for i in plane(s, k) {
            dinput[i] = gamma[c] * invstd / m * (m * doutput[i] - sum_dy - xhat(i) * sum_dy_xhat);
        }
        dbeta[c] += sum_dy;
        dgamma[c] += sum_dy_xhat;
    }
    (dinput, dgamma, dbeta)
}

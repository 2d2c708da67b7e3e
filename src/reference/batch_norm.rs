//! Batch normalisation over channels of x [batch, channels, pixels], PyTorch's semantics.
//! For channel c over its M = batch·pixels values:
//! train: y = γ (x − mean) / √(var + eps) + β with the batch mean and biased variance;
//! eval: the same with the running statistics.

use crate::kernels::batch_norm::BatchNormShape;

/// Indices in x of the M values of channel `c`.
fn channel(s: &BatchNormShape, c: usize) -> impl Iterator<Item = usize> {
    let (channels, pixels) = (s.channels as usize, s.pixels as usize);
    (0..s.batch as usize)
        .flat_map(move |b| (0..pixels).map(move |i| (b * channels + c) * pixels + i))
}

/// (mean, biased variance) of every channel.
pub fn statistics(s: &BatchNormShape, input: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = s.per_channel() as f64;
    let mut mean = vec![0.0; s.channels as usize];
    let mut var = vec![0.0; s.channels as usize];
    for c in 0..s.channels as usize {
        mean[c] = channel(s, c).map(|k| input[k]).sum::<f64>() / m;
        var[c] = channel(s, c)
            .map(|k| (input[k] - mean[c]).powi(2))
            .sum::<f64>()
            / m;
    }
    (mean, var)
}

/// running ← (1 − w)·running + w·batch over `running` = [mean; var; n], with the unbiased
/// variance var·M/(M − 1) for the running variance as PyTorch, and w = max(momentum,
/// 1/(n + 1)): the plain average of the first batches until it is the exponential one (PyTorch
/// keeps w = momentum, so its running variance takes ~20 updates to come down from 1).
pub fn update_running(
    s: &BatchNormShape,
    mean: &[f64],
    var: &[f64],
    momentum: f64,
    running: &mut [f64],
) {
    let (m, c) = (s.per_channel() as f64, s.channels as usize);
    // The GPU computes w in f32.
    let w = f64::from(momentum.max(1.0 / (running[2 * c] + 1.0)) as f32);
    let (running_mean, rest) = running.split_at_mut(c);
    let (running_var, updates) = rest.split_at_mut(c);
    for c in 0..c {
        running_mean[c] = (1.0 - w) * running_mean[c] + w * mean[c];
        running_var[c] = (1.0 - w) * running_var[c] + w * var[c] * m / (m - 1.0);
    }
    updates[0] += 1.0;
}

/// y = γ (x − mean) / √(var + eps) + β with given per-channel mean and variance.
fn normalize(
    s: &BatchNormShape,
    input: &[f64],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
) -> Vec<f64> {
    let mut output = vec![0.0; input.len()];
    for c in 0..s.channels as usize {
        for k in channel(s, c) {
            output[k] = gamma[c] * (input[k] - mean[c]) / (var[c] + eps).sqrt() + beta[c];
        }
    }
    output
}

/// Eval mode: the running statistics in place of the batch ones.
pub fn forward_eval(
    s: &BatchNormShape,
    input: &[f64],
    gamma: &[f64],
    beta: &[f64],
    running_mean: &[f64],
    running_var: &[f64],
    eps: f64,
) -> Vec<f64> {
    normalize(s, input, gamma, beta, running_mean, running_var, eps)
}

/// Train mode: output from the batch statistics (running statistics are [`update_running`]'s).
pub fn forward_train(
    s: &BatchNormShape,
    input: &[f64],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    let (mean, var) = statistics(s, input);
    normalize(s, input, gamma, beta, &mean, &var, eps)
}

/// (dinput, dgamma, dbeta) of train mode, where mean and var depend on x too:
/// dβ = Σdy, dγ = Σdy·x̂, dx = γ / (M √(var + eps)) · (M dy − Σdy − x̂ Σdy·x̂).
pub fn backward(
    s: &BatchNormShape,
    input: &[f64],
    gamma: &[f64],
    doutput: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = s.per_channel() as f64;
    let (mean, var) = statistics(s, input);
    let mut dinput = vec![0.0; input.len()];
    let mut dgamma = vec![0.0; s.channels as usize];
    let mut dbeta = vec![0.0; s.channels as usize];
    for c in 0..s.channels as usize {
        let invstd = 1.0 / (var[c] + eps).sqrt();
        let xhat = |k: usize| (input[k] - mean[c]) * invstd;
        for k in channel(s, c) {
            dbeta[c] += doutput[k];
            dgamma[c] += doutput[k] * xhat(k);
        }
        for k in channel(s, c) {
            dinput[k] = gamma[c] * invstd / m * (m * doutput[k] - dbeta[c] - xhat(k) * dgamma[c]);
        }
    }
    (dinput, dgamma, dbeta)
}

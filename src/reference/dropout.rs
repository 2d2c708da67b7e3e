//! Dropout in train mode, PyTorch's `Dropout(p)`: y = x · mask / (1 − p), the mask drawn from
//! Philox words u (`reference::random::bits`, as the GPU's fill) as u ≥ floor(p · 2³²).

use crate::reference::random;

/// Each element's mask, 0 or 1, for the words of (seed, stream, step).
pub fn mask(seed: u64, stream: u32, step: u32, len: usize, p: f64) -> Vec<f64> {
    let threshold = (p * 4_294_967_296.0).floor();
    random::bits(seed, stream, step, len)
        .into_iter()
        .map(|u| if u as f64 >= threshold { 1.0 } else { 0.0 })
        .collect()
}

/// x · mask / (1 − p).
pub fn forward(input: &[f64], mask: &[f64], p: f64) -> Vec<f64> {
    input
        .iter()
        .zip(mask)
        .map(|(x, m)| x * m / (1.0 - p))
        .collect()
}

/// dinput = doutput · mask / (1 − p): the same mask as the forward.
pub fn backward(doutput: &[f64], mask: &[f64], p: f64) -> Vec<f64> {
    forward(doutput, mask, p)
}

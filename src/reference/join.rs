//! The joins of `kernels::join` in f64: channel concatenation of [batch, channels, pixels]
//! tensors and the elementwise sum, with their backward passes.

/// cat(parts, dim = 1); each part is (values, channels).
pub fn concat(parts: &[(&[f64], usize)], batch: usize, pixels: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for n in 0..batch {
        for (x, c) in parts {
            out.extend_from_slice(&x[n * c * pixels..(n + 1) * c * pixels]);
        }
    }
    out
}

/// The gradient of each part: its channels of `doutput`.
pub fn concat_backward(
    doutput: &[f64],
    channels: &[usize],
    batch: usize,
    pixels: usize,
) -> Vec<Vec<f64>> {
    let total: usize = channels.iter().sum();
    let mut offset = 0;
    channels
        .iter()
        .map(|&c| {
            let part = (0..batch)
                .flat_map(|n| {
                    let start = (n * total + offset) * pixels;
                    doutput[start..start + c * pixels].iter().copied()
                })
                .collect();
            offset += c;
            part
        })
        .collect()
}

/// a + b
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// d(a + b)/da = d(a + b)/db = 1: both gradients are `doutput`.
pub fn add_backward(doutput: &[f64]) -> [Vec<f64>; 2] {
    [doutput.to_vec(), doutput.to_vec()]
}

/// x.narrow(1, start, channels) of a [batch, total, pixels] tensor.
pub fn narrow(
    x: &[f64],
    total: usize,
    start: usize,
    channels: usize,
    batch: usize,
    pixels: usize,
) -> Vec<f64> {
    (0..batch)
        .flat_map(|n| {
            x[(n * total + start) * pixels..][..channels * pixels]
                .iter()
                .copied()
        })
        .collect()
}

/// The gradient of x: `doutput` in the narrowed channels, zero in the others.
pub fn narrow_backward(
    doutput: &[f64],
    total: usize,
    start: usize,
    channels: usize,
    batch: usize,
    pixels: usize,
) -> Vec<f64> {
    let mut dx = vec![0.0; batch * total * pixels];
    for n in 0..batch {
        dx[(n * total + start) * pixels..][..channels * pixels]
            .copy_from_slice(&doutput[n * channels * pixels..][..channels * pixels]);
    }
    dx
}

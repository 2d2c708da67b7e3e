//! The glue kernels: gathers, per-channel sums and reductions.

/// out[c] = Σ_{b, i} x[b, c, i] for x [batch, channels, pixels].
pub fn channel_sum(x: &[f64], batch: usize, channels: usize, pixels: usize) -> Vec<f64> {
    let mut out = vec![0.0; channels];
    for b in 0..batch {
        for (c, o) in out.iter_mut().enumerate() {
            *o += x[(b * channels + c) * pixels..][..pixels]
                .iter()
                .sum::<f64>();
        }
    }
    out
}

/// A batch of u8 images, picked by index and scaled to [−1, 1]: v / 127.5 − 1.
pub fn gather_u8(data: &[u8], row_len: usize, index: &[u32]) -> Vec<f64> {
    let rows = data.len() / row_len;
    index
        .iter()
        .flat_map(|&i| {
            let r = (i as usize).min(rows - 1);
            data[r * row_len..][..row_len]
                .iter()
                .map(|&v| v as f64 / 127.5 - 1.0)
        })
        .collect()
}

/// Rows of `data` picked by index.
pub fn gather_f64(data: &[f64], row_len: usize, index: &[u32]) -> Vec<f64> {
    let rows = data.len() / row_len;
    index
        .iter()
        .flat_map(|&i| {
            data[(i as usize).min(rows - 1) * row_len..][..row_len]
                .iter()
                .copied()
        })
        .collect()
}

pub fn sum(x: &[f64]) -> f64 {
    x.iter().sum()
}

pub fn mean(x: &[f64]) -> f64 {
    sum(x) / x.len().max(1) as f64
}

/// How many logits a discriminator calls real.
pub fn count_positive(x: &[f64]) -> f64 {
    x.iter().filter(|&&v| v > 0.0).count() as f64
}

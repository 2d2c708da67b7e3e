//! Class conditioning on the CPU.

use crate::kernels::condition::ConditionShape;

/// [x, one_hot(labels)] along the channels of [batch, channels, pixels].
pub fn append_onehot(s: &ConditionShape, x: &[f64], labels: &[u32]) -> Vec<f64> {
    let (c, k, p) = (s.channels as usize, s.classes as usize, s.pixels as usize);
    let mut out = Vec::with_capacity(s.conditioned_len());
    for (b, &label) in labels.iter().enumerate().take(s.batch as usize) {
        out.extend_from_slice(&x[b * c * p..(b + 1) * c * p]);
        for class in 0..k {
            out.extend(std::iter::repeat_n(
                if class == label as usize { 1.0 } else { 0.0 },
                p,
            ));
        }
    }
    out
}

/// G's input: `z` ([batch, nz]) with the one-hot `labels` appended when the model has
/// `classes`; `z` as it is for an unconditional one.
pub fn latent(z: &[f64], nz: u32, classes: u32, labels: &[u32]) -> Vec<f64> {
    if classes == 0 {
        return z.to_vec();
    }
    let s = ConditionShape {
        batch: labels.len() as u32,
        channels: nz,
        pixels: 1,
        classes,
    };
    append_onehot(&s, z, labels)
}

/// The first `channels` channels of each sample of a conditioned tensor.
pub fn take_channels(s: &ConditionShape, x: &[f64]) -> Vec<f64> {
    let (c, k, p) = (s.channels as usize, s.classes as usize, s.pixels as usize);
    (0..s.batch as usize)
        .flat_map(|b| x[b * (c + k) * p..][..c * p].iter().copied())
        .collect()
}

//! DiffAugment in f64, as the authors' DiffAugment_pytorch.py writes each augmentation: the
//! three color steps one after the other, translation as a gather from the image padded by one
//! zero with its indices clamped into the padding, cutout as a mask zeroed at clamped indices.
//! The parameters come from the same Philox words as the GPU's (`reference::random::bits`),
//! bit for bit. Backward passes scatter each output's gradient to what it read, the plain way;
//! the GPU gathers.

use crate::kernels::augment::{AugmentShape, Kind, SampleParams};
use crate::reference::random;

const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
const TWO_POW_M23: f32 = 1.0 / 8_388_608.0;

/// torch.rand's [0, 1) from the top 24 bits k: k / 2²⁴, exact in f32.
fn unit(u: u32) -> f32 {
    (u >> 8) as f32 * TWO_POW_M24
}

/// Every sample's parameters for (seed, stream, step): its 8 words of the fill (`random::bits`)
/// turned as augment.wgsl's `draw` turns them. torch.rand gives b = u − ½, S = 2u and
/// K = u + ½ (23 bits of u, so that the sum is exact in f32); torch.randint(−s, s + 1) the
/// shifts and torch.randint(0, size + 1 − side % 2) the cutout offsets.
pub fn draw(s: &AugmentShape, seed: u64, stream: u32, step: u32) -> Vec<SampleParams> {
    let [sh, sw] = s.translation_limit();
    let [ch, cw] = s.cutout_size();
    let words = random::bits(seed, stream, step, s.params_len());
    words
        .chunks_exact(SampleParams::WORDS)
        .map(|w| SampleParams {
            brightness: unit(w[0]) - 0.5,
            saturation: 2.0 * unit(w[1]),
            contrast: 0.5 + (w[2] >> 9) as f32 * TWO_POW_M23,
            shift: [
                random::index(w[3], 2 * sh + 1) as i32 - sh as i32,
                random::index(w[4], 2 * sw + 1) as i32 - sw as i32,
            ],
            cutout: [
                random::index(w[5], s.height + 1 - ch % 2),
                random::index(w[6], s.width + 1 - cw % 2),
            ],
        })
        .collect()
}

/// The sizes as usize: (channels, height, width).
fn dims(s: &AugmentShape) -> (usize, usize, usize) {
    (s.channels as usize, s.height as usize, s.width as usize)
}

/// `f(sample, x of the sample, y of the sample)` for each sample; y starts as zeros.
fn per_sample(
    s: &AugmentShape,
    x: &[f64],
    mut f: impl FnMut(usize, &[f64], &mut [f64]),
) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    let n = s.sample_len();
    for (k, (xs, ys)) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)).enumerate() {
        f(k, xs, ys);
    }
    y
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Each pixel's mean over the channels of one sample [channels, pixels].
fn channel_means(x: &[f64], channels: usize) -> Vec<f64> {
    let pixels = x.len() / channels;
    (0..pixels)
        .map(|q| (0..channels).map(|c| x[c * pixels + q]).sum::<f64>() / channels as f64)
        .collect()
}

/// x + b.
pub fn brightness(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, x, |k, x, y| {
        let b = params[k].brightness as f64;
        y.iter_mut().zip(x).for_each(|(y, x)| *y = x + b);
    })
}

/// (x − mean_c x) S + mean_c x, mean_c over the channels of each pixel.
pub fn saturation(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    let (channels, ..) = dims(s);
    per_sample(s, x, |k, x, y| {
        let factor = params[k].saturation as f64;
        let m = channel_means(x, channels);
        for (i, y) in y.iter_mut().enumerate() {
            let mean = m[i % m.len()];
            *y = (x[i] - mean) * factor + mean;
        }
    })
}

/// dx = S dy + (1 − S) mean_c dy: each output reads its own input and, through the mean, every
/// channel of its pixel.
pub fn saturation_backward(s: &AugmentShape, dy: &[f64], params: &[SampleParams]) -> Vec<f64> {
    let (channels, ..) = dims(s);
    per_sample(s, dy, |k, dy, dx| {
        let factor = params[k].saturation as f64;
        let pixels = dy.len() / channels;
        for (i, &g) in dy.iter().enumerate() {
            dx[i] += g * factor;
            for c in 0..channels {
                dx[c * pixels + i % pixels] += g * (1.0 - factor) / channels as f64;
            }
        }
    })
}

/// (x − mean x) K + mean x, the mean over the sample's C·H·W values.
pub fn contrast(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, x, |k, x, y| {
        let factor = params[k].contrast as f64;
        let m = mean(x);
        y.iter_mut()
            .zip(x)
            .for_each(|(y, x)| *y = (x - m) * factor + m);
    })
}

/// dx = K dy + (1 − K) mean dy.
pub fn contrast_backward(s: &AugmentShape, dy: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, dy, |k, dy, dx| {
        let factor = params[k].contrast as f64;
        let m = mean(dy);
        dx.iter_mut()
            .zip(dy)
            .for_each(|(dx, g)| *dx = g * factor + (1.0 - factor) * m);
    })
}

/// The reference's `color`: brightness, saturation, contrast.
pub fn color(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    let x = brightness(s, x, params);
    let x = saturation(s, &x, params);
    contrast(s, &x, params)
}

/// Contrast's backward, then saturation's; brightness passes the gradient as it is.
pub fn color_backward(s: &AugmentShape, dy: &[f64], params: &[SampleParams]) -> Vec<f64> {
    let d = contrast_backward(s, dy, params);
    saturation_backward(s, &d, params)
}

/// For each output (plane, row, column) of a sample, the input element it reads: the reference
/// pads the image by one zero all round and gathers at clamp(i + th + 1, 0, H + 1) (columns
/// alike); None where that lands in the padding.
fn translation_source(s: &AugmentShape, t: &SampleParams, i: usize) -> Option<usize> {
    let (_, h, w) = dims(s);
    let (plane, row, col) = (i / (h * w), (i / w) % h, i % w);
    let padded = |at: usize, shift: i32, size: usize| {
        (at as i64 + shift as i64 + 1).clamp(0, size as i64 + 1)
    };
    let r = padded(row, t.shift[0], h);
    let k = padded(col, t.shift[1], w);
    let inside = (1..=h as i64).contains(&r) && (1..=w as i64).contains(&k);
    inside.then(|| (plane * h + r as usize - 1) * w + k as usize - 1)
}

pub fn translation(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, x, |k, x, y| {
        for (i, y) in y.iter_mut().enumerate() {
            *y = translation_source(s, &params[k], i).map_or(0.0, |j| x[j]);
        }
    })
}

/// Each output's gradient to the input element it read, if any.
pub fn translation_backward(s: &AugmentShape, dy: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, dy, |k, dy, dx| {
        for (i, g) in dy.iter().enumerate() {
            if let Some(j) = translation_source(s, &params[k], i) {
                dx[j] += g;
            }
        }
    })
}

/// [height, width] of one sample: 0 where the reference's grid of ch × cw indices
/// clamp(k + oh − ch/2, 0, H − 1), clamp(l + ow − cw/2, 0, W − 1) lands, 1 elsewhere.
pub fn cutout_mask(s: &AugmentShape, t: &SampleParams) -> Vec<f64> {
    let (_, h, w) = dims(s);
    let [ch, cw] = s.cutout_size().map(|v| v as i64);
    let mut mask = vec![1.0; h * w];
    let at = |k: i64, offset: u32, side: i64, size: usize| {
        (k + offset as i64 - side / 2).clamp(0, size as i64 - 1) as usize
    };
    for k in 0..ch {
        for l in 0..cw {
            mask[at(k, t.cutout[0], ch, h) * w + at(l, t.cutout[1], cw, w)] = 0.0;
        }
    }
    mask
}

/// x · mask, the mask shared by the channels.
pub fn cutout(s: &AugmentShape, x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    per_sample(s, x, |k, x, y| {
        let mask = cutout_mask(s, &params[k]);
        for (i, y) in y.iter_mut().enumerate() {
            *y = x[i] * mask[i % mask.len()];
        }
    })
}

/// dx = dy · mask.
pub fn cutout_backward(s: &AugmentShape, dy: &[f64], params: &[SampleParams]) -> Vec<f64> {
    cutout(s, dy, params)
}

/// The policy's augmentations in order, as the reference's `DiffAugment(x, policy)`.
pub fn forward(s: &AugmentShape, policy: &[Kind], x: &[f64], params: &[SampleParams]) -> Vec<f64> {
    policy.iter().fold(x.to_vec(), |x, kind| match kind {
        Kind::Color => color(s, &x, params),
        Kind::Translation => translation(s, &x, params),
        Kind::Cutout => cutout(s, &x, params),
    })
}

/// The gradient through the policy: each augmentation's backward, last first.
pub fn backward(
    s: &AugmentShape,
    policy: &[Kind],
    dy: &[f64],
    params: &[SampleParams],
) -> Vec<f64> {
    policy.iter().rev().fold(dy.to_vec(), |d, kind| match kind {
        Kind::Color => color_backward(s, &d, params),
        Kind::Translation => translation_backward(s, &d, params),
        Kind::Cutout => cutout_backward(s, &d, params),
    })
}

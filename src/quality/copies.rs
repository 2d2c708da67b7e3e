//! Does the generator copy its training images, and has it collapsed? Both are read from the
//! quality measure's feature space, on the CPU in f64 (the features are computed on the GPU;
//! what is left is nearest-neighbour search over at most a few thousand 64-wide vectors).
//!
//! - The **copy rate** is the fraction of samples that lie nearer to some training image than a
//!   held-out real image typically lies to its nearest training image. Every dataset image is
//!   held out in turn (leave-one-out), so a five-image zip has a yardstick too; "typically" is
//!   the median. A generator drawing new images from the data's own distribution scores about
//!   one half; one that replays its training set scores near 1.
//! - The **diversity ratio** is the mean pairwise distance of the samples' features over that of
//!   real images: about 1 when the samples vary as much as the data, falling towards 0 as the
//!   generator collapses onto a few outputs.

use crate::{Error, Result};

/// A copy rate above this says "it may be replaying its training images": the rate a new
/// image from the data's distribution would give is one half, and a memorising generator's
/// rate is near 1.
pub const COPYING_ABOVE: f64 = 0.8;
/// A diversity ratio below this says "it may have collapsed": half the data's spread.
pub const COLLAPSED_BELOW: f64 = 0.5;
/// Pairs shown: samples beside their nearest training images.
pub const SHOWN: usize = 16;

/// What the copy check found.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyReport {
    /// Fraction of samples nearer to a training image than `typical`.
    pub copy_rate: f64,
    /// Median distance of a held-out real image to its nearest (other) training image.
    pub typical: f64,
    /// Mean pairwise distance of samples over that of real images.
    pub diversity: f64,
    /// For the first samples (up to [`SHOWN`]): the index of their nearest training image and
    /// the distance to it.
    pub nearest: Vec<(usize, f64)>,
    pub samples: usize,
    pub training: usize,
}

impl CopyReport {
    /// One sentence for the user when the figures are worrying, with what to do about it;
    /// `augment` names the way to turn augmentation on (a flag, or the page's control).
    pub fn warning(&self, augment: &str) -> Option<String> {
        // A collapsed generator's few outputs often lie near the data's centre, which is
        // nearer to every training image than they are to each other: its copy rate is high
        // without its replaying anything. So collapse is named first, and copying only
        // when the samples vary.
        if self.diversity < COLLAPSED_BELOW {
            Some(format!(
                "The samples vary {:.0}% as much as the data: the generator may have collapsed onto a few outputs (its copy rate says little then); train longer, or try augmentation ({augment}), a larger dataset or another loss.",
                100.0 * self.diversity
            ))
        } else if self.copy_rate > COPYING_ABOVE {
            Some(format!(
                "{:.0}% of the samples are nearer to a training image than real images are to each other: the generator may be replaying its training images; try augmentation ({augment}) or a larger dataset.",
                100.0 * self.copy_rate
            ))
        } else {
            None
        }
    }
}

fn rows(features: &[f32], width: usize) -> Result<usize> {
    if width == 0 || !features.len().is_multiple_of(width) {
        return Err(Error::Invalid(format!(
            "{} feature values are not whole rows of {width}",
            features.len()
        )));
    }
    Ok(features.len() / width)
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// For each row of `queries`, the nearest row of `references` and the distance to it. With
/// `leave_one_out`, `queries` are the first rows of `references` themselves and each skips its
/// own row.
pub fn nearest(
    queries: &[f32],
    references: &[f32],
    width: usize,
    leave_one_out: bool,
) -> Result<Vec<(usize, f64)>> {
    let (nq, nr) = (rows(queries, width)?, rows(references, width)?);
    if nr < 1 + leave_one_out as usize {
        return Err(Error::Invalid(format!(
            "nearest neighbours need at least {} reference images, not {nr}",
            1 + leave_one_out as usize
        )));
    }
    Ok(queries
        .chunks(width)
        .enumerate()
        .map(|(i, q)| {
            references
                .chunks(width)
                .enumerate()
                .filter(|&(j, _)| !(leave_one_out && i == j))
                .map(|(j, r)| (j, distance(q, r)))
                .fold((usize::MAX, f64::INFINITY), |best, c| {
                    if c.1 < best.1 {
                        c
                    } else {
                        best
                    }
                })
        })
        .take(nq)
        .collect())
}

/// The mean distance over all pairs of rows.
pub fn mean_pairwise(features: &[f32], width: usize) -> Result<f64> {
    let n = rows(features, width)?;
    if n < 2 {
        return Err(Error::Invalid(format!(
            "a spread needs at least 2 images, not {n}"
        )));
    }
    let mut sum = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            sum += distance(
                &features[i * width..(i + 1) * width],
                &features[j * width..(j + 1) * width],
            );
        }
    }
    Ok(sum / (n * (n - 1) / 2) as f64)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The copy check of `samples` against `training` features (rows of `width`). At most
/// `held_out` training images are held out in turn for the yardstick and the real spread
/// (spread evenly over the training set, which may be sorted by class).
pub fn copy_report(
    training: &[f32],
    samples: &[f32],
    width: usize,
    held_out: usize,
) -> Result<CopyReport> {
    let n_train = rows(training, width)?;
    let n_samples = rows(samples, width)?;
    if n_train < 2 {
        return Err(Error::Invalid(format!(
            "the copy check needs at least 2 training images, not {n_train}"
        )));
    }
    if n_samples < 2 {
        return Err(Error::Invalid(format!(
            "the copy check needs at least 2 samples, not {n_samples}"
        )));
    }
    // The held-out images go first so `nearest` can skip each one's own row.
    let stride = n_train.div_ceil(held_out.clamp(2, n_train));
    let picked: Vec<usize> = (0..n_train).step_by(stride).collect();
    let mut reordered: Vec<f32> = picked
        .iter()
        .flat_map(|&i| training[i * width..(i + 1) * width].iter().copied())
        .collect();
    let held = reordered.clone();
    let mut is_picked = vec![false; n_train];
    for &i in &picked {
        is_picked[i] = true;
    }
    for (i, row) in training.chunks(width).enumerate() {
        if !is_picked[i] {
            reordered.extend_from_slice(row);
        }
    }
    let typical = median(
        nearest(&held, &reordered, width, true)?
            .into_iter()
            .map(|(_, d)| d)
            .collect(),
    );
    let to_train = nearest(samples, training, width, false)?;
    let copies = to_train.iter().filter(|&&(_, d)| d < typical).count();
    let real_spread = mean_pairwise(&held, width)?;
    let sample_spread = mean_pairwise(&samples[..n_samples.min(held_out.max(2)) * width], width)?;
    Ok(CopyReport {
        copy_rate: copies as f64 / n_samples as f64,
        typical,
        diversity: if real_spread > 0.0 {
            sample_spread / real_spread
        } else {
            f64::INFINITY
        },
        nearest: to_train.into_iter().take(SHOWN).collect(),
        samples: n_samples,
        training: n_train,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic normal-ish points: sums of uniforms from a small LCG.
    fn points(n: usize, width: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n * width)
            .map(|_| {
                (0..4)
                    .map(|_| {
                        s = s
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn nearest_finds_the_closest_row_and_leave_one_out_skips_its_own() {
        let refs = [0.0, 0.0, 3.0, 4.0, 1.0, 0.0];
        let found = nearest(&[2.9, 4.0, 0.1, 0.0], &refs, 2, false).unwrap();
        assert_eq!(found[0].0, 1);
        assert!((found[0].1 - 0.1).abs() < 1e-6);
        assert_eq!(found[1].0, 0);
        let own = nearest(&refs[..4], &refs, 2, true).unwrap();
        assert_eq!(own[0], (2, 1.0));
        assert_eq!(own[1].0, 2);
        assert!(nearest(&[0.0; 2], &[0.0; 2], 2, true).is_err());
        assert!(nearest(&[0.0; 3], &refs, 2, false).is_err());
    }

    #[test]
    fn replayed_training_images_are_copies_and_new_draws_are_not() {
        let width = 8;
        let training = points(200, width, 1);
        // Each sample is a training image with a little noise: all copies.
        let noise = points(1000, width, 2);
        let replayed: Vec<f32> = (0..1000)
            .flat_map(|i| {
                let t = &training[(i * 7 % 200) * width..][..width];
                let e = &noise[i * width..][..width];
                t.iter()
                    .zip(e)
                    .map(|(a, b)| a + 0.01 * b)
                    .collect::<Vec<_>>()
            })
            .collect();
        let r = copy_report(&training, &replayed, width, 1000).unwrap();
        assert!(r.copy_rate > 0.99, "{r:?}");
        assert!((r.diversity - 1.0).abs() < 0.15, "{r:?}");
        assert!(r.warning("--augment").unwrap().contains("replaying"));
        assert_eq!(r.nearest.len(), SHOWN);
        assert_eq!(r.nearest[1].0, 7);
        // Fresh draws from the training images' own distribution: about half.
        let fresh = points(1000, width, 3);
        let r = copy_report(&training, &fresh, width, 1000).unwrap();
        assert!((0.35..0.65).contains(&r.copy_rate), "{r:?}");
        assert!((r.diversity - 1.0).abs() < 0.1, "{r:?}");
        assert_eq!(r.warning("--augment"), None);
    }

    #[test]
    fn a_collapsed_generator_has_low_diversity() {
        let width = 8;
        let training = points(100, width, 4);
        // Every sample near one point that lies away from the data.
        let noise = points(500, width, 5);
        let collapsed: Vec<f32> = noise.iter().map(|v| 5.0 + 0.02 * v).collect();
        let r = copy_report(&training, &collapsed, width, 1000).unwrap();
        assert!(r.diversity < 0.05, "{r:?}");
        assert_eq!(r.copy_rate, 0.0);
        assert!(r.warning("--augment").unwrap().contains("collapsed"));
        // Collapsed onto the data's centre: nearer to every training image than they are to
        // each other, so "copying" by the rate, but named as the collapse it is.
        let mut centre = vec![0.0f32; width];
        for row in training.chunks(width) {
            for (c, v) in centre.iter_mut().zip(row) {
                *c += v / 100.0;
            }
        }
        let at_centre: Vec<f32> = noise
            .chunks(width)
            .flat_map(|e| {
                centre
                    .iter()
                    .zip(e)
                    .map(|(c, v)| c + 0.02 * v)
                    .collect::<Vec<_>>()
            })
            .collect();
        let r = copy_report(&training, &at_centre, width, 1000).unwrap();
        assert!(r.copy_rate > 0.9, "{r:?}");
        let warning = r.warning("--augment").unwrap();
        assert!(
            warning.contains("collapsed") && !warning.contains("replaying"),
            "{warning}"
        );
    }

    #[test]
    fn five_images_have_a_yardstick_and_one_has_none() {
        let width = 4;
        let training = points(5, width, 6);
        let copies: Vec<f32> = (0..100)
            .flat_map(|i| training[(i % 5) * width..][..width].to_vec())
            .collect();
        let r = copy_report(&training, &copies, width, 1000).unwrap();
        assert_eq!(r.copy_rate, 1.0);
        assert!(r.typical > 0.0);
        assert!(copy_report(&training[..width], &copies, width, 1000).is_err());
    }
}

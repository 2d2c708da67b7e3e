//! Does InfoGAN's categorical code find the dataset's classes without their labels? Samples
//! are drawn for each value of the code and sorted into classes by the quality measure's
//! classifier; the purity is the fraction of samples in their value's most common class
//! (1 when each value draws one class; 1/classes by chance when the code means nothing).

use crate::quality::evaluate::FeatureSpace;
use crate::train::codes::{latents, CodeChoice, Layout};
use crate::train::Trainer;
use crate::{reference, streams, Error, Result};

/// Samples drawn per value of the code.
pub const PER_VALUE: u32 = 100;

/// The purity and, per value of the code, its most common class and that class's share.
#[derive(Clone, Debug, PartialEq)]
pub struct Purity {
    pub purity: f64,
    /// (value, class, share of the value's samples in that class).
    pub majority: Vec<(u32, u32, f64)>,
    /// Distinct classes among the values' majorities: 10 on digits when every digit has a value.
    pub classes_found: usize,
}

/// The purity of `classes[i]` (the class of sample i) against `values[i]` (its code's value),
/// for codes of `k` values: pure arithmetic, no GPU.
pub fn purity_of(values: &[u32], classes: &[u32], k: u32) -> Purity {
    let top_class = classes.iter().copied().max().map_or(0, |c| c + 1) as usize;
    let mut counts = vec![vec![0usize; top_class.max(1)]; k as usize];
    for (&v, &c) in values.iter().zip(classes) {
        counts[v as usize][c as usize] += 1;
    }
    let mut pure = 0;
    let mut majority = Vec::new();
    for (v, row) in counts.iter().enumerate() {
        let total: usize = row.iter().sum();
        let (class, &most) = row
            .iter()
            .enumerate()
            .max_by_key(|(c, &n)| (n, std::cmp::Reverse(*c)))
            .expect("at least one class");
        pure += most;
        if total > 0 {
            majority.push((v as u32, class as u32, most as f64 / total as f64));
        }
    }
    let mut found: Vec<u32> = majority.iter().map(|m| m.1).collect();
    found.sort_unstable();
    found.dedup();
    Purity {
        purity: pure as f64 / values.len().max(1) as f64,
        majority,
        classes_found: found.len(),
    }
}

/// [`PER_VALUE`] samples of `trainer`'s G for each value of its categorical code (noise and
/// continuous codes drawn from the quality measure's streams), classified in `space`.
pub async fn purity(space: &FeatureSpace, trainer: &Trainer) -> Result<Purity> {
    let c = &trainer.config;
    let k = c.model.codes.categorical;
    if k == 0 {
        return Err(Error::Invalid(
            "the purity needs InfoGAN's categorical code, and this model has none".into(),
        ));
    }
    if space.classifier.accuracy.is_none() {
        return Err(Error::Invalid(
            "the purity needs a dataset with classes to sort the samples into".into(),
        ));
    }
    let gpu = &trainer.gpu;
    let head = space.classifier.head.to_cpu(gpu).await?;
    let nz = c.model.nz as usize;
    let (mut values, mut classes) = (vec![], vec![]);
    let mut sampler = None;
    for v in 0..k {
        let stream = streams::QUALITY_NOISE;
        let len = PER_VALUE as usize * nz;
        let noise = if c.prior == crate::train::Prior::Uniform {
            reference::random::uniform(c.seed, stream, v, len)
        } else {
            reference::random::normal(c.seed, stream, v, len)
        };
        let choice = CodeChoice {
            categorical: Some(v),
            ..CodeChoice::drawn(c.model.codes)
        };
        let draw = (c.seed, streams::QUALITY_CODES, v);
        let z = latents(&c.model, &noise, Layout::Each, &choice, draw);
        let s = match &sampler {
            Some(s) => {
                crate::train::sample::Sampler::set_noise(s, gpu, &z);
                s
            }
            None => sampler.insert(trainer.sampler(&z, &[])?),
        };
        let images = s.images(gpu).await?;
        let features = space.features(&images).await?;
        let features: Vec<f64> = features.iter().map(|&f| f as f64).collect();
        let (logits, _) = head.clone().forward(&features, PER_VALUE, false, false);
        let per = logits.len() / PER_VALUE as usize;
        for row in logits.chunks(per) {
            let best = (0..per)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            classes.push(best as u32);
            values.push(v);
        }
    }
    Ok(purity_of(&values, &classes, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_that_finds_the_classes_is_pure_and_one_that_does_not_is_not() {
        // Value v draws class (v + 3) mod 4: pure, every class found.
        let values: Vec<u32> = (0..40).map(|i| i / 10).collect();
        let classes: Vec<u32> = values.iter().map(|v| (v + 3) % 4).collect();
        let p = purity_of(&values, &classes, 4);
        assert_eq!(p.purity, 1.0);
        assert_eq!(p.classes_found, 4);
        assert_eq!(p.majority[0], (0, 3, 1.0));
        // Classes in turn whatever the value: a quarter.
        let classes: Vec<u32> = (0..40).map(|i| i % 4).collect();
        let p = purity_of(&values, &classes, 4);
        assert!((p.purity - 0.3).abs() < 0.11, "{}", p.purity);
        // Every value drawing class 2: pure but one class found.
        let p = purity_of(&values, &[2; 40], 4);
        assert_eq!((p.purity, p.classes_found), (1.0, 1));
    }
}

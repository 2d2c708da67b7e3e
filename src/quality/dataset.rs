//! The quality measure for a whole dataset, as the CLI and the page use it: which real images
//! stand for the data, and the meter fitted to them.

use std::sync::Arc;

use crate::data::Dataset;
use crate::quality::classifier::Classifier;
use crate::quality::copies::CopyReport;
use crate::quality::evaluate::{FeatureSpace, QualityMeter};
use crate::train::sample::Grid;
use crate::train::{GpuDataset, TrainConfig, Trainer};
use crate::{Gpu, Result};

/// Classifier training steps: enough for the digits' classes on any adapter's patience.
pub const CLASSIFIER_STEPS: u32 = 300;
/// Real and generated images per measurement.
pub const SAMPLES: usize = 1000;

/// Up to `n` images spread evenly over the dataset (which is sorted by class), starting at
/// `offset` strides of a half: 0 for the meter's sample, 1 for a second, disjoint one (the
/// real-vs-real floor).
pub fn spread(dataset: &Dataset, n: usize, offset: usize) -> Vec<u8> {
    spread_indices(dataset.count(), n, offset)
        .flat_map(|i| {
            dataset
                .image(i)
                .expect("an index below count")
                .iter()
                .copied()
        })
        .collect()
}

/// The indices of [`spread`]'s images among `count`.
pub fn spread_indices(count: usize, n: usize, offset: usize) -> impl Iterator<Item = usize> {
    let stride = (count / n.min(count).max(1)).max(if offset > 0 { 2 } else { 1 });
    (offset * stride / 2..count).step_by(stride).take(n)
}

/// At most this many training images stand for the training set in the copy check (spread
/// evenly over it): each of the 1,000 samples is compared with every one of them on the CPU.
pub const COPY_CHECK_TRAINING: usize = 20_000;

/// Trains the feature classifier on `dataset` (uploaded as `on_gpu`, labelled when it has
/// classes). `say` hears what is going on.
pub async fn feature_space(
    gpu: Arc<Gpu>,
    on_gpu: &GpuDataset,
    config: &TrainConfig,
    say: &mut dyn FnMut(String),
) -> Result<FeatureSpace> {
    say(format!(
        "quality: training the feature classifier ({CLASSIFIER_STEPS} steps)…"
    ));
    let classifier = Classifier::train(
        gpu,
        on_gpu,
        config.model.image(),
        CLASSIFIER_STEPS,
        config.seed,
    )
    .await?;
    say(match classifier.accuracy {
        Some(a) => format!(
            "quality: classifier accuracy {:.0}% on its last batch",
            a * 100.0
        ),
        None => {
            "quality: the dataset has no classes, so the features come from an untrained network"
                .into()
        }
    });
    FeatureSpace::new(classifier)
}

/// The feature space of [`feature_space`] and the real images' features fitted in it.
pub async fn meter(
    gpu: Arc<Gpu>,
    dataset: &Dataset,
    on_gpu: &GpuDataset,
    config: &TrainConfig,
    say: &mut dyn FnMut(String),
) -> Result<QualityMeter> {
    let space = feature_space(gpu, on_gpu, config, say).await?;
    QualityMeter::new(
        space,
        &spread(dataset, SAMPLES, 0),
        dataset.row_len(),
        SAMPLES as u32,
    )
    .await
}

/// What the copy check found, with the first samples and their nearest training images.
pub struct CopyCheck {
    pub report: CopyReport,
    /// The first [`crate::quality::copies::SHOWN`] samples ([n, image] in [−1, 1]).
    pub shown: Vec<f32>,
    /// Each one's nearest training image ([n, row] u8).
    pub nearest: Vec<u8>,
}

impl CopyCheck {
    /// The pairs as one picture, RGBA: four rows of four pairs, each sample with its nearest
    /// training image to its right.
    pub fn pairs_rgba(&self, channels: usize, size: usize) -> (u32, u32, Vec<u8>) {
        let n = self.report.nearest.len();
        let per = channels * size * size;
        let mut grid = Grid::new(2 * n, channels, size, 8);
        for i in 0..n {
            grid.place(2 * i, &self.shown[i * per..(i + 1) * per]);
            let real: Vec<f32> = self.nearest[i * per..(i + 1) * per]
                .iter()
                .map(|&v| v as f32 / 127.5 - 1.0)
                .collect();
            grid.place(2 * i + 1, &real);
        }
        grid.rgba()
    }
}

/// The features of the training images the copy check compares samples with: at most
/// [`COPY_CHECK_TRAINING`] of `dataset`'s, spread evenly. They depend on the feature space
/// alone, so a page measuring again and again computes them once.
pub async fn training_features(space: &FeatureSpace, dataset: &Dataset) -> Result<Vec<f32>> {
    space
        .features_of_pixels(&spread(dataset, COPY_CHECK_TRAINING, 0), dataset.row_len())
        .await
}

/// The copy check of `trainer`'s generator against `dataset`, whose [`training_features`]
/// in `space` are `training`.
pub async fn check_copies(
    space: &FeatureSpace,
    dataset: &Dataset,
    training: &[f32],
    trainer: &Trainer,
) -> Result<CopyCheck> {
    let (report, samples) =
        crate::quality::evaluate::check_copies(space, trainer, training).await?;
    let row = dataset.row_len();
    let shown = samples[..report.nearest.len() * row].to_vec();
    // The report's indices are into `training_features`' spread.
    let picked: Vec<usize> = spread_indices(dataset.count(), COPY_CHECK_TRAINING, 0).collect();
    let mut nearest = Vec::with_capacity(report.nearest.len() * row);
    for &(i, _) in &report.nearest {
        let image = picked
            .get(i)
            .and_then(|&i| dataset.image(i))
            .ok_or_else(|| {
                crate::Error::Invalid(format!("training image {i} is not in the dataset"))
            })?;
        nearest.extend_from_slice(image);
    }
    Ok(CopyCheck {
        report,
        shown,
        nearest,
    })
}

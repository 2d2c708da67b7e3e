//! The quality measure for a whole dataset, as the CLI and the page use it: which real images
//! stand for the data, and the meter fitted to them.

use std::sync::Arc;

use crate::data::Dataset;
use crate::quality::classifier::Classifier;
use crate::quality::evaluate::QualityMeter;
use crate::train::{GpuDataset, TrainConfig};
use crate::{Gpu, Result};

/// Classifier training steps: enough for the digits' classes on any adapter's patience.
pub const CLASSIFIER_STEPS: u32 = 300;
/// Real and generated images per measurement.
pub const SAMPLES: usize = 1000;

/// Up to `n` images spread evenly over the dataset (which is sorted by class), starting at
/// `offset` strides of a half: 0 for the meter's sample, 1 for a second, disjoint one (the
/// real-vs-real floor).
pub fn spread(dataset: &Dataset, n: usize, offset: usize) -> Vec<u8> {
    let count = dataset.count();
    let stride = (count / n.min(count).max(1)).max(if offset > 0 { 2 } else { 1 });
    (offset * stride / 2..count)
        .step_by(stride)
        .take(n)
        .flat_map(|i| {
            dataset
                .image(i)
                .expect("an index below count")
                .iter()
                .copied()
        })
        .collect()
}

/// Trains the feature classifier on `dataset` (uploaded as `on_gpu`, labelled when it has
/// classes) and fits the real images' features. `say` hears what is going on.
pub async fn meter(
    gpu: Arc<Gpu>,
    dataset: &Dataset,
    on_gpu: &GpuDataset,
    config: &TrainConfig,
    say: &mut dyn FnMut(String),
) -> Result<QualityMeter> {
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
    QualityMeter::new(
        classifier,
        &spread(dataset, SAMPLES, 0),
        dataset.row_len(),
        SAMPLES as u32,
    )
    .await
}

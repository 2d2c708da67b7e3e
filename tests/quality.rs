//! The quality measure on a two-class toy dataset: the classifier learns the classes with
//! webgan's kernels, and in its feature space a second sample of real images sits far closer to
//! the real ones than an untrained generator's samples do.

use crate::common;

use std::sync::Arc;

use common::Rng;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::quality::classifier::Classifier;
use webgan::quality::evaluate::{FeatureSpace, QualityMeter};
use webgan::train::{GpuDataset, TrainConfig, Trainer};

/// Class 0: a bright 10×10 square on the left; class 1: on the right. 28×28 gray.
fn squares(count: usize, rng: &mut Rng) -> (Vec<u8>, Vec<u32>) {
    let mut pixels = vec![0u8; count * 784];
    let mut labels = vec![];
    for img in pixels.chunks_mut(784) {
        let class = rng.below(2) as usize;
        let (x, y) = (
            2 + class * 14 + rng.below(3) as usize,
            6 + rng.below(8) as usize,
        );
        for r in y..y + 10 {
            img[r * 28 + x..r * 28 + x + 10].fill(255);
        }
        labels.push(class as u32);
    }
    (pixels, labels)
}

#[test]
fn the_classifier_learns_and_the_distance_ranks_real_above_untrained() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let mut rng = Rng::new(41);
    let (pixels, labels) = squares(600, &mut rng);
    let dataset = GpuDataset::upload_labelled(&gpu, &pixels, 784, &labels, 2).unwrap();
    let image = ModelConfig::new(Preset::Dcgan28).image();
    let classifier =
        pollster::block_on(Classifier::train(gpu.clone(), &dataset, image, 60, 1)).unwrap();
    let accuracy = classifier
        .accuracy
        .expect("a labelled dataset trains the classifier");
    assert!(accuracy > 0.9, "classifier accuracy {accuracy}");

    let meter = pollster::block_on(QualityMeter::new(
        FeatureSpace::new(classifier).unwrap(),
        &pixels[..300 * 784],
        784,
        300,
    ))
    .unwrap();
    let floor = pollster::block_on(meter.distance_to_images(&pixels[300 * 784..], 784)).unwrap();
    let config = TrainConfig {
        model: ModelConfig {
            nz: 16,
            ngf: 8,
            ndf: 8,
            classes: 2,
            ..ModelConfig::new(Preset::Dcgan28)
        },
        batch: 8,
        ..TrainConfig::new(Preset::Dcgan28)
    };
    let trainer = Trainer::new(
        gpu.clone(),
        config,
        GpuDataset::upload_labelled(&gpu, &pixels, 784, &labels, 2).unwrap(),
    )
    .unwrap();
    let untrained = pollster::block_on(meter.measure(&trainer)).unwrap();
    eprintln!(
        "classifier accuracy {accuracy}; real vs real {floor:.3}; untrained G {untrained:.3}"
    );
    assert!(floor.is_finite() && untrained.is_finite());
    assert!(untrained > 10.0 * floor, "an untrained generator ({untrained}) should be far from the data, unlike real images ({floor})");
}

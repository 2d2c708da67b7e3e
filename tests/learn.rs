//! A small conditional GAN measurably learns a two-class toy dataset within CI time: its
//! samples move from grey noise to the data's brightness, and the class decides where the
//! bright square goes. (D's accuracy is logged; at this size D keeps winning, so it is not a
//! criterion.)

use crate::common;

use std::sync::Arc;

use common::*;
use webgan::kernels::optim::AdamConfig;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::train::{GpuDataset, Optimizer, TrainConfig, Trainer};

const SIZE: usize = 28;

/// Class 0: a bright 10×10 square in the left half; class 1: in the right half.
fn toy_dataset(count: usize, rng: &mut Rng) -> (Vec<u8>, Vec<u32>) {
    let mut pixels = vec![0u8; count * SIZE * SIZE];
    let mut labels = Vec::new();
    for img in pixels.chunks_mut(SIZE * SIZE) {
        let class = rng.below(2) as usize;
        let x = 2 + class * 14 + rng.below(3) as usize;
        let y = 6 + rng.below(8) as usize;
        for r in y..y + 10 {
            img[r * SIZE + x..r * SIZE + x + 10].fill(255);
        }
        labels.push(class as u32);
    }
    (pixels, labels)
}

/// (mean value in [−1, 1], centre of mass along x of the brightness above black).
fn statistics(image: &[f32]) -> (f64, f64) {
    let mean = image.iter().map(|&v| v as f64).sum::<f64>() / image.len() as f64;
    let (mut mass, mut moment) = (0.0, 0.0);
    for (i, &v) in image.iter().enumerate() {
        let w = (v as f64 + 1.0) / 2.0;
        mass += w;
        moment += w * (i % SIZE) as f64;
    }
    (mean, moment / mass.max(1e-9))
}

/// Mean of `statistics` over generated images of one class.
fn class_statistics(images: &[f32], labels: &[u32], class: u32) -> (f64, f64) {
    let picked: Vec<(f64, f64)> = images
        .chunks(SIZE * SIZE)
        .zip(labels)
        .filter(|(_, &l)| l == class)
        .map(|(img, _)| statistics(img))
        .collect();
    let n = picked.len() as f64;
    (
        picked.iter().map(|s| s.0).sum::<f64>() / n,
        picked.iter().map(|s| s.1).sum::<f64>() / n,
    )
}

#[test]
fn a_small_conditional_gan_learns_where_each_class_puts_its_square() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let mut rng = Rng::new(21);
    let (pixels, labels) = toy_dataset(512, &mut rng);
    let real_mean =
        pixels.iter().map(|&p| p as f64 / 127.5 - 1.0).sum::<f64>() / pixels.len() as f64;
    let dataset = GpuDataset::upload_labelled(&gpu, &pixels, SIZE * SIZE, &labels, 2).unwrap();
    let config = TrainConfig {
        model: ModelConfig {
            nz: 16,
            ngf: 8,
            ndf: 8,
            classes: 2,
            ..ModelConfig::new(Preset::Dcgan28)
        },
        batch: 16,
        // A tiny model learns faster than DCGAN's 2e-4 allows in CI time.
        d_optimizer: Optimizer::Adam(AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        }),
        g_optimizer: Optimizer::Adam(AdamConfig {
            lr: 1e-3,
            beta1: 0.5,
            ..AdamConfig::default()
        }),
        ..TrainConfig::new(Preset::Dcgan28)
    };
    let mut t = Trainer::new(gpu, config, dataset).unwrap();
    let sample_labels: Vec<u32> = (0..32).map(|i| i % 2).collect();
    let sampler = t.sampler(&t.fixed_noise(32), &sample_labels).unwrap();

    let before = pollster::block_on(sampler.images(&t.gpu)).unwrap();
    let (mean_before, _) = class_statistics(&before, &sample_labels, 0);
    let mut accuracy = vec![];
    for _ in 0..20 {
        t.train(10).unwrap();
        let s = pollster::block_on(t.read_stats()).unwrap();
        assert!(s.is_finite(), "{s:?}");
        accuracy.push((s.accuracy_real + s.accuracy_fake) / 2.0);
    }
    let after = pollster::block_on(sampler.images(&t.gpu)).unwrap();
    let (mean0, x0) = class_statistics(&after, &sample_labels, 0);
    let (mean1, x1) = class_statistics(&after, &sample_labels, 1);
    eprintln!("real mean {real_mean:.3}; before {mean_before:.3}; after {mean0:.3}/{mean1:.3}; centre x {x0:.1} vs {x1:.1}; D accuracy {accuracy:?}");
    // Brightness: from tanh(≈0) grey towards the mostly-black data.
    assert!(
        (mean0 - real_mean).abs() < 0.5 * (mean_before - real_mean).abs(),
        "class 0 mean {mean0} did not approach {real_mean} from {mean_before}"
    );
    assert!(
        (mean1 - real_mean).abs() < 0.5 * (mean_before - real_mean).abs(),
        "class 1 mean {mean1} did not approach {real_mean} from {mean_before}"
    );
    // The class decides the side: real centres are at x ≈ 8 and x ≈ 22.
    assert!(
        x1 - x0 > 4.0,
        "the classes' squares are not apart: centre x {x0:.1} vs {x1:.1}"
    );
    // D learned to tell them apart at some point (the game was played, not skipped).
    assert!(
        accuracy.iter().any(|&a| a > 0.75),
        "D's accuracy never rose: {accuracy:?}"
    );
}

//! The copy check on generators whose answer is known: one trained long enough on five pictures
//! to replay them is reported as copying; an untrained one, whose samples barely vary, as
//! collapsed, not as copying; and a short run on the digits is not reported as copying.

use std::sync::Arc;

use webgan::data::{Dataset, ImageSpec};
use webgan::kernels::optim::AdamConfig;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::quality::classifier::Classifier;
use webgan::quality::copies::{COLLAPSED_BELOW, COPYING_ABOVE};
use webgan::quality::dataset::{check_copies, training_features, CopyCheck};
use webgan::quality::evaluate::FeatureSpace;
use webgan::train::{GpuDataset, Optimizer, TrainConfig, Trainer};

const SIZE: usize = 28;

/// Five distinct 28×28 pictures: a disc, a box, a cross, stripes across and stripes down.
fn five_pictures() -> Vec<u8> {
    let mut pixels = vec![0u8; 5 * SIZE * SIZE];
    for (k, img) in pixels.chunks_mut(SIZE * SIZE).enumerate() {
        for y in 0..SIZE {
            for x in 0..SIZE {
                let (dx, dy) = (x as i32 - 14, y as i32 - 14);
                let on = match k {
                    0 => dx * dx + dy * dy < 80,
                    1 => (4..24).contains(&x) && (8..20).contains(&y),
                    2 => (dx - dy).abs() < 3 || (dx + dy).abs() < 3,
                    3 => y % 6 < 3,
                    _ => x % 6 < 3,
                };
                img[y * SIZE + x] = if on { 255 } else { 0 };
            }
        }
    }
    pixels
}

fn config(nz: u32, width: u32, lr: f32, classes: u32) -> TrainConfig {
    let adam = Optimizer::Adam(AdamConfig {
        lr,
        beta1: 0.5,
        ..AdamConfig::default()
    });
    TrainConfig {
        model: ModelConfig {
            nz,
            ngf: width,
            ndf: width,
            classes,
            ..ModelConfig::new(Preset::Dcgan28)
        },
        batch: 16,
        d_optimizer: adam,
        g_optimizer: adam,
        ..TrainConfig::new(Preset::Dcgan28)
    }
}

/// The copy check of `trainer` against `dataset` in the features of an untrained feature
/// network (what `webgan eval` uses for a dataset without classes).
fn check(gpu: &Arc<webgan::Gpu>, dataset: &Dataset, trainer: &Trainer) -> CopyCheck {
    let on_gpu = GpuDataset::from_dataset(gpu, dataset, false).unwrap().0;
    let classifier = pollster::block_on(Classifier::train(
        gpu.clone(),
        &on_gpu,
        trainer.config.model.image(),
        0,
        7,
    ))
    .unwrap();
    let space = FeatureSpace::new(classifier).unwrap();
    let training = pollster::block_on(training_features(&space, dataset)).unwrap();
    pollster::block_on(check_copies(&space, dataset, &training, trainer)).unwrap()
}

#[test]
fn a_generator_that_replays_five_pictures_is_reported_as_copying() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    // A folder per picture: a conditional GAN learns each class's one picture, which is
    // memorising by construction (an unconditional one gets there too, but by a path that
    // wanders more from one adapter to another).
    let dataset = Dataset::conditional(
        ImageSpec::gray(SIZE as u32),
        five_pictures(),
        (0..5).collect(),
        (0..5).map(|k| format!("picture{k}")).collect(),
    )
    .unwrap();
    let on_gpu = GpuDataset::from_dataset(&gpu, &dataset, true).unwrap().0;
    let mut trainer = Trainer::new(gpu.clone(), config(8, 8, 1e-3, 5), on_gpu).unwrap();

    let untrained = check(&gpu, &dataset, &trainer);
    eprintln!("untrained: {:?}", untrained.report);
    assert!(untrained.report.diversity < COLLAPSED_BELOW);
    let warning = untrained.report.warning("--augment").unwrap();
    assert!(warning.contains("collapsed"), "{warning}");

    trainer.train(STEPS).unwrap();
    let trained = check(&gpu, &dataset, &trainer);
    eprintln!("after {STEPS} steps: {:?}", trained.report);
    assert!(
        trained.report.copy_rate > COPYING_ABOVE,
        "{:?}",
        trained.report
    );
    let warning = trained.report.warning("--augment").unwrap();
    assert!(warning.contains("replaying"), "{warning}");
    // The pairs: each shown sample next to the picture it lies nearest.
    assert_eq!(trained.nearest.len(), 16 * SIZE * SIZE);
    let (w, h, rgba) = trained.pairs_rgba(1, SIZE);
    assert_eq!(rgba.len(), (w * h * 4) as usize);
    assert!(w > h);
}

const STEPS: u32 = 600;

/// A short run of a small conditional DCGAN on the built-in digits (2,000 of them, to keep CI
/// short), checked in the features of a classifier trained on the digits' classes: its samples
/// are not reported as copies. (So short a run varies less than the data, and may be called
/// collapsed; what matters here is that a generator drawing new digits is not called a copier.)
#[test]
fn a_short_digits_run_is_not_reported_as_copying() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let dataset = webgan::data::builtin_digits().unwrap().subset(200);
    let on_gpu = GpuDataset::from_dataset(&gpu, &dataset, true).unwrap().0;
    let mut trainer = Trainer::new(gpu.clone(), config(16, 8, 1e-3, 10), on_gpu).unwrap();
    trainer.train(DIGITS_STEPS).unwrap();
    let on_gpu = GpuDataset::from_dataset(&gpu, &dataset, true).unwrap().0;
    let classifier = pollster::block_on(Classifier::train(
        gpu.clone(),
        &on_gpu,
        trainer.config.model.image(),
        100,
        7,
    ))
    .unwrap();
    let space = FeatureSpace::new(classifier).unwrap();
    let training = pollster::block_on(training_features(&space, &dataset)).unwrap();
    let check = pollster::block_on(check_copies(&space, &dataset, &training, &trainer)).unwrap();
    eprintln!("digits after {DIGITS_STEPS} steps: {:?}", check.report);
    assert_eq!(check.report.training, 2000);
    assert!(check.report.copy_rate < COPYING_ABOVE, "{:?}", check.report);
    assert!(
        !check
            .report
            .warning("--augment")
            .is_some_and(|w| w.contains("replaying")),
        "{:?}",
        check.report
    );
}

const DIGITS_STEPS: u32 = 200;

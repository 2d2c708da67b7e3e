//! The quality measure for the CLI: a classifier trained on the dataset, the real images'
//! feature distribution, and `webgan eval`.

use std::path::PathBuf;
use std::sync::Arc;

use webgan::data::Dataset;
use webgan::quality::classifier::Classifier;
use webgan::quality::evaluate::QualityMeter;
use webgan::train::{GpuDataset, Trainer};
use webgan::{Error, Gpu, Result};

/// Classifier training steps: enough for the digits' classes on any adapter's patience.
const CLASSIFIER_STEPS: u32 = 300;
/// Real and generated images per measurement.
const SAMPLES: usize = 1000;

/// Up to `n` images spread evenly over the dataset (which is sorted by class).
fn spread(dataset: &Dataset, n: usize) -> Vec<u8> {
    let count = dataset.count();
    let stride = (count / n.min(count).max(1)).max(1);
    (0..count)
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

pub fn meter(
    gpu: Arc<Gpu>,
    dataset: &Dataset,
    on_gpu: &GpuDataset,
    trainer: &Trainer,
) -> Result<QualityMeter> {
    let image = trainer.config.model.image();
    eprintln!("quality: training the feature classifier ({CLASSIFIER_STEPS} steps)…");
    let classifier = pollster::block_on(Classifier::train(
        gpu,
        on_gpu,
        image,
        CLASSIFIER_STEPS,
        trainer.config.seed,
    ))?;
    match classifier.accuracy {
        Some(a) => eprintln!(
            "quality: classifier accuracy {:.0}% on its last batch",
            a * 100.0
        ),
        None => eprintln!(
            "quality: the dataset has no classes, so the features come from an untrained network"
        ),
    }
    pollster::block_on(QualityMeter::new(
        classifier,
        &spread(dataset, SAMPLES),
        dataset.row_len(),
        SAMPLES as u32,
    ))
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A checkpoint written by `webgan train` or the page.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The zip it was trained on (default: the built-in digits).
    #[arg(long)]
    data: Option<PathBuf>,
}

pub fn eval(gpu: Arc<Gpu>, args: EvalArgs) -> Result<()> {
    let bytes = std::fs::read(&args.checkpoint)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", args.checkpoint.display())))?;
    let (_, config) = Trainer::checkpoint_config(&bytes)?;
    let dataset = crate::train::dataset_for(args.data.as_deref(), config.model.preset)?;
    let conditional = config.model.classes > 0;
    let trainer = Trainer::resume(
        gpu.clone(),
        &bytes,
        crate::train::upload(&gpu, &dataset, conditional)?,
    )?;
    let meter = meter(
        gpu.clone(),
        &dataset,
        &crate::train::upload(&gpu, &dataset, dataset.is_conditional())?,
        &trainer,
    )?;
    let floor = pollster::block_on(
        meter.distance_to_images(&spread_offset(&dataset, SAMPLES), dataset.row_len()),
    )?;
    let distance = pollster::block_on(meter.measure(&trainer))?;
    println!("Fréchet distance at step {}: {distance:.2} (two real samples: {floor:.2}; lower is better)", trainer.step);
    Ok(())
}

/// Another spread of real images, offset by half a stride: the real-vs-real floor.
fn spread_offset(dataset: &Dataset, n: usize) -> Vec<u8> {
    let count = dataset.count();
    let stride = (count / n.min(count).max(1)).max(2);
    (stride / 2..count)
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

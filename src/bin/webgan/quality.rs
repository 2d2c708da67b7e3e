//! The quality measure for the CLI: a classifier trained on the dataset, the real images'
//! feature distribution, and `webgan eval`.

use std::path::PathBuf;
use std::sync::Arc;

use webgan::data::Dataset;
use webgan::quality::dataset::{spread, SAMPLES};
use webgan::quality::evaluate::{QualityMeter, MIN_REAL_IMAGES};
use webgan::train::{GpuDataset, Trainer};
use webgan::{Error, Gpu, Result};

pub fn meter(
    gpu: Arc<Gpu>,
    dataset: &Dataset,
    on_gpu: &GpuDataset,
    trainer: &Trainer,
) -> Result<QualityMeter> {
    pollster::block_on(webgan::quality::dataset::meter(
        gpu,
        dataset,
        on_gpu,
        &trainer.config,
        &mut |line| eprintln!("{line}"),
    ))
}

#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct EvalArgs {
    /// A checkpoint written by `webgan train` or the page.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The zip it was trained on (default: the built-in digits).
    #[arg(long)]
    data: Option<PathBuf>,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let bytes = crate::output::read(&args.checkpoint)?;
    let config = crate::output::dcgan_config(&bytes)?;
    let dataset = crate::train::dataset_for(args.data.as_deref(), config.model.preset)?;
    if dataset.count() < MIN_REAL_IMAGES {
        return Err(Error::Invalid(format!(
            "the Fréchet distance needs at least {MIN_REAL_IMAGES} images to stand for the data, and this dataset has {}",
            dataset.count()
        )));
    }
    let classes = config.model.classes as usize;
    if classes > 0 && dataset.class_count() != classes {
        return Err(Error::Invalid(format!(
            "the checkpoint is conditional on {classes} classes and the dataset has {}: give the zip it was trained on with --data",
            dataset.class_count()
        )));
    }
    let gpu = Arc::new(crate::open_gpu()?);
    let conditional = classes > 0;
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
        meter.distance_to_images(&spread(&dataset, SAMPLES, 1), dataset.row_len()),
    )?;
    let distance = pollster::block_on(meter.measure(&trainer))?;
    println!("Fréchet distance at step {}: {distance:.2} (two real samples: {floor:.2}; lower is better)", trainer.step);
    Ok(())
}

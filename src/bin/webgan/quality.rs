//! The quality measure for the CLI: a classifier trained on the dataset, the real images'
//! feature distribution, and `webgan eval`.

use std::path::PathBuf;
use std::sync::Arc;

use webgan::data::Dataset;
use webgan::quality::dataset::{spread, SAMPLES};
use webgan::quality::evaluate::QualityMeter;
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
        meter.distance_to_images(&spread(&dataset, SAMPLES, 1), dataset.row_len()),
    )?;
    let distance = pollster::block_on(meter.measure(&trainer))?;
    println!("Fréchet distance at step {}: {distance:.2} (two real samples: {floor:.2}; lower is better)", trainer.step);
    Ok(())
}

//! The quality measure for the CLI: a classifier trained on the dataset, the real images'
//! feature distribution, and `webgan eval`.

use std::path::PathBuf;
use std::sync::Arc;

use webgan::data::Dataset;
use webgan::quality::copies::CopyReport;
use webgan::quality::dataset::{check_copies, feature_space, spread, training_features, SAMPLES};
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
    /// Also write 16 samples, each beside its nearest training image, to this .png.
    #[arg(long)]
    nearest: Option<PathBuf>,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    if let Some(p) = args.nearest.as_deref().filter(|p| p.is_dir()) {
        return Err(Error::Invalid(format!(
            "--nearest {} is a folder: give a file name, e.g. pairs.png",
            p.display()
        )));
    }
    let bytes = crate::output::read(&args.checkpoint)?;
    let config = crate::output::dcgan_config(&bytes)?;
    let dataset = crate::train::dataset_for(args.data.as_deref(), config.model.preset)?;
    if dataset.count() < 2 {
        return Err(Error::Invalid(format!(
            "the copy check needs at least 2 training images to compare samples with, and this dataset has {}",
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
    let space = pollster::block_on(feature_space(
        gpu.clone(),
        &crate::train::upload(&gpu, &dataset, dataset.is_conditional())?,
        &trainer.config,
        &mut |line| eprintln!("{line}"),
    ))?;
    let space = if dataset.count() >= MIN_REAL_IMAGES {
        let meter = pollster::block_on(QualityMeter::new(
            space,
            &spread(&dataset, SAMPLES, 0),
            dataset.row_len(),
            SAMPLES as u32,
        ))?;
        let floor = pollster::block_on(
            meter.distance_to_images(&spread(&dataset, SAMPLES, 1), dataset.row_len()),
        )?;
        let distance = pollster::block_on(meter.measure(&trainer))?;
        println!("Fréchet distance at step {}: {distance:.2} (two real samples: {floor:.2}; lower is better)", trainer.step);
        meter.space
    } else {
        println!(
            "Fréchet distance: not measured, it needs at least {MIN_REAL_IMAGES} images and this dataset has {}",
            dataset.count()
        );
        space
    };
    if trainer.config.model.codes.categorical > 0 {
        if space.classifier.accuracy.is_some() {
            let p = pollster::block_on(webgan::quality::purity::purity(&space, &trainer))?;
            print!("{}", purity_lines(&p));
        } else {
            println!("Purity: not measured, it needs a dataset with classes to sort samples into");
        }
    }
    let training = pollster::block_on(training_features(&space, &dataset))?;
    let check = pollster::block_on(check_copies(&space, &dataset, &training, &trainer))?;
    print!("{}", copy_lines(&check.report));
    if let Some(path) = &args.nearest {
        let c = &trainer.config.model;
        crate::output::write_png(
            path,
            &check.pairs_rgba(c.channels as usize, c.preset.image_size() as usize),
        )?;
        println!(
            "{}: 16 samples, each with its nearest training image to its right",
            path.display()
        );
    }
    Ok(())
}

/// InfoGAN's purity in words: how well its categorical code separates the classes.
pub fn purity_lines(p: &webgan::quality::purity::Purity) -> String {
    let per_value: Vec<String> = p
        .majority
        .iter()
        .map(|(v, c, share)| format!("k={v}→{c} ({:.0}%)", share * 100.0))
        .collect();
    format!(
        "Purity: {:.1}% of {} samples per value of the categorical code fall in their value's most common class ({} distinct classes; by chance about the largest class's share)\nCode values and their classes: {}\n",
        p.purity * 100.0,
        webgan::quality::purity::PER_VALUE,
        p.classes_found,
        per_value.join(", ")
    )
}

/// The copy check's figures in words, with a warning when they are worrying.
pub fn copy_lines(r: &CopyReport) -> String {
    let mut s = format!(
        "Copy rate: {:.1}% of {} samples lie nearer to one of the {} training images than a real image typically lies to its nearest other (a distance of {:.3} in the quality measure's features; about 50% for new images, near 100% for copies)\n",
        100.0 * r.copy_rate,
        r.samples,
        r.training,
        r.typical
    );
    s += &format!(
        "Diversity: {:.2} (mean distance between samples over that between real images; about 1 when they vary as much as the data, near 0 when collapsed)\n",
        r.diversity
    );
    if let Some(w) = r.warning("--augment color,translation,cutout") {
        s += &format!("Warning: {w}\n");
    }
    s
}

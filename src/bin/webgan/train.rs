//! `webgan train`: trains on a zip of images (or the built-in digits), writing sample grids,
//! a metrics.csv and checkpoints as it goes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::data::{Dataset, ImageSpec};
use webgan::kernels::optim::{AdamConfig, SgdConfig};
use webgan::model::presets::{ModelConfig, Preset};
use webgan::train::{sample, GanLoss, GpuDataset, Optimizer, Prior, TrainConfig, Trainer};
use webgan::{Error, Gpu, Result};

use crate::{output, quality};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// A zip of images: flat, or one top-level folder per class. Default: the built-in digits.
    #[arg(long)]
    data: Option<PathBuf>,
    /// dcgan28 (28×28 gray), dcgan32 (32×32 RGB) or dcgan64 (PyTorch's examples/dcgan).
    #[arg(long)]
    preset: Option<String>,
    /// Alternating steps to run (in all, counting those of a resumed checkpoint).
    #[arg(long, default_value_t = 5000)]
    steps: u64,
    /// Where samples, metrics.csv and checkpoints go.
    #[arg(long, default_value = "webgan-run")]
    out: PathBuf,
    /// Continue from a checkpoint written by `webgan train` (or the page).
    #[arg(long)]
    resume: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    batch: u32,
    /// Discriminator updates per generator update.
    #[arg(long, default_value_t = 1)]
    k: u32,
    /// bce (non-saturating), minimax, wgan (with weight clipping) or hinge.
    #[arg(long, default_value = "bce")]
    loss: String,
    /// adam or sgd (with momentum), for both networks.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    #[arg(long, default_value_t = 2e-4)]
    lr_d: f32,
    #[arg(long, default_value_t = 2e-4)]
    lr_g: f32,
    #[arg(long, default_value_t = 0.5)]
    beta1: f32,
    #[arg(long, default_value_t = 0.999)]
    beta2: f32,
    /// SGD's momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// One-sided label smoothing: real targets become 1 − this.
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f32,
    /// WGAN's weight clipping bound.
    #[arg(long, default_value_t = 0.01)]
    clip: f32,
    #[arg(long, default_value_t = 100)]
    nz: u32,
    #[arg(long, default_value_t = 64)]
    ngf: u32,
    #[arg(long, default_value_t = 64)]
    ndf: u32,
    /// normal or uniform (in (−1, 1)).
    #[arg(long, default_value = "normal")]
    prior: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train an unconditional GAN even when the dataset has classes.
    #[arg(long)]
    unconditional: bool,
    /// Read stats, append to metrics.csv and write a sample grid every this many steps.
    #[arg(long, default_value_t = 100)]
    every: u64,
    /// Measure the Fréchet distance to the data every this many steps (0: never). The first
    /// measurement trains a small classifier on the dataset.
    #[arg(long, default_value_t = 1000)]
    quality_every: u64,
    /// Write the checkpoint every this many steps (and at the end).
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: u64,
}

/// The built-in digits, converted at build time by `./build.sh build`.
fn builtin_digits() -> Result<Dataset> {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/data/digits.wgds"),
        PathBuf::from("www/data/digits.wgds"),
    ];
    for path in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            return Dataset::decode(&bytes);
        }
    }
    Err(Error::Invalid(format!(
        "the built-in digits are not at {}: run `./build.sh build` (it converts them), or pass --data FILE.zip",
        candidates[0].display()
    )))
}

fn load_dataset(args: &TrainArgs, preset: Preset) -> Result<Dataset> {
    dataset_for(args.data.as_deref(), preset)
}

/// The zip at `path`, or the built-in digits, fitted to `preset`.
pub fn dataset_for(path: Option<&Path>, preset: Preset) -> Result<Dataset> {
    let spec = ImageSpec {
        size: preset.image_size(),
        channels: preset.default_channels(),
    };
    let Some(path) = path else {
        let digits = builtin_digits()?;
        eprintln!(
            "data: the built-in MNIST digits ({} images in {} classes)",
            digits.count(),
            digits.class_count()
        );
        if digits.spec != spec {
            let colour = if spec.channels == 1 { "gray" } else { "RGB" };
            eprintln!(
                "data: resizing them to {0}×{0} {colour} for {1}",
                spec.size,
                preset.name()
            );
        }
        return digits.converted(spec);
    };
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("reading {msg} {bar:30} {pos}/{len} entries")
            .expect("a valid template"),
    );
    bar.set_message(path.display().to_string());
    let (dataset, report) = webgan::data::load_zip(&bytes, spec, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    eprintln!("data: {}", report.summary());
    Ok(dataset)
}

fn config(args: &TrainArgs, preset: Preset, classes: u32) -> Result<TrainConfig> {
    let optimizer = |lr| -> Result<Optimizer> {
        match args.optimizer.as_str() {
            "adam" => Ok(Optimizer::Adam(AdamConfig {
                lr,
                beta1: args.beta1,
                beta2: args.beta2,
                ..AdamConfig::default()
            })),
            "sgd" => Ok(Optimizer::Sgd(SgdConfig {
                lr,
                momentum: args.momentum,
                weight_decay: 0.0,
            })),
            other => Err(Error::Invalid(format!(
                "unknown optimizer '{other}': choose adam or sgd"
            ))),
        }
    };
    let c = TrainConfig {
        model: ModelConfig {
            preset,
            nz: args.nz,
            ngf: args.ngf,
            ndf: args.ndf,
            channels: preset.default_channels(),
            classes,
        },
        batch: args.batch,
        d_steps: args.k,
        loss: GanLoss::parse(&args.loss)?,
        label_smoothing: args.label_smoothing,
        d_optimizer: optimizer(args.lr_d)?,
        g_optimizer: optimizer(args.lr_g)?,
        prior: match args.prior.as_str() {
            "normal" => Prior::Normal,
            "uniform" => Prior::Uniform,
            other => {
                return Err(Error::Invalid(format!(
                    "unknown prior '{other}': choose normal or uniform"
                )))
            }
        },
        clip: args.clip,
        seed: args.seed,
    };
    c.check()?;
    Ok(c)
}

/// Keeps what fits in one GPU binding, saying so.
pub fn upload(gpu: &Gpu, dataset: &Dataset, conditional: bool) -> Result<GpuDataset> {
    let (uploaded, note) = GpuDataset::from_dataset(gpu, dataset, conditional)?;
    if let Some(note) = note {
        eprintln!("data: {note}");
    }
    Ok(uploaded)
}

pub fn run(gpu: Arc<Gpu>, args: TrainArgs) -> Result<()> {
    let resumed = match &args.resume {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
            let (_, config) = Trainer::checkpoint_config(&bytes)?;
            if let Some(p) = &args.preset {
                if Preset::parse(p)? != config.model.preset {
                    return Err(Error::Checkpoint(format!(
                        "{} holds a {} model, not {p}",
                        path.display(),
                        config.model.preset.name()
                    )));
                }
            }
            Some((bytes, config))
        }
        None => None,
    };
    let preset = match (&resumed, &args.preset) {
        (Some((_, c)), _) => c.model.preset,
        (None, Some(p)) => Preset::parse(p)?,
        (None, None) => Preset::Dcgan28,
    };
    let dataset = load_dataset(&args, preset)?;
    let mut trainer = match resumed {
        Some((bytes, config)) => Trainer::resume(
            gpu.clone(),
            &bytes,
            upload(&gpu, &dataset, config.model.classes > 0)?,
        )?,
        None => {
            let conditional = dataset.is_conditional() && !args.unconditional;
            let classes = if conditional {
                dataset.class_count() as u32
            } else {
                0
            };
            Trainer::new(
                gpu.clone(),
                config(&args, preset, classes)?,
                upload(&gpu, &dataset, conditional)?,
            )?
        }
    };
    std::fs::create_dir_all(args.out.join("samples"))
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", args.out.display())))?;
    let c = trainer.config;
    eprintln!(
        "model: {} ({} classes), G {} and D {} parameters, batch {}, loss {}, on {}",
        c.model.preset.name(),
        c.model.classes,
        trainer.g.param_count(),
        trainer.d.param_count(),
        c.batch,
        c.loss.name(),
        gpu.adapter_name()
    );
    let (grid_n, columns, labels) = sample::grid_layout(&c);
    let sampler = trainer.sampler(&trainer.fixed_noise(grid_n), &labels)?;
    let metrics_path = args.out.join("metrics.csv");
    let mut metrics = output::Metrics::open(&metrics_path, trainer.step > 0)?;
    let checkpoint_path = args.out.join("checkpoint.safetensors");

    let mut meter = None;
    let bar = ProgressBar::new(args.steps).with_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {elapsed_precise} ETA {eta} {msg}",
        )
        .expect("a valid template"),
    );
    bar.set_position(trainer.step);
    let start = Instant::now();
    let (mut last_time, mut last_step) = (start, trainer.step);
    while trainer.step < args.steps {
        // Bursts of a few steps per submission keep each one short for the GPU's watchdog.
        // Stop on every step some output is due, and after at most 8 steps.
        let until = |every: u64| {
            if every == 0 {
                u64::MAX
            } else {
                every - trainer.step % every
            }
        };
        let burst = (args.steps - trainer.step)
            .min(until(args.every))
            .min(until(args.checkpoint_every))
            .min(until(args.quality_every))
            .min(8) as u32;
        trainer.train(burst);
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        bar.set_position(trainer.step);
        let checkpoint_due =
            trainer.step % args.checkpoint_every == 0 || trainer.step == args.steps;
        let quality_due = args.quality_every > 0
            && (trainer.step % args.quality_every == 0 || trainer.step == args.steps);
        if trainer.step % args.every == 0 || checkpoint_due || quality_due {
            let stats = pollster::block_on(trainer.read_stats())?;
            let now = Instant::now();
            let images_per_s = (trainer.step - last_step) as f64 * c.batch as f64
                / now.duration_since(last_time).as_secs_f64();
            (last_time, last_step) = (now, trainer.step);
            let frechet = if quality_due {
                if meter.is_none() {
                    meter = Some(quality::meter(
                        gpu.clone(),
                        &dataset,
                        &crate::train::upload(&gpu, &dataset, dataset.is_conditional())?,
                        &trainer,
                    )?);
                }
                let m = meter.as_ref().expect("just made");
                let d = pollster::block_on(m.measure(&trainer))?;
                bar.println(format!(
                    "step {}: Fréchet distance to the data {d:.2}",
                    trainer.step
                ));
                Some(d)
            } else {
                None
            };
            metrics.append(&stats, start.elapsed().as_secs_f64(), images_per_s, frechet)?;
            if !stats.is_finite() {
                bar.abandon();
                return Err(Error::Invalid(format!(
                    "training diverged at step {}: a loss is NaN or infinite ({stats:?}). The last good checkpoint is {}; \
                     try a lower learning rate or label smoothing",
                    trainer.step,
                    checkpoint_path.display()
                )));
            }
            bar.set_message(format!(
                "D {:.3} G {:.3} D(x) {:.2} D(G(z)) {:.2} {images_per_s:.0} img/s",
                stats.d_loss, stats.g_loss, stats.d_real, stats.d_fake_after
            ));
            let images = pollster::block_on(sampler.images(&gpu))?;
            let grid = sample::grid_rgba(
                &images,
                grid_n as usize,
                c.model.channels as usize,
                c.model.preset.image_size() as usize,
                columns,
            );
            output::write_png(
                &args
                    .out
                    .join(format!("samples/step_{:07}.png", trainer.step)),
                &grid,
            )?;
            output::write_png(&args.out.join("samples/latest.png"), &grid)?;
            if checkpoint_due {
                let bytes = pollster::block_on(trainer.save()).map_err(|e| {
                    Error::Invalid(format!(
                        "{e}. The last good checkpoint is {}; try a lower learning rate or label smoothing",
                        checkpoint_path.display()
                    ))
                })?;
                output::write_atomically(&checkpoint_path, &bytes)?;
            }
        }
    }
    bar.finish();
    eprintln!(
        "done: {} steps in {:.0} s; samples in {}, checkpoint {}",
        trainer.step,
        start.elapsed().as_secs_f64(),
        args.out.join("samples").display(),
        checkpoint_path.display()
    );
    Ok(())
}

impl output::Metrics {
    fn open(path: &Path, append: bool) -> Result<output::Metrics> {
        let exists = path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))?;
        let mut m = output::Metrics { file };
        if !(append && exists) {
            writeln!(m.file, "step,seconds,d_loss,g_loss,d_real,d_fake_before,d_fake_after,accuracy_real,accuracy_fake,images_per_s,frechet").map_err(output::io)?;
        }
        Ok(m)
    }
}

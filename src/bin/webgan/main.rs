//! The native `webgan` command line.

mod cyclegan;
mod export;
mod export_dataset;
mod export_html;
mod output;
mod pix2pix;
mod quality;
mod run;
mod sample;
mod train;
mod translate;
mod translation_run;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use webgan::{bench, self_check, Gpu};

#[derive(Parser)]
#[command(
    name = "webgan",
    version,
    // "--steps -1" is an invalid value, not an unknown flag "-1".
    allow_negative_numbers = true,
    about = "GAN training on your own GPU, natively or in the browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN on a zip of images (or the built-in digits).
    Train(Box<train::TrainArgs>),
    /// Generate images from a checkpoint.
    Sample(sample::SampleArgs),
    /// A latent interpolation strip from a checkpoint.
    Interpolate(sample::InterpolateArgs),
    /// Translate images with an image-to-image (CycleGAN or pix2pix) checkpoint.
    Translate(translate::TranslateArgs),
    /// The Fréchet distance of a checkpoint's generator to its data (lower is better), its
    /// copy rate and its diversity.
    Eval(quality::EvalArgs),
    /// Write a checkpoint's generator for other programs: `--format onnx` (ONNX Runtime and
    /// others) or `--format html` (one web page that draws from it on the visitor's GPU).
    Export(export::ExportArgs),
    /// Write a zip's images (or the built-in digits), fitted to a DCGAN preset as `train` fits
    /// them, to one safetensors file for another trainer (python/webgan_torch).
    ExportDataset(export_dataset::ExportDatasetArgs),
    /// Check this GPU's kernels against the CPU reference.
    Check,
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// GFLOP/s of every kernel on the DCGAN presets' layer shapes and of a square matmul.
    Kernels {
        /// Presets to measure: dcgan28, dcgan64, cyclegan64, pix2pix64 (each distinct conv
        /// shape of the networks at 64 × 64), matmul, attention (SAGAN's self-attention
        /// block, 64 channels at 32 × 32, forward and backward, after the matmul).
        #[arg(long, value_delimiter = ',', default_value = "matmul,dcgan28,dcgan64")]
        presets: Vec<String>,
        /// Batch size (default: each preset's own, 64 for dcgan28, 128 for dcgan64, 1 for
        /// cyclegan64 and pix2pix64, 16 for attention).
        #[arg(long)]
        batch: Option<u32>,
        /// Each kernel is timed 5 times, each time repeated until the 5 take this long in
        /// all; the median is reported.
        #[arg(long, default_value_t = 0.5)]
        min_seconds: f64,
        /// Also time each dispatch of a kernel alone (packs, GEMM, finishing passes), one row
        /// per entry point under the kernel's.
        #[arg(long)]
        entries: bool,
        /// Only the layers whose name contains one of these (e.g. "convT 64→1 ,conv 1→64 "); the
        /// matmul, their yardstick, is kept.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Time by the CPU time of webgan's threads divided by the machine's cores instead of
        /// the wall clock (Linux, software adapters, which run in those threads): steadier
        /// where other work shares the machine; meaningless for a real GPU.
        #[arg(long)]
        cpu_time: bool,
    },
    /// Training throughput: ms per alternating step (k = 1) and images per second.
    Train {
        /// Presets to measure: dcgan28, dcgan32, dcgan64, sagan32, sagan64, and the image-to-image families at
        /// their defaults (batch 1): cyclegan64, cyclegan128, cyclegan256, pix2pix64,
        /// pix2pix128, pix2pix256.
        #[arg(long, value_delimiter = ',', default_value = "dcgan28,dcgan32,dcgan64")]
        presets: Vec<String>,
        /// Batch size (default: 64 for dcgan28, dcgan32 and sagan32, 128 for dcgan64, as
        /// PyTorch's; 32 for sagan64).
        #[arg(long)]
        batch: Option<u32>,
        /// Timed steps, after two warm-up steps.
        #[arg(long, default_value_t = 5)]
        steps: u32,
        /// The GAN loss of the DCGAN and SAGAN presets (as `train --loss`), with its defaults.
        #[arg(long)]
        loss: Option<String>,
        /// D steps per G step (default: the loss's, 5 for wgan-gp, else 1).
        #[arg(long)]
        k: Option<u32>,
        /// R1's weight γ, for a step with the R1 penalty.
        #[arg(long)]
        r1: Option<f32>,
        /// Classes of a conditional DCGAN or SAGAN (0: unconditional), on data labelled in turn.
        #[arg(long, default_value_t = 0)]
        classes: u32,
    },
    /// Where a training step's time goes: each kernel of one step timed alone, summed by kernel.
    Step {
        /// dcgan28, dcgan32, dcgan64, or cyclegan64, cyclegan128, cyclegan256, pix2pix64,
        /// pix2pix128, pix2pix256 (at batch 1).
        #[arg(long, default_value = "dcgan28")]
        preset: String,
        #[arg(long, default_value_t = 64)]
        batch: u32,
        /// Steps to average over.
        #[arg(long, default_value_t = 1)]
        reps: u32,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, &matches) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("webgan: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The GPU, opened once a command's arguments have been checked (so a typo costs no device).
pub fn open_gpu() -> webgan::Result<Gpu> {
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.adapter_name());
    Ok(gpu)
}

/// `matches` tell which flags a person typed (a resumed run may change only some of them).
fn run(cli: Cli, matches: &clap::ArgMatches) -> webgan::Result<ExitCode> {
    match cli.command {
        Command::Train(args) => {
            let typed = matches
                .subcommand_matches("train")
                .expect("the train subcommand's matches");
            train::run(*args, typed)
        }
        Command::Translate(args) => translate::translate(args).map(|_| ExitCode::SUCCESS),
        Command::Eval(args) => quality::eval(args).map(|_| ExitCode::SUCCESS),
        Command::Export(args) => export::export(args).map(|_| ExitCode::SUCCESS),
        Command::ExportDataset(args) => export_dataset::export(args).map(|_| ExitCode::SUCCESS),
        Command::Sample(args) => sample::sample(args).map(|_| ExitCode::SUCCESS),
        Command::Interpolate(args) => sample::interpolate(args).map(|_| ExitCode::SUCCESS),
        Command::Check => check(open_gpu()?),
        Command::Bench { what } => {
            check_bench(&what)?;
            bench(open_gpu()?, what)
        }
    }
}

/// The batch a step benchmark takes by default: 128 for dcgan64 (the figures kept since the
/// first benchmarks), else the preset's training default.
fn bench_batch(preset: webgan::model::presets::Preset) -> u32 {
    match preset {
        webgan::model::presets::Preset::Dcgan64 => 128,
        p => p.default_batch(),
    }
}

/// The configuration `bench train` times for a DCGAN or SAGAN preset: the preset's recipe
/// with `loss` (its defaults), `k` and `r1` when given, at `batch` or [`bench_batch`],
/// conditional on `classes` when not 0.
fn bench_config(
    name: &str,
    batch: Option<u32>,
    loss: Option<webgan::train::GanLoss>,
    k: Option<u32>,
    r1: Option<f32>,
    classes: u32,
) -> webgan::Result<webgan::train::TrainConfig> {
    use webgan::train::TrainConfig;
    let preset = webgan::model::presets::Preset::parse(name)?;
    let defaults = TrainConfig::for_loss(preset, loss.unwrap_or(TrainConfig::new(preset).loss));
    let config = TrainConfig {
        batch: batch.unwrap_or(bench_batch(preset)),
        d_steps: k.unwrap_or(defaults.d_steps),
        r1,
        model: webgan::model::presets::ModelConfig {
            classes,
            ..defaults.model
        },
        ..defaults
    };
    config.check()?;
    config.check_fits()?;
    Ok(config)
}

/// A benchmark's sizes, checked before the GPU is opened: each preset's model at the batch
/// asked for must fit (TrainConfig::check_fits), and counts and times must be sensible.
fn check_bench(what: &BenchWhat) -> webgan::Result<()> {
    use webgan::model::presets::Preset;
    use webgan::train::TrainConfig;
    let invalid = |text: String| Err(webgan::Error::Invalid(text));
    let fits = |name: &str, batch: Option<u32>, allowed: &[&str]| -> webgan::Result<()> {
        if !allowed.contains(&name) {
            return invalid(format!(
                "unknown preset '{name}': choose {}",
                allowed.join(", ")
            ));
        }
        if name == "matmul" || name == "attention" {
            return Ok(());
        }
        let preset = Preset::parse(name)?;
        let config = TrainConfig {
            batch: batch.unwrap_or(bench_batch(preset)),
            ..TrainConfig::new(preset)
        };
        config.check()?;
        config.check_fits()
    };
    match what {
        BenchWhat::Kernels {
            presets,
            batch,
            min_seconds,
            ..
        } => {
            if !(min_seconds.is_finite() && (0.001..=60.0).contains(min_seconds)) {
                return invalid(format!(
                    "--min-seconds must be from 0.001 to 60, not {min_seconds}"
                ));
            }
            let allowed = ["dcgan28", "dcgan64", "matmul", "attention"];
            presets.iter().try_for_each(|p| {
                if ["cyclegan64", "pix2pix64"].contains(&p.as_str()) {
                    match batch {
                        Some(b) if !(1..=64).contains(b) => {
                            invalid(format!("--batch must be from 1 to 64 for {p}, not {b}"))
                        }
                        _ => Ok(()),
                    }
                } else {
                    fits(p, *batch, &allowed)
                }
            })
        }
        BenchWhat::Train {
            presets,
            batch,
            steps,
            loss,
            k,
            r1,
            classes,
        } => {
            if !(1..=10_000).contains(steps) {
                return invalid(format!("--steps must be from 1 to 10000, not {steps}"));
            }
            let loss = loss
                .as_deref()
                .map(webgan::train::GanLoss::parse)
                .transpose()?;
            for p in presets
                .iter()
                .filter(|p| p.starts_with("dcgan") || p.starts_with("sagan"))
            {
                if webgan::model::presets::Preset::parse(p).is_ok() {
                    bench_config(p, *batch, loss, *k, *r1, *classes)?;
                }
            }
            let allowed = ["dcgan28", "dcgan32", "dcgan64", "sagan32", "sagan64"];
            presets.iter().try_for_each(|p| {
                if p.starts_with("dcgan") || p.starts_with("sagan") {
                    fits(p, *batch, &allowed)
                } else {
                    bench::image_to_image_run(p).map(|_| ())
                }
            })
        }
        BenchWhat::Step {
            preset,
            batch,
            reps,
        } => {
            if !(1..=1000).contains(reps) {
                return invalid(format!("--reps must be from 1 to 1000, not {reps}"));
            }
            if preset.starts_with("dcgan") {
                fits(preset, Some(*batch), &["dcgan28", "dcgan32", "dcgan64"])
            } else {
                bench::image_to_image_run(preset).map(|_| ())
            }
        }
    }
}

fn check(gpu: Gpu) -> webgan::Result<ExitCode> {
    // Subgroups are off where the device lacks them, refused the lanes probe, or was
    // told so (WEBGAN_SUBGROUPS=off): the GEMMs then load A lane by lane. Of one size, 8
    // lanes, they share B as well.
    let subgroups = match (gpu.subgroups, gpu.subgroup_size) {
        (false, _) => "off".to_string(),
        (true, 0) => "on".to_string(),
        (true, lanes) => format!("on, {lanes} lanes"),
    };
    println!("subgroups: {subgroups}");
    let gpu = std::sync::Arc::new(gpu);
    let mut checks = pollster::block_on(self_check::run(&gpu))?;
    checks.extend(pollster::block_on(self_check::training_step(gpu.clone()))?);
    checks.extend(pollster::block_on(self_check::image_to_image_steps(
        gpu.clone(),
    ))?);
    for c in &checks {
        println!(
            "{:<28} max |gpu − cpu| = {:.2e}  {}",
            c.name,
            c.max_error,
            if c.passed { "ok" } else { "FAILED" }
        );
    }
    Ok(if checks.iter().all(|c| c.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn bench(gpu: Gpu, what: BenchWhat) -> webgan::Result<ExitCode> {
    match what {
        BenchWhat::Kernels {
            presets,
            batch,
            min_seconds,
            entries,
            only,
            cpu_time,
        } => {
            if cpu_time {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                bench::time_by_cpu(cores)?;
                println!("timed by CPU time over {cores} cores");
            }
            if !only.is_empty() && !bench::any_layer_named(&presets, &only) {
                return Err(webgan::Error::Invalid(format!(
                    "--only {}: no layer of {} has such a name (names look like \"G convT 64→1 14→28\" or \"D conv 1→64 28→14\"; `bench kernels` lists them all)",
                    only.join(","),
                    presets.join(", ")
                )));
            }
            println!("adapter: {}\n", gpu.adapter_name());
            println!("| preset | kernel | shape | GFLOP | ms | GFLOP/s |");
            println!("|---|---|---|---:|---:|---:|");
            for preset in presets {
                let preset: &'static str = match preset.as_str() {
                    "dcgan28" => "dcgan28",
                    "dcgan64" => "dcgan64",
                    "cyclegan64" => "cyclegan64",
                    "pix2pix64" => "pix2pix64",
                    "matmul" => "matmul",
                    "attention" => "attention",
                    other => {
                        return Err(webgan::Error::Invalid(format!(
                            "unknown preset {other}: try dcgan28, dcgan64, cyclegan64, pix2pix64, attention or matmul"
                        )))
                    }
                };
                let b = batch.unwrap_or(match preset {
                    "dcgan64" => 128,
                    "cyclegan64" | "pix2pix64" => 1,
                    "attention" => 16,
                    _ => 64,
                });
                bench::kernels(&gpu, preset, b, min_seconds, entries, &only, |t| {
                    println!(
                        "| {} | {} | {} | {:.3} | {:.2} | {:.1} |",
                        t.preset,
                        t.kernel,
                        t.shape,
                        t.gflop,
                        t.ms,
                        t.gflops()
                    );
                    for (entry, ms) in &t.entries {
                        println!("| | ↳ {entry} | | | {ms:.2} | |");
                    }
                })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchWhat::Train {
            presets,
            batch,
            steps,
            loss,
            k,
            r1,
            classes,
        } => {
            println!("adapter: {}\n", gpu.adapter_name());
            println!("| preset | batch | ms/step | images/s |");
            println!("|---|---:|---:|---:|");
            let loss = loss
                .as_deref()
                .map(webgan::train::GanLoss::parse)
                .transpose()?;
            let gpu = std::sync::Arc::new(gpu);
            for name in presets {
                if !name.starts_with("dcgan") && !name.starts_with("sagan") {
                    let (ms, images) = bench::image_to_image(gpu.clone(), &name, steps)?;
                    println!("| {name} | 1 | {ms:.1} | {images:.3} |");
                    continue;
                }
                let config = bench_config(&name, batch, loss, k, r1, classes)?;
                let b = config.batch;
                let (ms, images) = bench::training(gpu.clone(), config, steps)?;
                println!("| {name} | {b} | {ms:.1} | {images:.3} |");
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchWhat::Step {
            preset,
            batch,
            reps,
        } => {
            println!("adapter: {}\n", gpu.adapter_name());
            let gpu = std::sync::Arc::new(gpu);
            let (rows, batch) = if preset.starts_with("dcgan") {
                let p = webgan::model::presets::Preset::parse(&preset)?;
                let trainer = bench::bench_trainer(gpu, p, batch)?;
                (bench::step_breakdown(&trainer, reps), batch)
            } else {
                (bench::image_to_image_breakdown(gpu, &preset, reps)?, 1)
            };
            let total: f64 = rows.iter().map(|r| r.2).sum();
            let dispatches: usize = rows.iter().map(|r| r.1).sum();
            println!("{preset}, batch {batch}: {dispatches} kernels, {total:.0} ms per step timed one by one\n");
            println!("| kernel | runs per step | ms per step | share |");
            println!("|---|---:|---:|---:|");
            for (label, count, ms) in rows {
                println!(
                    "| {label} | {count} | {ms:.1} | {:.1}% |",
                    100.0 * ms / total
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

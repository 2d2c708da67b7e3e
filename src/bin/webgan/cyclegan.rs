//! `webgan train --family cyclegan`: unpaired image-to-image translation (a zip with trainA/
//! and trainB/), with the reference implementation's defaults, writing translation grids,
//! metrics.csv and checkpoints through the shared training loop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::data::{Dataset, ImageSpec, LoadLimits, Unpaired};
use webgan::kernels::optim::AdamConfig;
use webgan::model::Norm;
use webgan::train::recipes::cyclegan::{stat, CycleGan};
use webgan::train::recipes::cyclegan_preview::CycleGanPreview;
use webgan::train::recipes::cyclegan_run::{CycleGanRun, LinearDecay};
use webgan::train::{GpuDataset, Optimizer, Trainer};
use webgan::{Error, Gpu, Result};

use crate::run as run_loop;
use crate::train::TrainArgs;
use crate::translation_run::TranslationRun;

/// Examples of each domain in the translation grid.
const PREVIEW: usize = 4;

/// The side to train at: `--size`, else 128, or smaller when the images are.
pub(crate) fn size_for(args: &TrainArgs, bytes: &[u8]) -> Result<u32> {
    if let Some(size) = args.size {
        return Ok(size);
    }
    let side = webgan::data::survey(bytes, 32)?.largest_side;
    Ok(match side {
        0..=47 => 32,
        48..=95 => 64,
        _ => 128,
    })
}

/// The configuration the flags ask for, for domains of `a` and `b` images.
fn config(
    args: &TrainArgs,
    given: &dyn Fn(&str) -> bool,
    size: u32,
    a: u32,
    b: u32,
) -> Result<CycleGanRun> {
    let mut run = CycleGanRun::new(size, 3, 3);
    let adam = |lr| {
        Optimizer::Adam(AdamConfig {
            lr,
            beta1: args.beta1,
            beta2: args.beta2,
            ..AdamConfig::default()
        })
    };
    run.ngf = args.ngf;
    run.ndf = args.ndf;
    if let Some(n) = args.n_blocks {
        run.n_blocks = n;
    }
    run.n_layers_d = args.n_layers_d;
    run.norm = Norm::parse(args.norm.as_deref().unwrap_or("instance"))?;
    let r = &mut run.recipe;
    r.pool_size = args.pool_size;
    if let Some(load) = args.load_size {
        r.load_size = load;
    }
    r.flip = !args.no_flip;
    // The reference trains CycleGAN one image at a time.
    r.batch = if given("batch") { args.batch } else { 1 };
    r.lambda_a = args.lambda_a;
    r.lambda_b = args.lambda_b;
    r.lambda_identity = args.lambda_identity;
    r.g_optimizer = adam(args.lr_g);
    r.d_optimizer = adam(args.lr_d);
    r.seed = args.seed;
    run.decay = LinearDecay {
        epoch_steps: LinearDecay::epoch_steps(a, b, r.batch),
        n_epochs: args.n_epochs,
        n_epochs_decay: args.n_epochs_decay,
    };
    run.check()?;
    Ok(run)
}

/// Both domains at `load` pixels (cropped to `size` each step), their held-out examples at
/// `size`, as the reference tests at its crop size.
pub(crate) fn load(path: &Path, bytes: &[u8], load: u32, size: u32) -> Result<Unpaired> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("reading {msg} {bar:30} {pos}/{len} images")
            .expect("a valid template"),
    );
    bar.set_message(path.display().to_string());
    let spec = ImageSpec::rgb(load);
    let (mut data, report) = webgan::data::load_unpaired(
        bytes,
        spec,
        spec,
        &LoadLimits::default(),
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    eprintln!("data: {}", report.summary());
    for held_out in [&mut data.held_out_a, &mut data.held_out_b] {
        if let Some(d) = held_out.take() {
            *held_out = Some(d.converted(ImageSpec::rgb(size))?);
        }
    }
    Ok(data)
}

/// Keeps what fits in one GPU binding, saying so.
pub(crate) fn upload(gpu: &Gpu, dataset: &Dataset, domain: &str) -> Result<GpuDataset> {
    let (uploaded, note) = GpuDataset::from_dataset(gpu, dataset, false)?;
    if let Some(note) = note {
        eprintln!("data ({domain}): {note}");
    }
    Ok(uploaded)
}

/// `n` rows of each domain's examples at `size`: its held-out images when it has some, else
/// the first of its training images, resized.
pub(crate) fn examples(
    held_out: &Option<Dataset>,
    train: &Dataset,
    n: usize,
    size: u32,
) -> Result<(Vec<u8>, usize)> {
    let d = match held_out.as_ref().filter(|d| d.count() > 0) {
        Some(d) => d.clone(),
        None => {
            let keep = n.min(train.count());
            let first = Dataset::unconditional(
                train.spec,
                train.pixels[..keep * train.row_len()].to_vec(),
            )?;
            first.converted(ImageSpec::rgb(size))?
        }
    };
    let n = n.min(d.count());
    Ok((d.pixels[..n * d.row_len()].to_vec(), n))
}

pub fn run(
    args: &TrainArgs,
    typed: &clap::ArgMatches,
    resumed: Option<(PathBuf, Vec<u8>)>,
) -> Result<ExitCode> {
    let given = |id: &str| typed.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let Some(path) = args.data.as_deref() else {
        return Err(Error::Invalid(
            "CycleGAN needs --data: a zip with trainA/ and trainB/ folders of images (the two domains to translate between)".into(),
        ));
    };
    let bytes = crate::output::read(path)?;
    let saved = resumed
        .as_ref()
        .map(|(_, ck)| Trainer::<CycleGan>::config_of(ck))
        .transpose()?;
    let size = match &saved {
        Some((_, c)) => c.size,
        None => size_for(args, &bytes)?,
    };
    // Every flag is checked before any image is decoded; a resumed run has its checkpoint's.
    let mut run = match &saved {
        Some((_, c)) => *c,
        None => config(args, &given, size, 1, 1)?,
    };
    let load_side = match &saved {
        Some((_, c)) => c.load_side(),
        None => run.load_side(),
    };
    let data = load(path, &bytes, load_side, size)?;
    let flip = saved
        .as_ref()
        .map_or(run.recipe.flip, |(_, c)| c.recipe.flip);
    if load_side != size || flip {
        eprintln!(
            "data: each step takes a random {size}×{size} crop of the {load_side}×{load_side} images{} (--load-size, --no-flip)",
            if flip { ", flipped left to right at random" } else { "" }
        );
    }
    let (a, b) = (data.a.count() as u32, data.b.count() as u32);
    run.decay.epoch_steps = LinearDecay::epoch_steps(a, b, run.recipe.batch);
    let mut steps = args.steps;
    let config = match &saved {
        Some((ck, c)) => {
            let step = ck.get_int("state.step", &[])?[0].max(0) as u64;
            if step >= steps {
                return Err(Error::Invalid(format!(
                    "the checkpoint is at step {step} already, and --steps counts every step of the run: ask for more (e.g. --steps {})",
                    step + 5000
                )));
            }
            let mut c = *c;
            let fixed = [
                ("size", args.size.is_some_and(|s| s != c.size)),
                ("ngf", args.ngf != c.ngf),
                ("ndf", args.ndf != c.ndf),
                ("n_blocks", args.n_blocks.is_some_and(|n| n != c.n_blocks)),
                ("n_layers_d", args.n_layers_d != c.n_layers_d),
                ("pool_size", args.pool_size != c.recipe.pool_size),
                ("batch", args.batch != c.recipe.batch),
                ("seed", args.seed != c.recipe.seed),
            ];
            crate::train::refuse_changes(&fixed, &given, "only --lr-g, --lr-d and the λ weights")?;
            // Learning rates and loss weights may change; the rest is the checkpoint's.
            for (id, lr, opt) in [
                ("lr_g", args.lr_g, &mut c.recipe.g_optimizer),
                ("lr_d", args.lr_d, &mut c.recipe.d_optimizer),
            ] {
                if given(id) {
                    if let Optimizer::Adam(a) = opt {
                        a.lr = lr;
                    }
                }
            }
            for (id, v, field) in [
                ("lambda_a", args.lambda_a, &mut c.recipe.lambda_a),
                ("lambda_b", args.lambda_b, &mut c.recipe.lambda_b),
                (
                    "lambda_identity",
                    args.lambda_identity,
                    &mut c.recipe.lambda_identity,
                ),
            ] {
                if given(id) {
                    *field = v;
                }
            }
            c
        }
        None => {
            if !given("steps") {
                steps = run.decay.total_steps();
            }
            run
        }
    };
    let decay = config.decay;
    eprintln!(
        "schedule: {} epochs of {} steps at the full learning rate, then {} decaying to zero ({} steps); training to step {steps}",
        decay.n_epochs,
        decay.epoch_steps,
        decay.n_epochs_decay,
        decay.total_steps()
    );
    let gpu = Arc::new(crate::open_gpu()?);
    let what = format!("CycleGAN at {size}×{size}, batch {}", config.recipe.batch);
    let trainer = pollster::block_on(gpu.scoped(&what, || {
        let on_gpu = [upload(&gpu, &data.a, "A")?, upload(&gpu, &data.b, "B")?];
        match &resumed {
            Some((_, ck)) => Trainer::<CycleGan>::continue_with(gpu.clone(), ck, on_gpu, config),
            None => Trainer::<CycleGan>::start(gpu.clone(), config, on_gpu),
        }
    }))?;
    let params = |n: &webgan::graph::program::Net| n.param_count();
    eprintln!(
        "model: CycleGAN {size}×{size}, G_A/G_B ResNet with {} blocks ({} parameters each), D_A/D_B PatchGAN ({} each), batch {}, on {}",
        config.n_blocks,
        params(&trainer.recipe.g_a),
        params(&trainer.recipe.d_a),
        config.recipe.batch,
        gpu.adapter_name()
    );
    let (ex_a, n_a) = examples(&data.held_out_a, &data.a, PREVIEW, size)?;
    let (ex_b, n_b) = examples(&data.held_out_b, &data.b, PREVIEW, size)?;
    let n = n_a.min(n_b);
    let preview = CycleGanPreview::new(&gpu, &trainer.recipe, &ex_a, &ex_b, n as u32)?;
    let batch = trainer.config.recipe.batch;
    let mut session = TranslationRun {
        gpu,
        trainer,
        batch,
        names: &stat::ALL,
        losses: CycleGan::losses,
        message: |s| {
            // stat::ALL's order: D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B.
            format!(
                "D_A {:.3} G_A {:.3} cycle_A {:.3} D_B {:.3} G_B {:.3} cycle_B {:.3}",
                s[0], s[1], s[2], s[4], s[5], s[6]
            )
        },
        grid: Box::new(move |gpu| pollster::block_on(preview.grid(gpu))),
    };
    run_loop::train(
        &mut session,
        run_loop::Schedule {
            out: &args.out,
            steps,
            every: args.every,
            checkpoint_every: args.checkpoint_every,
            saved: resumed.map(|(path, _)| {
                let step = saved.map_or(0, |(ck, _)| {
                    ck.get_int("state.step", &[])
                        .map_or(0, |s| s[0].max(0) as u64)
                });
                (step, path)
            }),
        },
    )
}

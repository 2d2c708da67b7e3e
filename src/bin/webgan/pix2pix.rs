//! `webgan train --family pix2pix`: paired image-to-image translation (A/ and B/ folders, or
//! A and B side by side in train/ and val/), with the reference implementation's defaults,
//! writing input | output | target grids, metrics.csv and checkpoints through the shared loop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::data::{ImageSpec, LoadLimits, Pairs};
use webgan::kernels::optim::AdamConfig;
use webgan::model::Norm;
use webgan::train::recipes::cyclegan_run::LinearDecay;
use webgan::train::recipes::pix2pix::{stat, GanMode, Pix2Pix, Pix2PixRun};
use webgan::train::recipes::pix2pix_preview::Pix2PixPreview;
use webgan::train::{Optimizer, Trainer};
use webgan::{Error, Result};

use crate::cyclegan::{examples, size_for, upload};
use crate::run as run_loop;
use crate::train::TrainArgs;
use crate::translation_run::TranslationRun;

/// Held-out pairs in the grid.
const PREVIEW: usize = 4;

/// The configuration the flags ask for, for `pairs` pairs.
fn config(
    args: &TrainArgs,
    given: &dyn Fn(&str) -> bool,
    size: u32,
    pairs: u32,
) -> Result<Pix2PixRun> {
    let mut run = Pix2PixRun::new(size, 3, 3)?;
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
    run.n_layers_d = args.n_layers_d;
    if let Some(norm) = &args.norm {
        run.norm = Norm::parse(norm)?;
    }
    run.gan_mode = GanMode::parse(&args.gan_mode)?;
    run.lambda_l1 = args.lambda_l1;
    // The reference trains pix2pix one pair at a time.
    run.batch = if given("batch") { args.batch } else { 1 };
    run.g_optimizer = adam(args.lr_g);
    run.d_optimizer = adam(args.lr_d);
    run.seed = args.seed;
    if let Some(load) = args.load_size {
        run.load_size = load;
    }
    run.flip = !args.no_flip;
    run.decay = LinearDecay {
        epoch_steps: LinearDecay::epoch_steps(pairs, pairs, run.batch),
        n_epochs: args.n_epochs,
        n_epochs_decay: args.n_epochs_decay,
    };
    run.check()?;
    Ok(run)
}

/// The side: `--size`, else the largest power of two from 32 to 128 the images hold.
fn power_of_two_size(args: &TrainArgs, bytes: &[u8]) -> Result<u32> {
    if args.size.is_some() {
        return size_for(args, bytes);
    }
    Ok(match size_for(args, bytes)? {
        0..=63 => 32,
        64..=127 => 64,
        _ => 128,
    })
}

/// The pairs at `load` pixels (cropped to `size` each step), the held-out ones at `size`.
pub(crate) fn load(path: &Path, bytes: &[u8], load: u32, size: u32) -> Result<Pairs> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("reading {msg} {bar:30} {pos}/{len} images")
            .expect("a valid template"),
    );
    bar.set_message(path.display().to_string());
    let (mut pairs, report) = webgan::data::load_pairs(
        bytes,
        ImageSpec::rgb(load),
        &LoadLimits::default(),
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    eprintln!("data: {}", report.summary());
    for held_out in [&mut pairs.held_out_a, &mut pairs.held_out_b] {
        if let Some(d) = held_out.take() {
            *held_out = Some(d.converted(ImageSpec::rgb(size))?);
        }
    }
    Ok(pairs)
}

pub fn run(
    args: &TrainArgs,
    typed: &clap::ArgMatches,
    resumed: Option<(PathBuf, Vec<u8>)>,
) -> Result<ExitCode> {
    let given = |id: &str| typed.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let Some(path) = args.data.as_deref() else {
        return Err(Error::Invalid(
            "pix2pix needs --data: a zip of pairs, in A/ and B/ folders with matching names or side by side in train/ and val/".into(),
        ));
    };
    let bytes = crate::output::read(path)?;
    let saved = resumed
        .as_ref()
        .map(|(_, ck)| Trainer::<Pix2Pix>::config_of(ck))
        .transpose()?;
    let size = match &saved {
        Some((_, c)) => c.size,
        None => power_of_two_size(args, &bytes)?,
    };
    // Every flag is checked before any image is decoded; a resumed run has its checkpoint's.
    let run = match &saved {
        Some((_, c)) => *c,
        None => config(args, &given, size, 1)?,
    };
    let (load_side, flip) = match &saved {
        Some((_, c)) => (c.load_side(), c.flip),
        None => (run.load_side(), run.flip),
    };
    let data = load(path, &bytes, load_side, size)?;
    if load_side != size || flip {
        eprintln!(
            "data: each step takes one random {size}×{size} crop of both {load_side}×{load_side} images of a pair{} (--load-size, --no-flip)",
            if flip { ", flipped left to right at random" } else { "" }
        );
    }
    let pairs = data.a.count() as u32;
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
                ("n_layers_d", args.n_layers_d != c.n_layers_d),
                ("gan_mode", args.gan_mode != c.gan_mode.name()),
                ("batch", args.batch != c.batch),
                ("seed", args.seed != c.seed),
            ];
            crate::train::refuse_changes(&fixed, &given, "only --lr-g, --lr-d and --lambda-l1")?;
            for (id, lr, opt) in [
                ("lr_g", args.lr_g, &mut c.g_optimizer),
                ("lr_d", args.lr_d, &mut c.d_optimizer),
            ] {
                if let (true, Optimizer::Adam(a)) = (given(id), opt) {
                    a.lr = lr;
                }
            }
            if given("lambda_l1") {
                c.lambda_l1 = args.lambda_l1;
            }
            c
        }
        None => {
            let mut run = run;
            run.decay.epoch_steps = LinearDecay::epoch_steps(pairs, pairs, run.batch);
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
    let what = format!("pix2pix at {size}×{size}, batch {}", config.batch);
    let trainer = pollster::block_on(gpu.scoped(&what, || {
        let on_gpu = [upload(&gpu, &data.a, "A")?, upload(&gpu, &data.b, "B")?];
        match &resumed {
            Some((_, ck)) => Trainer::<Pix2Pix>::continue_with(gpu.clone(), ck, on_gpu, config),
            None => Trainer::<Pix2Pix>::start(gpu.clone(), config, on_gpu),
        }
    }))?;
    eprintln!(
        "model: pix2pix {size}×{size}, G a U-Net of {} levels ({} parameters), D a PatchGAN ({}), batch {}, on {}",
        config.num_downs,
        trainer.recipe.g.param_count(),
        trainer.recipe.d.param_count(),
        config.batch,
        gpu.adapter_name()
    );
    // Held-out pairs when the zip has some, else the first training pairs.
    let (ex_a, n) = examples(&data.held_out_a, &data.a, PREVIEW, size)?;
    let (ex_b, _) = examples(&data.held_out_b, &data.b, PREVIEW, size)?;
    let preview = Pix2PixPreview::new(&gpu, &trainer.recipe, &ex_a, &ex_b, n as u32)?;
    let resumed_at = saved.as_ref().map_or(0, |(ck, _)| {
        ck.get_int("state.step", &[])
            .map_or(0, |s| s[0].max(0) as u64)
    });
    let batch = trainer.config.batch;
    let mut session = TranslationRun {
        gpu,
        trainer,
        batch,
        names: &stat::ALL,
        losses: Pix2Pix::losses,
        // stat::ALL's order: G_GAN, G_L1, D_real, D_fake.
        message: |s| {
            format!(
                "G_GAN {:.3} G_L1 {:.3} D_real {:.3} D_fake {:.3}",
                s[0], s[1], s[2], s[3]
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
            saved: resumed.map(|(path, _)| (resumed_at, path)),
        },
    )
}

//! `webgan train`: trains on a zip of images (or the built-in digits), writing sample grids,
//! a metrics.csv and checkpoints as it goes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::data::{Dataset, ImageSpec};
use webgan::kernels::optim::{AdamConfig, SgdConfig};
use webgan::model::infogan::Codes;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::quality::evaluate::{QualityMeter, MIN_REAL_IMAGES};
use webgan::train::{
    sample, Augmentations, GanLoss, GpuDataset, Optimizer, Prior, TrainConfig, Trainer,
};
use webgan::{Error, Gpu, Result};

use crate::quality;
use crate::run as run_loop;

#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// A zip of images: flat, or one top-level folder per class (DCGAN); trainA/ and trainB/
    /// folders (CycleGAN); pairs in A/ and B/, or side by side in train/ and val/ (pix2pix).
    /// Default: the built-in digits.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// dcgan (conditional when the zip has class folders), infogan (learns codes without
    /// labels: --preset infogan28), cyclegan (unpaired translation between trainA/ and
    /// trainB/) or pix2pix (paired translation A → B). Default: what the zip's layout suggests.
    #[arg(long)]
    pub family: Option<String>,
    /// dcgan28 (28×28 gray), dcgan32 (32×32 RGB), dcgan64 (PyTorch's examples/dcgan), sagan32,
    /// sagan64 (self-attention, spectral norm) or infogan28 (InfoGAN's MNIST model).
    #[arg(long)]
    pub preset: Option<String>,
    /// Alternating steps to train to (in all, counting those of a resumed checkpoint).
    #[arg(long, default_value_t = 5000)]
    pub steps: u64,
    /// Where samples, metrics.csv and checkpoints go.
    #[arg(long, default_value = "webgan-run")]
    pub out: PathBuf,
    /// Continue from a checkpoint written by `webgan train` (or the page).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Images per step [default: 64; sagan64 32, infogan28 128, pix2pix and CycleGAN 1].
    #[arg(long, default_value_t = 64, hide_default_value = true)]
    pub batch: u32,
    /// Discriminator updates per generator update [default: 1; wgan-gp 5].
    #[arg(long, default_value_t = 1, hide_default_value = true)]
    pub k: u32,
    /// bce (non-saturating), minimax, wgan (with weight clipping), wgan-gp (with the gradient
    /// penalty: k 5, Adam 1e-4 with β 0/0.9, D without batch norm) or hinge [default: bce;
    /// the sagan presets hinge].
    #[arg(long, default_value = "bce", hide_default_value = true)]
    pub loss: String,
    /// WGAN-GP's penalty weight λ on (‖∇D(x̂)‖ − 1)².
    #[arg(long, default_value_t = 10.0)]
    pub lambda_gp: f32,
    /// R1's weight γ: γ/2·‖∇D(x)‖² on the real batch each D step (D is then built without
    /// batch norm); for the bce, minimax and hinge losses.
    #[arg(long)]
    pub r1: Option<f32>,
    /// Lazy R1 (as StyleGAN2): the penalty in every this-many-th D update only, its weight
    /// multiplied by as much (16 is StyleGAN2's).
    #[arg(long, default_value_t = 1)]
    pub r1_every: u32,
    /// adam or sgd (with momentum), for both networks.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// D's learning rate [default: 2e-4; the sagan presets 4e-4].
    #[arg(long, default_value_t = 2e-4, hide_default_value = true)]
    pub lr_d: f32,
    /// G's learning rate [default: 2e-4; the sagan presets 1e-4, infogan28 1e-3].
    #[arg(long, default_value_t = 2e-4, hide_default_value = true)]
    pub lr_g: f32,
    /// Adam's β1 [default: 0.5; the sagan presets 0].
    #[arg(long, default_value_t = 0.5, hide_default_value = true)]
    pub beta1: f32,
    /// Adam's β2 [default: 0.999; the sagan presets 0.9].
    #[arg(long, default_value_t = 0.999, hide_default_value = true)]
    pub beta2: f32,
    /// SGD's momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// One-sided label smoothing: real targets become 1 − this.
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// WGAN's weight clipping bound.
    #[arg(long, default_value_t = 0.01)]
    pub clip: f32,
    /// Keep a moving average of G's weights with this β (e.g. 0.999) and draw samples,
    /// quality measures and `webgan sample` from it
    #[arg(long)]
    pub ema: Option<f32>,
    /// DiffAugment: augment every image D sees, real and fake, with these (the paper's
    /// "color,translation,cutout"; "none" for none); helps D on small datasets. A resumed run
    /// may change it
    #[arg(long, default_value = "none")]
    pub augment: String,
    /// The noise's size [default: 100; the sagan presets 128, infogan28 62].
    #[arg(long, default_value_t = 100, hide_default_value = true)]
    pub nz: u32,
    #[arg(long, default_value_t = 64)]
    pub ngf: u32,
    #[arg(long, default_value_t = 64)]
    pub ndf: u32,
    /// normal or uniform (in (−1, 1)) [default: normal; infogan28 uniform].
    #[arg(long, default_value = "normal", hide_default_value = true)]
    pub prior: String,
    /// InfoGAN: values of its categorical code (0 for none).
    #[arg(long, default_value_t = 10)]
    pub categorical: u32,
    /// InfoGAN: continuous codes, each uniform in (−1, 1).
    #[arg(long, default_value_t = 2)]
    pub continuous: u32,
    /// InfoGAN: weight λ of the mutual-information term in G's and D's losses.
    #[arg(long, default_value_t = 1.0)]
    pub info_reg_coeff: f32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Train an unconditional GAN even when the dataset has classes.
    #[arg(long)]
    pub unconditional: bool,
    /// Read stats, append to metrics.csv and write a sample grid every this many steps (0:
    /// only with checkpoints and at the end).
    #[arg(long, default_value_t = 100)]
    pub every: u64,
    /// Measure the Fréchet distance to the data every this many steps (0: never). The first
    /// measurement trains a small classifier on the dataset.
    #[arg(long, default_value_t = 1000)]
    pub quality_every: u64,
    /// Write the checkpoint every this many steps (0: only at the end). It is always written
    /// at the end, and when Ctrl-C stops the run.
    #[arg(long, default_value_t = 1000)]
    pub checkpoint_every: u64,
    /// Start a new run even where --out holds another run's checkpoint, replacing it.
    #[arg(long)]
    pub overwrite: bool,
    /// CycleGAN and pix2pix: the side the networks take (CycleGAN: a multiple of 4; pix2pix: a
    /// power of two from 32; default 128, or less for smaller images).
    #[arg(long)]
    pub size: Option<u32>,
    /// CycleGAN and pix2pix: the side images are loaded at, each step cropping a random --size square
    /// from them (default 286/256 of --size, as the reference's 286 for 256).
    #[arg(long)]
    pub load_size: Option<u32>,
    /// CycleGAN and pix2pix: no random left-right flips of the training images.
    #[arg(long)]
    pub no_flip: bool,
    /// pix2pix: weight of the L1 loss between G(A) and B.
    #[arg(long, default_value_t = 100.0)]
    pub lambda_l1: f32,
    /// pix2pix: vanilla (BCE, the paper's) or lsgan.
    #[arg(long, default_value = "vanilla")]
    pub gan_mode: String,
    /// CycleGAN: residual blocks per generator (default 6 below 256 pixels, 9 from 256).
    #[arg(long)]
    pub n_blocks: Option<u32>,
    /// CycleGAN and pix2pix: layers of the PatchGAN discriminators (3: 70×70 patches).
    #[arg(long, default_value_t = 3)]
    pub n_layers_d: u32,
    /// CycleGAN and pix2pix: instance or batch normalisation (default: CycleGAN instance,
    /// pix2pix batch, as the reference trains them).
    #[arg(long)]
    pub norm: Option<String>,
    /// CycleGAN: past fakes each discriminator also sees (0: none).
    #[arg(long, default_value_t = 50)]
    pub pool_size: u32,
    /// CycleGAN: weight of the cycle loss A → B → A.
    #[arg(long, default_value_t = 10.0)]
    pub lambda_a: f32,
    /// CycleGAN: weight of the cycle loss B → A → B.
    #[arg(long, default_value_t = 10.0)]
    pub lambda_b: f32,
    /// CycleGAN: weight of the identity loss, relative to the cycle's (0 for none).
    #[arg(long, default_value_t = 0.5)]
    pub lambda_identity: f32,
    /// CycleGAN and pix2pix: epochs at the full learning rate (an epoch: every pair, or the
    /// larger domain, once).
    #[arg(long, default_value_t = 100)]
    pub n_epochs: u32,
    /// CycleGAN and pix2pix: epochs over which the learning rate then falls linearly to zero. Without
    /// --steps, training runs both schedules to the end.
    #[arg(long, default_value_t = 100)]
    pub n_epochs_decay: u32,
}

/// The bytes of the zip at `path`.
fn read_zip(path: &Path) -> Result<Vec<u8>> {
    crate::output::read(path)
}

/// The zip at `path`, or the built-in digits, fitted to `preset`.
pub fn dataset_for(path: Option<&Path>, preset: Preset) -> Result<Dataset> {
    match path {
        Some(path) => dataset_from(Some((path, &read_zip(path)?)), preset),
        None => dataset_from(None, preset),
    }
}

/// The zip (its path and bytes), or the built-in digits, fitted to `preset`.
fn dataset_from(zip: Option<(&Path, &[u8])>, preset: Preset) -> Result<Dataset> {
    let spec = ImageSpec {
        size: preset.image_size(),
        channels: preset.default_channels(),
    };
    let Some((path, bytes)) = zip else {
        let digits = webgan::data::builtin_digits()?;
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
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("reading {msg} {bar:30} {pos}/{len} entries")
            .expect("a valid template"),
    );
    bar.set_message(path.display().to_string());
    let (dataset, report) = webgan::data::load_zip(bytes, spec, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    eprintln!("data: {}", report.summary());
    Ok(dataset)
}

/// The preset that fits a zip's images, as the page chooses it, said with its reason.
pub fn preset_for(path: &Path, bytes: &[u8]) -> Result<Preset> {
    let survey = webgan::data::survey(bytes, 32)?;
    let preset = survey.preset();
    let size = preset.image_size();
    let (kind, model) = match (survey.gray, preset.default_channels()) {
        (true, 1) => ("gray", "gray"),
        (true, _) => ("gray", "RGB"),
        (false, _) => ("colour", "RGB"),
    };
    eprintln!(
        "data: {} holds {kind} images up to {side}×{side} (after a centre crop) → {} ({size}×{size} {model}); --preset chooses another",
        path.display(),
        preset.name(),
        side = survey.largest_side,
    );
    Ok(preset)
}

/// The run's configuration: each flag as typed, or else the preset's recipe default (SAGAN's
/// presets have their own loss, learning rates, betas, batch and z size).
fn config(
    args: &TrainArgs,
    typed: &clap::ArgMatches,
    preset: Preset,
    classes: u32,
) -> Result<TrainConfig> {
    let given = |id: &str| typed.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let loss = if given("loss") {
        GanLoss::parse(&args.loss)?
    } else {
        TrainConfig::new(preset).loss
    };
    let defaults = TrainConfig::for_loss(preset, loss);
    let (beta1, beta2, _) = hyper(&defaults.d_optimizer);
    let or = |id: &str, typed: f32, default: f32| if given(id) { typed } else { default };
    let optimizer = |lr| -> Result<Optimizer> {
        match args.optimizer.as_str() {
            "adam" => Ok(Optimizer::Adam(AdamConfig {
                lr,
                beta1: or("beta1", args.beta1, beta1),
                beta2: or("beta2", args.beta2, beta2),
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
            nz: if given("nz") {
                args.nz
            } else {
                defaults.model.nz
            },
            ngf: args.ngf,
            ndf: args.ndf,
            channels: preset.default_channels(),
            classes,
            codes: if preset.is_infogan() {
                Codes {
                    categorical: args.categorical,
                    continuous: args.continuous,
                }
            } else {
                Codes::NONE
            },
        },
        batch: if given("batch") {
            args.batch
        } else {
            defaults.batch
        },
        d_steps: if given("k") { args.k } else { defaults.d_steps },
        loss,
        label_smoothing: args.label_smoothing,
        d_optimizer: optimizer(or("lr_d", args.lr_d, defaults.d_optimizer.lr()))?,
        g_optimizer: optimizer(or("lr_g", args.lr_g, defaults.g_optimizer.lr()))?,
        prior: match (given("prior"), args.prior.as_str()) {
            (false, _) => defaults.prior,
            (true, "normal") => Prior::Normal,
            (true, "uniform") => Prior::Uniform,
            (true, other) => {
                return Err(Error::Invalid(format!(
                    "unknown prior '{other}': choose normal or uniform"
                )))
            }
        },
        clip: args.clip,
        seed: args.seed,
        ema: args.ema,
        augment: Augmentations::parse(&args.augment)?,
        lambda_gp: args.lambda_gp,
        r1: args.r1,
        r1_every: args.r1_every,
        info_reg_coeff: args.info_reg_coeff,
    };
    for flag in ["categorical", "continuous", "info_reg_coeff"] {
        if given(flag) && !preset.is_infogan() {
            return Err(Error::Invalid(format!(
                "--{} is InfoGAN's: train with --preset infogan28 (or --family infogan)",
                flag.replace('_', "-")
            )));
        }
    }
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

/// A checkpoint to continue from: its bytes, configuration and step.
struct Resumed {
    path: PathBuf,
    bytes: Vec<u8>,
    config: TrainConfig,
    step: u64,
}

fn resumed(path: &Path, steps: u64) -> Result<Resumed> {
    let bytes = crate::output::read(path)?;
    let (ck, config) = Trainer::checkpoint_config(&bytes)?;
    let step = ck.get_int("state.step", &[])?[0].max(0) as u64;
    if step >= steps {
        return Err(Error::Invalid(format!(
            "{} is at step {step} already, and --steps counts every step of the run: ask for more (e.g. --steps {})",
            path.display(),
            step + 5000
        )));
    }
    Ok(Resumed {
        path: path.to_path_buf(),
        bytes,
        config,
        step,
    })
}

/// Refuses to start a new run over another run's checkpoint: that would lose it.
fn check_out(args: &TrainArgs, resumed: Option<&Path>) -> Result<()> {
    let existing = args.out.join("checkpoint.safetensors");
    if !existing.exists() || args.overwrite {
        return Ok(());
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if resumed.is_some_and(|r| same(r, &existing)) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{} already holds a run's checkpoint: continue it with --resume {}, choose another --out, or pass --overwrite to replace it",
        args.out.display(),
        existing.display()
    )))
}

/// (β1, β2, momentum) of an optimizer; 0 where it has none.
fn hyper(o: &Optimizer) -> (f32, f32, f32) {
    match o {
        Optimizer::Adam(a) => (a.beta1, a.beta2, 0.0),
        Optimizer::Sgd(s) => (0.0, 0.0, s.momentum),
    }
}

/// The flags a resumed run may change: the learning rates and label smoothing (the way out of
/// a diverging run). Every other setting is the checkpoint's.
fn resumed_config(args: &TrainArgs, typed: &clap::ArgMatches, r: &Resumed) -> Result<TrainConfig> {
    let given = |id: &str| typed.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let mut c = r.config;
    let asked = config(args, typed, c.model.preset, c.model.classes)?;
    let fixed = [
        ("batch", asked.batch != c.batch),
        ("k", asked.d_steps != c.d_steps),
        ("loss", asked.loss != c.loss),
        ("nz", asked.model.nz != c.model.nz),
        ("ngf", asked.model.ngf != c.model.ngf),
        ("ndf", asked.model.ndf != c.model.ndf),
        ("prior", asked.prior != c.prior),
        ("seed", asked.seed != c.seed),
        ("clip", asked.clip != c.clip),
        ("lambda_gp", asked.lambda_gp != c.lambda_gp),
        ("r1", asked.r1 != c.r1),
        ("r1_every", asked.r1_every != c.r1_every),
        ("ema", asked.ema != c.ema),
        (
            "categorical",
            asked.model.codes.categorical != c.model.codes.categorical,
        ),
        (
            "continuous",
            asked.model.codes.continuous != c.model.codes.continuous,
        ),
        ("info_reg_coeff", asked.info_reg_coeff != c.info_reg_coeff),
        ("unconditional", args.unconditional && c.model.classes > 0),
        (
            "optimizer",
            std::mem::discriminant(&asked.d_optimizer) != std::mem::discriminant(&c.d_optimizer),
        ),
        (
            "beta1",
            hyper(&asked.d_optimizer).0 != hyper(&c.d_optimizer).0,
        ),
        (
            "beta2",
            hyper(&asked.d_optimizer).1 != hyper(&c.d_optimizer).1,
        ),
        (
            "momentum",
            hyper(&asked.d_optimizer).2 != hyper(&c.d_optimizer).2,
        ),
    ];
    if let Some((id, _)) = fixed.iter().find(|(id, differs)| given(id) && *differs) {
        return Err(Error::Invalid(format!(
            "--{} cannot change when resuming: {} keeps its model and recipe (only --lr-d, --lr-g, --label-smoothing and --augment can)",
            id.replace('_', "-"),
            r.path.display()
        )));
    }
    for (id, who, optimizer, lr) in [
        ("lr_d", "D", &mut c.d_optimizer, args.lr_d),
        ("lr_g", "G", &mut c.g_optimizer, args.lr_g),
    ] {
        if given(id) {
            eprintln!("resume: {who}'s learning rate {} → {lr}", optimizer.lr());
            match optimizer {
                Optimizer::Adam(a) => a.lr = lr,
                Optimizer::Sgd(s) => s.lr = lr,
            }
        }
    }
    if given("augment") {
        let augment = Augmentations::parse(&args.augment)?;
        eprintln!(
            "resume: augmentation \"{}\" → \"{}\"",
            c.augment.name(),
            augment.name()
        );
        c.augment = augment;
    }
    if given("label_smoothing") {
        eprintln!(
            "resume: label smoothing {} → {}",
            c.label_smoothing, args.label_smoothing
        );
        c.label_smoothing = args.label_smoothing;
    }
    c.check()?;
    Ok(c)
}

/// The flags that belong to some families only, with those families: typed for another
/// family's run, they are refused rather than silently ignored.
const FAMILY_FLAGS: [(&str, &[&str]); 33] = [
    ("r1_every", &["dcgan"]),
    ("preset", &["dcgan"]),
    ("categorical", &["dcgan"]),
    ("continuous", &["dcgan"]),
    ("info_reg_coeff", &["dcgan"]),
    ("k", &["dcgan"]),
    ("loss", &["dcgan"]),
    ("optimizer", &["dcgan"]),
    ("momentum", &["dcgan"]),
    ("label_smoothing", &["dcgan"]),
    ("clip", &["dcgan"]),
    ("lambda_gp", &["dcgan"]),
    ("r1", &["dcgan"]),
    ("ema", &["dcgan"]),
    ("augment", &["dcgan"]),
    ("nz", &["dcgan"]),
    ("prior", &["dcgan"]),
    ("unconditional", &["dcgan"]),
    ("quality_every", &["dcgan"]),
    ("size", &["cyclegan", "pix2pix"]),
    ("load_size", &["cyclegan", "pix2pix"]),
    ("no_flip", &["cyclegan", "pix2pix"]),
    ("n_layers_d", &["cyclegan", "pix2pix"]),
    ("norm", &["cyclegan", "pix2pix"]),
    ("n_epochs", &["cyclegan", "pix2pix"]),
    ("n_epochs_decay", &["cyclegan", "pix2pix"]),
    ("n_blocks", &["cyclegan"]),
    ("pool_size", &["cyclegan"]),
    ("lambda_a", &["cyclegan"]),
    ("lambda_b", &["cyclegan"]),
    ("lambda_identity", &["cyclegan"]),
    ("lambda_l1", &["pix2pix"]),
    ("gan_mode", &["pix2pix"]),
];

/// Refuses a flag typed for a family it does not belong to.
fn check_family_flags(family: &str, typed: &clap::ArgMatches) -> Result<()> {
    let given = |id: &str| typed.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    for (id, families) in FAMILY_FLAGS {
        if given(id) && !families.contains(&family) {
            return Err(Error::Invalid(format!(
                "--{} is {} option, and {family} has no use for it",
                id.replace('_', "-"),
                match families {
                    [one] => format!("a {one}"),
                    _ => format!("a {}", families.join(" and ")),
                }
            )));
        }
    }
    Ok(())
}

/// The family to train: a resumed checkpoint's, else `--family`, else what the zip's layout
/// suggests (said with its reason), else DCGAN.
fn family(args: &TrainArgs, resumed: Option<&[u8]>) -> Result<String> {
    if let Some(ck) = resumed {
        let family = webgan::train::checkpoint_family(ck)?;
        if let Some(asked) = args.family.as_deref().filter(|f| *f != family) {
            return Err(Error::Checkpoint(format!(
                "the checkpoint holds a {family} run, not {asked}"
            )));
        }
        return Ok(family);
    }
    match (args.family.as_deref(), args.data.as_deref()) {
        (Some(f @ ("dcgan" | "cyclegan" | "pix2pix")), _) => Ok(f.to_string()),
        // InfoGAN is trained by DCGAN's alternating recipe with its own networks and loss term.
        (Some("infogan"), _) => Ok("dcgan".into()),
        (Some(other), _) => Err(Error::Invalid(format!(
            "unknown family '{other}': choose dcgan, infogan, cyclegan or pix2pix"
        ))),
        (None, Some(path)) => {
            let layout = webgan::data::layout_of(&read_zip(path)?)?;
            use webgan::data::ZipLayout;
            let (family, what) = match layout {
                ZipLayout::Unpaired { .. } => {
                    ("cyclegan", "two domains (trainA/, trainB/) → CycleGAN")
                }
                ZipLayout::PairedFolders { .. } => ("pix2pix", "pairs (A/, B/) → pix2pix"),
                ZipLayout::SideBySide { .. } => {
                    ("pix2pix", "pairs side by side (train/, val/) → pix2pix")
                }
                _ => return Ok("dcgan".into()),
            };
            eprintln!(
                "data: {} holds {what}; --family chooses another",
                path.display()
            );
            Ok(family.into())
        }
        (None, None) => Ok("dcgan".into()),
    }
}

pub fn run(args: TrainArgs, typed: &clap::ArgMatches) -> Result<ExitCode> {
    if args.steps == 0 {
        return Err(Error::Invalid(
            "--steps 0 trains nothing: give the number of steps to train to, e.g. --steps 5000"
                .into(),
        ));
    }
    let resumed_bytes = args
        .resume
        .as_deref()
        .map(|p| crate::output::read(p).map(|b| (p.to_path_buf(), b)))
        .transpose()?;
    let family = family(&args, resumed_bytes.as_ref().map(|(_, b)| b.as_slice()))?;
    check_family_flags(&family, typed)?;
    if family != "dcgan" {
        check_out(&args, resumed_bytes.as_ref().map(|(p, _)| p.as_path()))?;
        return match family.as_str() {
            "cyclegan" => crate::cyclegan::run(&args, typed, resumed_bytes),
            _ => crate::pix2pix::run(&args, typed, resumed_bytes),
        };
    }
    let resumed = args
        .resume
        .as_deref()
        .map(|p| resumed(p, args.steps))
        .transpose()?;
    check_out(&args, resumed.as_ref().map(|r| r.path.as_path()))?;
    if resumed.is_none() {
        // Every flag is checked before any data is read; the model's sizes once it is known.
        let early = match (args.family.as_deref(), &args.preset) {
            (Some("infogan"), _) => Preset::Infogan28,
            (_, Some(p)) => Preset::parse(p)?,
            _ => Preset::Dcgan28,
        };
        config(&args, typed, early, 0)?;
    }
    if let (Some(r), Some(p)) = (&resumed, &args.preset) {
        if Preset::parse(p)? != r.config.model.preset {
            return Err(Error::Checkpoint(format!(
                "{} holds a {} model, not {p}",
                r.path.display(),
                r.config.model.preset.name()
            )));
        }
    }
    let zip = args
        .data
        .as_deref()
        .map(|p| read_zip(p).map(|bytes| (p, bytes)))
        .transpose()?;
    let infogan = args.family.as_deref() == Some("infogan");
    let preset = match (&resumed, &args.preset, &zip) {
        (Some(r), _, _) => r.config.model.preset,
        (None, Some(p), _) => {
            let preset = Preset::parse(p)?;
            if infogan && !preset.is_infogan() {
                return Err(Error::Invalid(format!(
                    "InfoGAN's model is infogan28, not {p}: leave --preset out or choose infogan28"
                )));
            }
            preset
        }
        (None, None, _) if infogan => Preset::Infogan28,
        (None, None, Some((path, bytes))) => preset_for(path, bytes)?,
        (None, None, None) => Preset::Dcgan28,
    };
    let dataset = dataset_from(zip.as_ref().map(|(p, b)| (*p, b.as_slice())), preset)?;
    let data_name = args
        .data
        .as_deref()
        .map_or("the built-in digits".into(), |p| p.display().to_string());
    let config = match &resumed {
        Some(r) => {
            let classes = r.config.model.classes as usize;
            if classes > 0 && dataset.class_count() != classes {
                return Err(Error::Invalid(format!(
                    "{} is conditional on {classes} classes and {data_name} has {}: resume on a zip with the same {classes} class folders",
                    r.path.display(),
                    match dataset.class_count() {
                        0 => "none (no class folders)".to_string(),
                        n => n.to_string(),
                    }
                )));
            }
            resumed_config(&args, typed, r)?
        }
        None => {
            if preset.is_infogan() && dataset.is_conditional() {
                eprintln!("data: InfoGAN learns its codes without the class labels");
            }
            let conditional =
                dataset.is_conditional() && !args.unconditional && !preset.is_infogan();
            let classes = if conditional {
                dataset.class_count() as u32
            } else {
                0
            };
            let c = config(&args, typed, preset, classes)?;
            c.check_fits()?;
            c
        }
    };
    let gpu = Arc::new(crate::open_gpu()?);
    let what = format!("{} at batch {}", config.model.preset.name(), config.batch);
    let trainer = pollster::block_on(gpu.scoped(&what, || {
        let on_gpu = upload(&gpu, &dataset, config.model.classes > 0)?;
        match &resumed {
            Some(r) => Trainer::resume_with(gpu.clone(), &r.bytes, on_gpu, config),
            None => Trainer::new(gpu.clone(), config, on_gpu),
        }
    }))?;
    let mut quality_every = args.quality_every;
    if quality_every > 0 && dataset.count() < MIN_REAL_IMAGES {
        eprintln!(
            "quality: not measured: the Fréchet distance needs at least {MIN_REAL_IMAGES} images and {data_name} has {}",
            dataset.count()
        );
        quality_every = 0;
    }
    let codes = config.model.codes;
    eprintln!(
        "model: {} ({}), G {} and D {} parameters, batch {}, loss {}, on {}",
        config.model.preset.name(),
        if codes.is_none() {
            format!("{} classes", config.model.classes)
        } else {
            format!(
                "codes: one of {} values, {} continuous",
                codes.categorical, codes.continuous
            )
        },
        trainer.g().param_count(),
        trainer.d().param_count(),
        config.batch,
        config.loss.name(),
        gpu.adapter_name()
    );
    let (grid_n, columns, labels) = sample::grid_layout(&config);
    let sampler = trainer.sampler(&trainer.fixed_noise(grid_n), &labels)?;
    let mut run = DcganRun {
        gpu,
        trainer,
        sampler,
        grid: (grid_n, columns),
        dataset: &dataset,
        quality_every,
        meter: None,
    };
    run_loop::train(
        &mut run,
        run_loop::Schedule {
            out: &args.out,
            steps: args.steps,
            every: args.every,
            checkpoint_every: args.checkpoint_every,
            saved: resumed.map(|r| (r.step, r.path)),
        },
    )
}

/// A DCGAN run under way: the trainer, its fixed-noise sampler and its quality measure.
struct DcganRun<'a> {
    gpu: Arc<Gpu>,
    trainer: Trainer,
    sampler: sample::Sampler,
    /// Samples in the grid, and its columns.
    grid: (u32, usize),
    dataset: &'a Dataset,
    quality_every: u64,
    meter: Option<QualityMeter>,
}

impl run_loop::Training for DcganRun<'_> {
    fn step(&self) -> u64 {
        self.trainer.step
    }

    fn batch(&self) -> u32 {
        self.trainer.config.batch
    }

    fn train(&mut self, steps: u32) -> Result<()> {
        self.trainer.train(steps)?;
        let _ = self.gpu.device.poll(wgpu::PollType::wait_indefinitely());
        Ok(())
    }

    fn stat_names(&self) -> Vec<&'static str> {
        let mut names = vec![
            "d_loss",
            "g_loss",
            "d_real",
            "d_fake_before",
            "d_fake_after",
            "accuracy_real",
            "accuracy_fake",
        ];
        if !self.trainer.config.model.codes.is_none() {
            names.extend(["info_categorical", "info_continuous"]);
        }
        names
    }

    fn stats(&self) -> Result<Vec<f32>> {
        let s = pollster::block_on(self.trainer.read_stats())?;
        let mut values = vec![
            s.d_loss,
            s.g_loss,
            s.d_real,
            s.d_fake_before,
            s.d_fake_after,
            s.accuracy_real,
            s.accuracy_fake,
        ];
        if let Some((categorical, continuous)) = s.info {
            values.extend([categorical, continuous]);
        }
        Ok(values)
    }

    fn message(&self, s: &[f32]) -> String {
        let info = match s.get(7..9) {
            Some([categorical, continuous]) => {
                format!(" Q {categorical:.3}/{continuous:.3}")
            }
            _ => String::new(),
        };
        format!(
            "D {:.3} G {:.3} D(x) {:.2} D(G(z)) {:.2}{info}",
            s[0], s[1], s[2], s[4]
        )
    }

    fn preview(&self) -> Result<(u32, u32, Vec<u8>)> {
        let c = &self.trainer.config;
        let images = pollster::block_on(self.sampler.images(&self.gpu))?;
        Ok(sample::grid_rgba(
            &images,
            self.grid.0 as usize,
            c.model.channels as usize,
            c.model.preset.image_size() as usize,
            self.grid.1,
        ))
    }

    fn save(&self) -> Result<Vec<u8>> {
        pollster::block_on(self.trainer.save())
    }

    fn quality_every(&self) -> u64 {
        self.quality_every
    }

    /// The Fréchet distance now, or a note and no more measuring if it cannot be had: the
    /// quality measure never sinks a run.
    fn measure(&mut self, bar: &ProgressBar) -> Option<f64> {
        let result = (|| {
            if self.meter.is_none() {
                let on_gpu = upload(&self.gpu, self.dataset, self.dataset.is_conditional())?;
                self.meter = Some(quality::meter(
                    self.gpu.clone(),
                    self.dataset,
                    &on_gpu,
                    &self.trainer,
                )?);
            }
            let m = self.meter.as_ref().expect("just made");
            pollster::block_on(m.measure(&self.trainer))
        })();
        match result {
            Ok(d) => {
                bar.println(format!(
                    "step {}: Fréchet distance to the data {d:.2}",
                    self.trainer.step
                ));
                Some(d)
            }
            Err(e) => {
                bar.println(format!("quality: not measured from now on: {e}"));
                self.quality_every = 0;
                None
            }
        }
    }

    fn divergence_advice(&self) -> &'static str {
        "a lower learning rate (--lr-d, --lr-g) or --label-smoothing 0.1"
    }
}

/// Refuses a flag typed on resuming that would change what the checkpoint fixes: (flag id,
/// whether its value differs from the checkpoint's); `may` names what can change.
pub fn refuse_changes(
    fixed: &[(&str, bool)],
    given: &dyn Fn(&str) -> bool,
    may: &str,
) -> Result<()> {
    match fixed.iter().find(|(id, differs)| *differs && given(id)) {
        Some((id, _)) => Err(Error::Invalid(format!(
            "--{} cannot change when resuming: the checkpoint keeps its networks and recipe ({may} can)",
            id.replace('_', "-")
        ))),
        None => Ok(()),
    }
}

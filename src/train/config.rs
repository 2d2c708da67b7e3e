//! Everything a training run is configured by, with DCGAN's defaults.

use crate::kernels::augment::{Kind, Policy};
use crate::kernels::loss::Loss;
use crate::kernels::optim::{AdamConfig, SgdConfig};
use crate::model::presets::{ModelConfig, Preset};
use crate::reference::penalty::Penalty;
use crate::{Error, Result};

/// The GAN objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GanLoss {
    /// Binary cross-entropy for D, non-saturating −log D(G(z)) for G: DCGAN's default.
    Bce,
    /// Goodfellow's original minimax: G minimises log(1 − D(G(z))).
    Minimax,
    /// Wasserstein critic with weight clipping (Arjovsky et al. 2017).
    Wgan,
    /// Hinge loss for the critic, −D(G(z)) for G.
    Hinge,
    /// The Wasserstein critic with WGAN-GP's gradient penalty (Gulrajani et al. 2017) in place
    /// of clipping: λ·E[(‖∇D(x̂)‖ − 1)²] on interpolates of real and fake images.
    WganGp,
}

impl GanLoss {
    pub fn parse(name: &str) -> Result<GanLoss> {
        match name {
            "bce" => Ok(GanLoss::Bce),
            "minimax" => Ok(GanLoss::Minimax),
            "wgan" => Ok(GanLoss::Wgan),
            "hinge" => Ok(GanLoss::Hinge),
            "wgan-gp" => Ok(GanLoss::WganGp),
            _ => Err(Error::Invalid(format!(
                "unknown loss '{name}': choose bce, minimax, wgan, wgan-gp or hinge"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GanLoss::Bce => "bce",
            GanLoss::Minimax => "minimax",
            GanLoss::Wgan => "wgan",
            GanLoss::Hinge => "hinge",
            GanLoss::WganGp => "wgan-gp",
        }
    }

    /// The loss kernels of (D on real, D on fake, G through D).
    pub fn kernels(self) -> (Loss, Loss, Loss) {
        match self {
            GanLoss::Bce => (Loss::Bce, Loss::Bce, Loss::NonSaturating),
            GanLoss::Minimax => (Loss::Bce, Loss::Bce, Loss::Minimax),
            GanLoss::Wgan | GanLoss::WganGp => (
                Loss::Linear { sign: -1.0 },
                Loss::Linear { sign: 1.0 },
                Loss::Linear { sign: -1.0 },
            ),
            GanLoss::Hinge => (
                Loss::Hinge { sign: -1.0 },
                Loss::Hinge { sign: 1.0 },
                Loss::Linear { sign: -1.0 },
            ),
        }
    }

    /// Whether D's output is a probability logit (so D(x) is reported as σ(logit)).
    pub fn is_probabilistic(self) -> bool {
        matches!(self, GanLoss::Bce | GanLoss::Minimax)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Adam(AdamConfig),
    Sgd(SgdConfig),
}

impl Optimizer {
    /// DCGAN's Adam: lr 2e-4, β1 0.5, β2 0.999.
    pub fn dcgan() -> Optimizer {
        Optimizer::Adam(AdamConfig {
            lr: 2e-4,
            beta1: 0.5,
            ..AdamConfig::default()
        })
    }

    /// SAGAN's two time-scale Adam (Heusel et al.'s TTUR as Zhang et al. set it): β1 0,
    /// β2 0.9, with D's rate (4e-4) four times G's (1e-4).
    pub fn sagan(lr: f32) -> Optimizer {
        Optimizer::Adam(AdamConfig {
            lr,
            beta1: 0.0,
            beta2: 0.9,
            ..AdamConfig::default()
        })
    }

    /// Refuses what torch.optim refuses; `net` names whose optimizer this is in the message
    /// ("D's learning rate must be …").
    pub fn check(&self, net: &str) -> Result<()> {
        match self {
            Optimizer::Adam(c) => c.check(net),
            Optimizer::Sgd(c) => c.check(net),
        }
    }

    pub fn lr(&self) -> f32 {
        match self {
            Optimizer::Adam(c) => c.lr,
            Optimizer::Sgd(c) => c.lr,
        }
    }
}

/// Where z comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prior {
    Normal,
    /// Uniform in (−1, 1).
    Uniform,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub batch: u32,
    /// Discriminator updates per generator update.
    pub d_steps: u32,
    pub loss: GanLoss,
    /// One-sided label smoothing: real targets are 1 − this (0.1 gives Salimans et al.'s 0.9).
    pub label_smoothing: f32,
    pub d_optimizer: Optimizer,
    pub g_optimizer: Optimizer,
    pub prior: Prior,
    /// WGAN's weight clipping bound c.
    pub clip: f32,
    pub seed: u64,
    /// Keep an exponential moving average of G's weights with this β (e.g. 0.999, as
    /// ProGAN and StyleGAN keep G_ema) and draw samples from it; None: sample G itself.
    pub ema: Option<f32>,
    /// DiffAugment: what every image D sees (real and fake) goes through, on the GPU.
    pub augment: Augmentations,
    /// WGAN-GP's penalty weight λ (the paper's and the SAGAN port's `lambda_gp`, 10), used
    /// with [`GanLoss::WganGp`].
    pub lambda_gp: f32,
    /// R1's weight γ (Mescheder et al. 2018): γ/2·E[‖∇D(x)‖²] on the real batch, each D step;
    /// None: no R1.
    pub r1: Option<f32>,
    /// Lazy R1 (StyleGAN2's lazy regularisation): the penalty in every this-many-th D update
    /// only, its weight multiplied by as much. 1: every D update.
    pub r1_every: u32,
    /// InfoGAN's weight λ of its mutual-information term in both networks' losses (the
    /// reference's `info_reg_coeff`, 1).
    pub info_reg_coeff: f32,
}

/// DiffAugment's policy (Zhao et al. 2020), in order, as a fixed-size list so that a
/// configuration stays `Copy`. Empty: D sees the images as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Augmentations([Option<Kind>; 3]);

impl Augmentations {
    /// The paper's policy for small datasets: color, translation, cutout.
    pub const PAPER: Augmentations = Augmentations([
        Some(Kind::Color),
        Some(Kind::Translation),
        Some(Kind::Cutout),
    ]);

    /// The authors' policy string ("color,translation,cutout"; "" or "none" for none).
    pub fn parse(text: &str) -> Result<Augmentations> {
        if text.trim() == "none" {
            return Ok(Augmentations::default());
        }
        let policy: Policy = text.parse()?;
        let mut kinds = [None; 3];
        for (slot, &kind) in kinds.iter_mut().zip(policy.kinds()) {
            *slot = Some(kind);
        }
        Ok(Augmentations(kinds))
    }

    pub fn kinds(&self) -> Vec<Kind> {
        self.0.iter().flatten().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The policy string, "" for none.
    pub fn name(&self) -> String {
        let names: Vec<&str> = self.kinds().iter().map(|k| k.name()).collect();
        names.join(",")
    }
}

impl TrainConfig {
    /// The preset's recipe: DCGAN's (batch 64, Adam 2e-4 / 0.5 for both nets, BCE, k = 1),
    /// or for the SAGAN presets SAGAN's (hinge loss, [`Optimizer::sagan`] with D at 4e-4 and
    /// G at 1e-4, k = 1, batch [`Preset::default_batch`]), or for InfoGAN its reference's
    /// (BCE, Adam β1 0.5 with D at 2e-4 and G at 1e-3, noise uniform in (−1, 1), batch 128,
    /// λ 1).
    pub fn new(preset: Preset) -> TrainConfig {
        let sagan = preset.is_sagan();
        if preset.is_infogan() {
            return TrainConfig {
                g_optimizer: Optimizer::Adam(AdamConfig {
                    lr: 1e-3,
                    beta1: 0.5,
                    ..AdamConfig::default()
                }),
                prior: Prior::Uniform,
                ..TrainConfig::new(Preset::Dcgan28)
            }
            .with_model(ModelConfig::new(preset));
        }
        TrainConfig {
            model: ModelConfig::new(preset),
            batch: preset.default_batch(),
            d_steps: 1,
            loss: if sagan { GanLoss::Hinge } else { GanLoss::Bce },
            label_smoothing: 0.0,
            d_optimizer: if sagan {
                Optimizer::sagan(4e-4)
            } else {
                Optimizer::dcgan()
            },
            g_optimizer: if sagan {
                Optimizer::sagan(1e-4)
            } else {
                Optimizer::dcgan()
            },
            prior: Prior::Normal,
            clip: 0.01,
            seed: 1,
            ema: None,
            augment: Augmentations::default(),
            lambda_gp: 10.0,
            r1: None,
            r1_every: 1,
            info_reg_coeff: 1.0,
        }
    }

    /// This recipe on `model`, with the batch its preset takes by default.
    fn with_model(self, model: ModelConfig) -> TrainConfig {
        TrainConfig {
            model,
            batch: model.preset.default_batch(),
            ..self
        }
    }

    /// WGAN-GP's recipe on `preset` (Gulrajani et al.'s defaults): the penalised Wasserstein
    /// critic, 5 critic steps per G step, Adam 1e-4 with β1 0 and β2 0.9 for both networks.
    pub fn wgan_gp(preset: Preset) -> TrainConfig {
        let adam = Optimizer::Adam(AdamConfig {
            lr: 1e-4,
            beta1: 0.0,
            beta2: 0.9,
            ..AdamConfig::default()
        });
        TrainConfig {
            loss: GanLoss::WganGp,
            d_steps: 5,
            d_optimizer: adam,
            g_optimizer: adam,
            ..TrainConfig::new(preset)
        }
    }

    /// The defaults of `preset` trained with `loss`: [`TrainConfig::new`]'s, or for WGAN-GP
    /// [`TrainConfig::wgan_gp`]'s.
    pub fn for_loss(preset: Preset, loss: GanLoss) -> TrainConfig {
        match loss {
            GanLoss::WganGp => TrainConfig::wgan_gp(preset),
            _ => TrainConfig {
                loss,
                ..TrainConfig::new(preset)
            },
        }
    }

    /// Whether D's input gradient is penalised (WGAN-GP or R1): D is then built without batch
    /// norm, as the papers' critics are.
    pub fn penalised(&self) -> bool {
        self.penalty().is_some()
    }

    /// The penalty on D's input gradient each D step, with its weight.
    pub fn penalty(&self) -> Option<Penalty> {
        match (self.loss, self.r1) {
            (GanLoss::WganGp, _) => Some(Penalty::Gp {
                lambda: self.lambda_gp as f64,
            }),
            // Lazy: each penalised update stands for `r1_every` of them.
            (_, Some(gamma)) => Some(Penalty::R1 {
                gamma: gamma as f64 * self.r1_every as f64,
            }),
            _ => None,
        }
    }

    pub fn check(&self) -> Result<()> {
        if !(1..=4096).contains(&self.batch) {
            return Err(Error::Invalid(format!(
                "batch must be from 2 to 4096, not {}",
                self.batch
            )));
        }
        if self.batch < 2 {
            return Err(Error::Invalid(
                "batch must be at least 2: batch norm needs two samples for its statistics".into(),
            ));
        }
        if !(1..=100).contains(&self.d_steps) {
            return Err(Error::Invalid(format!(
                "D steps per G step (k) must be from 1 to 100, not {}",
                self.d_steps
            )));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(Error::Invalid(format!(
                "label smoothing must lie in [0, 0.5), not {}",
                self.label_smoothing
            )));
        }
        self.d_optimizer.check("D")?;
        self.g_optimizer.check("G")?;
        if let Some(beta) = self.ema {
            if !(beta > 0.0 && beta < 1.0) {
                return Err(Error::Invalid(format!(
                    "the moving average's β must lie strictly between 0 and 1 (e.g. 0.999), not {beta}"
                )));
            }
        }
        if !(self.lambda_gp.is_finite() && self.lambda_gp >= 0.0) {
            return Err(Error::Invalid(format!(
                "WGAN-GP's penalty weight λ must be a number ≥ 0 (the paper's is 10), not {}",
                self.lambda_gp
            )));
        }
        if self.penalised() && self.model.preset.is_sagan() {
            return Err(Error::Invalid(format!(
                "{} cannot take a gradient penalty yet: its exact gradient is not built through \
                 self-attention's softmax; train it with the hinge loss (its default)",
                self.model.preset.name()
            )));
        }
        if self.model.preset.is_infogan() && self.penalised() {
            return Err(Error::Invalid(
                "InfoGAN cannot take a gradient penalty yet: its critic shares its body with Q; train it with --loss bce (its default)".into(),
            ));
        }
        if !(self.info_reg_coeff.is_finite() && self.info_reg_coeff >= 0.0) {
            return Err(Error::Invalid(format!(
                "InfoGAN's weight λ (--info-reg-coeff) must be a number ≥ 0 (the paper's is 1), not {}",
                self.info_reg_coeff
            )));
        }
        if !(1..=1000).contains(&self.r1_every) {
            return Err(Error::Invalid(format!(
                "--r1-every must be from 1 to 1000 D updates (StyleGAN2's lazy R1 takes 16), not {}",
                self.r1_every
            )));
        }
        if self.r1_every > 1 && self.r1.is_none() {
            return Err(Error::Invalid(
                "--r1-every spaces out R1's penalty: give its weight with --r1 too".into(),
            ));
        }
        if let Some(gamma) = self.r1 {
            if !(gamma.is_finite() && gamma > 0.0) {
                return Err(Error::Invalid(format!(
                    "R1's weight γ must be a positive number (e.g. 10), not {gamma}"
                )));
            }
            if matches!(self.loss, GanLoss::Wgan | GanLoss::WganGp) {
                return Err(Error::Invalid(format!(
                    "R1 penalises the non-saturating and hinge losses, not {}: choose --loss bce or hinge",
                    self.loss.name()
                )));
            }
        }
        if !(self.clip > 0.0 && self.clip.is_finite()) {
            return Err(Error::Invalid(format!(
                "the WGAN clip must be positive, not {}",
                self.clip
            )));
        }
        Ok(())
    }
}

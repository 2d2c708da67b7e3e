//! A CycleGAN run as the trainer, checkpoints and CLI drive it: the reference's networks (two
//! `ResnetGenerator`s, two `NLayerDiscriminator`s) at one image size, its recipe and its
//! learning-rate policy, under the reference's option names and with its defaults
//! (junyanz/pytorch-CycleGAN-and-pix2pix, `options/` and `models/cycle_gan_model.py`).

use serde_json::{json, Value};

use crate::gpu::Gpu;
use crate::kernels::image_pool::MAX_POOL_SIZE;
use crate::kernels::jitter::load_size;
use crate::model::{NLayerDiscriminator, Norm, ResnetGenerator};
use crate::train::config_json::{optimizer_from, optimizer_json, Fields};
use crate::train::fits::largest;
use crate::train::recipes::cyclegan::{jitter_shape, CycleGan, CycleGanConfig, CycleGanNets};
use crate::train::{Family, GpuDataset, MAX_BINDING_BYTES};
use crate::{Error, Result};

/// The reference's `--lr_policy linear`: the rate stays for `n_epochs`, then falls linearly to
/// zero over `n_epochs_decay`, changing once an epoch (epoch i, from 0, trains at
/// 1 − max(0, i + 1 − n_epochs) / (n_epochs_decay + 1) of it, as its LambdaLR gives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearDecay {
    /// Steps in an epoch: the larger domain's images over the batch, as the reference's
    /// dataset length is max(|A|, |B|).
    pub epoch_steps: u64,
    pub n_epochs: u32,
    pub n_epochs_decay: u32,
}

impl LinearDecay {
    /// The reference's 100 epochs at the full rate and 100 decaying.
    pub fn new(epoch_steps: u64) -> LinearDecay {
        LinearDecay {
            epoch_steps,
            n_epochs: 100,
            n_epochs_decay: 100,
        }
    }

    /// Steps in an epoch for domains of `a` and `b` images at `batch`.
    pub fn epoch_steps(a: u32, b: u32, batch: u32) -> u64 {
        (a.max(b) as u64).div_ceil(batch.max(1) as u64).max(1)
    }

    /// The fraction of the base learning rate step `step` (from 0) trains at.
    pub fn factor(&self, step: u64) -> f32 {
        let epoch = step / self.epoch_steps.max(1);
        let over = (epoch + 1).saturating_sub(self.n_epochs as u64);
        (1.0 - over as f64 / (self.n_epochs_decay as f64 + 1.0)).max(0.0) as f32
    }

    /// Steps from `step` to the next epoch, where the rate may change.
    pub fn steps_to_change(&self, step: u64) -> u64 {
        let e = self.epoch_steps.max(1);
        e - step % e
    }

    /// The steps the whole schedule takes: where the rate reaches zero.
    pub fn total_steps(&self) -> u64 {
        self.epoch_steps * (self.n_epochs as u64 + self.n_epochs_decay as u64)
    }
}

/// Everything that rebuilds the same CycleGAN run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CycleGanRun {
    /// Side of the square images the networks take (the reference's crop_size); the datasets
    /// hold them at `recipe.load_size`.
    pub size: u32,
    /// Channels of domain A's and B's images (1 gray, 3 RGB).
    pub input_nc: u32,
    pub output_nc: u32,
    pub ngf: u32,
    pub ndf: u32,
    /// Residual blocks of each generator (`--netG resnet_9blocks` or `resnet_6blocks`).
    pub n_blocks: u32,
    /// `--n_layers_D` of the PatchGAN discriminators (3: the 70×70 PatchGAN).
    pub n_layers_d: u32,
    pub norm: Norm,
    /// The reference trains CycleGAN with `--no_dropout`.
    pub use_dropout: bool,
    pub decay: LinearDecay,
    pub recipe: CycleGanConfig,
}

impl CycleGanRun {
    /// The reference's defaults for `size`×`size` images: loaded at 286/256 of it and randomly
    /// cropped and flipped, ngf = ndf = 64, instance norm, no dropout, a pool of 50, batch 1, λ_A = λ_B = 10, λ_identity 0.5, Adam 2e-4 β1 0.5, 100 + 100
    /// epochs; 9 residual blocks from 256 pixels up and 6 below, as the paper uses them.
    pub fn new(size: u32, input_nc: u32, output_nc: u32) -> CycleGanRun {
        let mut recipe = CycleGanConfig {
            // The reference's resize to 286 and random 256 crop, at any size.
            load_size: load_size(size).min(crate::model::MAX_SIDE),
            ..CycleGanConfig::new()
        };
        // Identity compares G_A(b) with b, which needs one channel count.
        if input_nc != output_nc {
            recipe.lambda_identity = 0.0;
        }
        CycleGanRun {
            size,
            input_nc,
            output_nc,
            ngf: 64,
            ndf: 64,
            n_blocks: if size >= 256 { 9 } else { 6 },
            n_layers_d: 3,
            norm: Norm::Instance,
            use_dropout: false,
            decay: LinearDecay::new(1),
            recipe,
        }
    }

    /// The side the datasets' images are loaded at.
    pub fn load_side(&self) -> u32 {
        match self.recipe.load_size {
            0 => self.size,
            load => load,
        }
    }

    /// The four networks: G_A maps A to B, G_B back, D_A judges B's images and D_B A's.
    pub fn nets(&self) -> Result<CycleGanNets> {
        let generator = |input_nc, output_nc| ResnetGenerator {
            input_nc,
            output_nc,
            ngf: self.ngf,
            norm: self.norm,
            use_dropout: self.use_dropout,
            n_blocks: self.n_blocks,
        };
        let discriminator = |input_nc| NLayerDiscriminator {
            input_nc,
            ndf: self.ndf,
            n_layers: self.n_layers_d,
            norm: self.norm,
        };
        let s = self.size;
        Ok(CycleGanNets {
            g_a: generator(self.input_nc, self.output_nc).build(s, s)?,
            g_b: generator(self.output_nc, self.input_nc).build(s, s)?,
            d_a: discriminator(self.output_nc).build(s, s)?,
            d_b: discriminator(self.input_nc).build(s, s)?,
        })
    }

    /// Refuses a run before anything is allocated: every size bounded, every buffer within
    /// one GPU binding.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str, v: u64, max: u64, min: u64| {
            (!(min..=max).contains(&v)).then(|| {
                Error::Invalid(format!(
                    "CycleGAN's {what} must be from {min} to {max}, not {v}"
                ))
            })
        };
        let d = &self.decay;
        let side = crate::model::MAX_SIDE as u64;
        if let Some(e) = bad("image size", self.size as u64, side, 8)
            .or_else(|| bad("batch", self.recipe.batch as u64, 64, 1))
            .or_else(|| {
                bad(
                    "pool size",
                    self.recipe.pool_size as u64,
                    MAX_POOL_SIZE as u64,
                    0,
                )
            })
            .or_else(|| bad("n_epochs", d.n_epochs as u64, 100_000, 0))
            .or_else(|| bad("n_epochs_decay", d.n_epochs_decay as u64, 100_000, 0))
            .or_else(|| bad("steps per epoch", d.epoch_steps, 1 << 32, 1))
        {
            return Err(e);
        }
        if self.input_nc != 1 && self.input_nc != 3 || self.output_nc != 1 && self.output_nc != 3 {
            return Err(Error::Invalid(format!(
                "CycleGAN's images have 1 channel (gray) or 3 (RGB), not {} and {}",
                self.input_nc, self.output_nc
            )));
        }
        let load = self.recipe.load_size;
        if load != 0 && !(self.size..=crate::model::MAX_SIDE).contains(&load) {
            return Err(Error::Invalid(format!(
                "CycleGAN's load size must lie between the image size {} and {}, not {load}",
                self.size,
                crate::model::MAX_SIDE
            )));
        }
        let nets = self.nets()?;
        let batch = self.recipe.batch as u64;
        for (net, who) in [
            (&nets.g_a, "G_A"),
            (&nets.g_b, "G_B"),
            (&nets.d_a, "D_A"),
            (&nets.d_b, "D_B"),
        ] {
            let (bytes, what) = largest(net, batch);
            if bytes > MAX_BINDING_BYTES as u64 {
                return Err(Error::Invalid(format!(
                    "CycleGAN at {0}×{0}, width {1} and batch {2} is too large for a GPU: {who}'s {what} would take {3} MiB, and one GPU buffer holds {4} MiB; choose a smaller size, width or batch",
                    self.size,
                    self.ngf.max(self.ndf),
                    self.recipe.batch,
                    bytes >> 20,
                    MAX_BINDING_BYTES >> 20
                )));
            }
        }
        for net in [&nets.g_a, &nets.g_b] {
            jitter_shape(&self.recipe, net.input()).check(MAX_BINDING_BYTES as u64)?;
        }
        // The recipe's own checks (weights, optimizers, identity across channel counts).
        crate::train::recipes::cyclegan::check_config(&self.recipe, &nets)
    }

    pub fn to_json(&self) -> String {
        let r = &self.recipe;
        json!({
            "size": self.size, "input_nc": self.input_nc, "output_nc": self.output_nc,
            "ngf": self.ngf, "ndf": self.ndf, "n_blocks": self.n_blocks,
            "n_layers_D": self.n_layers_d, "norm": self.norm.name(),
            "use_dropout": self.use_dropout, "pool_size": r.pool_size,
            "load_size": r.load_size, "no_flip": !r.flip,
            "epoch_steps": self.decay.epoch_steps, "n_epochs": self.decay.n_epochs,
            "n_epochs_decay": self.decay.n_epochs_decay,
            "batch_size": r.batch, "lambda_A": r.lambda_a, "lambda_B": r.lambda_b,
            "lambda_identity": r.lambda_identity,
            "g_optimizer": optimizer_json(&r.g_optimizer),
            "d_optimizer": optimizer_json(&r.d_optimizer),
            // A string: JSON numbers lose u64 precision in some readers.
            "seed": r.seed.to_string(),
        })
        .to_string()
    }

    pub fn from_json(text: &str) -> Result<CycleGanRun> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::Checkpoint(format!("the configuration is not valid JSON: {e}")))?;
        let f = Fields(&v);
        let flag = |key: &str| {
            f.get(key)?
                .as_bool()
                .ok_or_else(|| Error::Checkpoint(format!("`{key}` is not true or false")))
        };
        let epoch_steps = f
            .get("epoch_steps")?
            .as_u64()
            .ok_or_else(|| Error::Checkpoint("`epoch_steps` is not a whole number".into()))?;
        let run = CycleGanRun {
            size: f.u32("size")?,
            input_nc: f.u32("input_nc")?,
            output_nc: f.u32("output_nc")?,
            ngf: f.u32("ngf")?,
            ndf: f.u32("ndf")?,
            n_blocks: f.u32("n_blocks")?,
            n_layers_d: f.u32("n_layers_D")?,
            norm: Norm::parse(f.str("norm")?)?,
            use_dropout: flag("use_dropout")?,
            decay: LinearDecay {
                epoch_steps,
                n_epochs: f.u32("n_epochs")?,
                n_epochs_decay: f.u32("n_epochs_decay")?,
            },
            recipe: CycleGanConfig {
                batch: f.u32("batch_size")?,
                lambda_a: f.f32("lambda_A")?,
                lambda_b: f.f32("lambda_B")?,
                lambda_identity: f.f32("lambda_identity")?,
                g_optimizer: optimizer_from(f.get("g_optimizer")?)?,
                d_optimizer: optimizer_from(f.get("d_optimizer")?)?,
                seed: f
                    .str("seed")?
                    .parse()
                    .map_err(|_| Error::Checkpoint("`seed` is not a whole number".into()))?,
                pool_size: f.u32("pool_size")?,
                load_size: f.u32("load_size")?,
                flip: !flag("no_flip")?,
            },
        };
        run.check()?;
        Ok(run)
    }
}

impl Family for CycleGan {
    type Config = CycleGanRun;
    /// Domain A's images, then B's.
    type Data = [GpuDataset; 2];
    const NAME: &'static str = "cyclegan";

    fn check(config: &CycleGanRun) -> Result<()> {
        config.check()
    }

    fn build(gpu: &Gpu, run: &CycleGanRun, data: &[GpuDataset; 2]) -> Result<CycleGan> {
        Ok(
            CycleGan::new(gpu, &run.recipe, run.nets()?, [&data[0], &data[1]])?
                .with_decay(run.decay),
        )
    }

    fn config_to_json(config: &CycleGanRun) -> String {
        config.to_json()
    }

    fn config_from_json(json: &str) -> Result<CycleGanRun> {
        CycleGanRun::from_json(json)
    }

    fn check_resume(saved: &CycleGanRun, config: &CycleGanRun) -> Result<()> {
        let kinds = |r: &CycleGanRun| {
            (
                std::mem::discriminant(&r.recipe.g_optimizer),
                std::mem::discriminant(&r.recipe.d_optimizer),
            )
        };
        let same = CycleGanRun {
            decay: saved.decay,
            recipe: CycleGanConfig {
                g_optimizer: saved.recipe.g_optimizer,
                d_optimizer: saved.recipe.d_optimizer,
                lambda_a: saved.recipe.lambda_a,
                lambda_b: saved.recipe.lambda_b,
                lambda_identity: saved.recipe.lambda_identity,
                ..config.recipe
            },
            ..*config
        } == *saved
            && kinds(saved) == kinds(config)
            && (saved.recipe.lambda_identity > 0.0) == (config.recipe.lambda_identity > 0.0);
        if !same {
            return Err(Error::Invalid(
                "a resumed CycleGAN keeps its size, networks, batch, pool, optimizers and seed (only learning rates, loss weights and the epochs of the schedule may change)".into(),
            ));
        }
        Ok(())
    }

    fn schedule(&mut self, gpu: &Gpu, step: u64) -> Result<()> {
        let factor = self.lr_factor(step);
        self.set_lr_factor(gpu, factor)
    }

    fn steps_to_change(&self, step: u64) -> u64 {
        self.steps_to_lr_change(step)
    }
}

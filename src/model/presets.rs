//! The presets of the unconditional and class-conditional family. `dcgan64` is exactly
//! PyTorch's `examples/dcgan` (netG, netD), `dcgan28` the MNIST-sized model, `dcgan32` the
//! CIFAR-sized one between them; `sagan32` and `sagan64` are SAGAN's networks
//! ([`crate::model::sagan`]: spectral norm and self-attention), trained by the same
//! alternating recipe with SAGAN's defaults (hinge loss, two time-scale Adam).
//! Conditional variants append a one-hot class vector to z and one-hot class planes to D's input.

use crate::graph::ops::{BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Reshape};
use crate::graph::{Graph, Layer, Shape3};
use crate::kernels::activation::Activation;
use crate::model::infogan::{self, Codes};
use crate::model::sagan;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Dcgan28,
    Dcgan32,
    Dcgan64,
    Sagan32,
    Sagan64,
    Infogan28,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Dcgan28,
        Preset::Dcgan32,
        Preset::Dcgan64,
        Preset::Sagan32,
        Preset::Sagan64,
        Preset::Infogan28,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Dcgan28 => "dcgan28",
            Preset::Dcgan32 => "dcgan32",
            Preset::Dcgan64 => "dcgan64",
            Preset::Sagan32 => "sagan32",
            Preset::Sagan64 => "sagan64",
            Preset::Infogan28 => "infogan28",
        }
    }

    /// Images are resized to this square size, so that every dataset fits the model.
    pub fn image_size(self) -> u32 {
        match self {
            Preset::Dcgan28 | Preset::Infogan28 => 28,
            Preset::Dcgan32 | Preset::Sagan32 => 32,
            Preset::Dcgan64 | Preset::Sagan64 => 64,
        }
    }

    /// Gray for the MNIST-sized model, RGB for the others.
    pub fn default_channels(self) -> u32 {
        match self {
            Preset::Dcgan28 | Preset::Infogan28 => 1,
            _ => 3,
        }
    }

    /// SAGAN's networks and recipe defaults rather than DCGAN's.
    pub fn is_sagan(self) -> bool {
        matches!(self, Preset::Sagan32 | Preset::Sagan64)
    }

    /// InfoGAN's networks (a Q head on D predicting G's codes) and recipe defaults.
    pub fn is_infogan(self) -> bool {
        self == Preset::Infogan28
    }

    /// The batch a run takes unless told otherwise: 64 (DCGAN's and SAGAN's), but 32 for
    /// sagan64, whose attention over 32×32 positions keeps a 4 MiB map per image: 32 of them
    /// fill the 128 MiB a WebGPU storage binding holds by default; InfoGAN's reference 128.
    pub fn default_batch(self) -> u32 {
        match self {
            Preset::Sagan64 => 32,
            Preset::Infogan28 => 128,
            _ => 64,
        }
    }

    /// The preset that keeps the most of a dataset's images without inventing detail, from the
    /// largest side among them and whether all are gray: gray and at most 32 pixels → `dcgan28`;
    /// at most 48 → `dcgan32`; larger → `dcgan64`.
    pub fn fitting(largest_side: u32, gray: bool) -> Preset {
        if gray && largest_side <= 32 {
            Preset::Dcgan28
        } else if largest_side <= 48 {
            Preset::Dcgan32
        } else {
            Preset::Dcgan64
        }
    }

    pub fn parse(name: &str) -> Result<Preset> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown preset '{name}': choose dcgan28, dcgan32, dcgan64, sagan32, sagan64 or infogan28"
                ))
            })
    }
}

/// Everything that fixes the architecture (and so the checkpoint's shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    pub preset: Preset,
    /// Latent size.
    pub nz: u32,
    /// Generator and discriminator widths (PyTorch's ngf, ndf).
    pub ngf: u32,
    pub ndf: u32,
    /// Image channels: 1 (gray) or 3 (RGB).
    pub channels: u32,
    /// Classes of a conditional GAN; 0 for an unconditional one.
    pub classes: u32,
    /// InfoGAN's latent codes, after the noise in G's input; none for the other presets.
    pub codes: Codes,
}

impl ModelConfig {
    /// PyTorch's defaults: nz 100, ngf = ndf = 64; SAGAN's port draws z of 128; InfoGAN's
    /// reference 62 noise values and the MNIST codes (one of 10 values, 2 continuous).
    pub fn new(preset: Preset) -> ModelConfig {
        let nz = if preset.is_sagan() {
            128
        } else if preset.is_infogan() {
            62
        } else {
            100
        };
        ModelConfig {
            preset,
            nz,
            ngf: 64,
            ndf: 64,
            channels: preset.default_channels(),
            classes: 0,
            codes: if preset.is_infogan() {
                Codes::MNIST
            } else {
                Codes::NONE
            },
        }
    }

    /// Values per sample of the latent a person draws or edits: the noise, then InfoGAN's
    /// codes (one-hot, then continuous). G's input adds the one-hot class of a conditional
    /// model.
    pub fn latent_len(&self) -> u32 {
        self.nz + self.codes.len()
    }

    pub fn image(&self) -> Shape3 {
        let s = self.preset.image_size();
        Shape3::new(self.channels, s, s)
    }

    fn check(&self) -> Result<()> {
        let bad = |what: &str, v: u32, range: std::ops::RangeInclusive<u32>| {
            (!range.contains(&v)).then(|| {
                Error::Invalid(format!(
                    "{what} must be from {} to {}, not {v}",
                    range.start(),
                    range.end()
                ))
            })
        };
        if let Some(e) = bad("nz", self.nz, 1..=4096)
            .or_else(|| bad("ngf", self.ngf, 1..=1024))
            .or_else(|| bad("ndf", self.ndf, 1..=1024))
            .or_else(|| bad("classes", self.classes, 0..=1000))
        {
            return Err(e);
        }
        if self.preset.is_infogan() {
            self.codes.check()?;
            if self.classes > 0 {
                return Err(Error::Invalid(
                    "InfoGAN learns its codes without labels: train it without --conditional"
                        .into(),
                ));
            }
        } else if !self.codes.is_none() {
            return Err(Error::Invalid(format!(
                "latent codes are InfoGAN's: choose --preset infogan28, not {}",
                self.preset.name()
            )));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(Error::Invalid(format!(
                "channels must be 1 (gray) or 3 (RGB), not {}",
                self.channels
            )));
        }
        Ok(())
    }

    /// (generator, discriminator). G maps [nz + classes, 1, 1] to an image in [−1, 1]; D maps
    /// [channels + classes, size, size] to one logit.
    pub fn build(&self) -> Result<(Graph, Graph)> {
        self.build_for(false)
    }

    /// [`ModelConfig::build`], with D's batch norm layers left out when its input gradient is
    /// penalised (`penalised`): batch norm makes each sample's gradient depend on the others',
    /// and the penalties' papers build their critics without it. D's later layers then take
    /// the freed indices (`main.5` becomes `main.4`), as `nn.Sequential` would number them.
    pub fn build_for(&self, penalised: bool) -> Result<(Graph, Graph)> {
        self.check()?;
        let z = Shape3::new(self.latent_len() + self.classes, 1, 1);
        let image = Shape3::new(
            self.channels + self.classes,
            self.preset.image_size(),
            self.preset.image_size(),
        );
        if self.preset.is_sagan() {
            let size = self.preset.image_size();
            return Ok((
                sagan::generator(
                    self.nz,
                    self.classes,
                    self.channels,
                    size,
                    self.ngf,
                    self.ndf,
                )?,
                sagan::discriminator(self.channels, self.classes, size, self.ngf, self.ndf)?,
            ));
        }
        if self.preset.is_infogan() {
            // A penalised critic is refused before this (`TrainConfig::check`).
            return Ok((
                infogan::generator(z.c, self.channels, self.ngf)?,
                infogan::discriminator(self.channels, self.ndf, self.codes)?,
            ));
        }
        let (ngf, ndf, c) = (self.ngf, self.ndf, self.channels);
        let relu = Layer::Activation(Activation::Relu);
        let lrelu = Layer::Activation(Activation::LeakyRelu(0.2));
        let tanh = Layer::Activation(Activation::Tanh);
        let bn = Layer::BatchNorm(BatchNorm2d::AFFINE);
        let up = |out_channels| {
            Layer::ConvTranspose(ConvTranspose2d {
                out_channels,
                kernel: 4,
                stride: 2,
                padding: 1,
                output_padding: 0,
                bias: false,
                spectral_norm: false,
            })
        };
        let down = |out_channels| {
            Layer::Conv(Conv2d {
                out_channels,
                kernel: 4,
                stride: 2,
                padding: 1,
                bias: false,
                spectral_norm: false,
            })
        };
        let project = |out_channels| {
            Layer::ConvTranspose(ConvTranspose2d {
                out_channels,
                kernel: 4,
                stride: 1,
                padding: 0,
                output_padding: 0,
                bias: false,
                spectral_norm: false,
            })
        };
        let logit = Layer::Conv(Conv2d {
            out_channels: 1,
            kernel: 4,
            stride: 1,
            padding: 0,
            bias: false,
            spectral_norm: false,
        });
        let (g, d) = match self.preset {
            Preset::Dcgan28 => (
                vec![
                    Layer::Dense(Dense {
                        out_features: 2 * ngf * 49,
                        bias: false,
                        spectral_norm: false,
                    }),
                    bn,
                    relu,
                    Layer::Reshape(Reshape(Shape3::new(2 * ngf, 7, 7))),
                    up(ngf), // state size. ngf x 14 x 14
                    bn,
                    relu,
                    up(c), // state size. nc x 28 x 28
                    tanh,
                ],
                vec![
                    down(ndf), // state size. ndf x 14 x 14
                    lrelu,
                    down(2 * ndf), // state size. (ndf*2) x 7 x 7
                    bn,
                    lrelu,
                    Layer::Reshape(Reshape(Shape3::new(2 * ndf * 49, 1, 1))),
                    Layer::Dense(Dense {
                        out_features: 1,
                        bias: true,
                        spectral_norm: false,
                    }),
                ],
            ),
            Preset::Dcgan32 => (
                vec![
                    project(4 * ngf), // state size. (ngf*4) x 4 x 4
                    bn,
                    relu,
                    up(2 * ngf), // state size. (ngf*2) x 8 x 8
                    bn,
                    relu,
                    up(ngf), // state size. ngf x 16 x 16
                    bn,
                    relu,
                    up(c), // state size. nc x 32 x 32
                    tanh,
                ],
                vec![
                    down(ndf), // state size. ndf x 16 x 16
                    lrelu,
                    down(2 * ndf), // state size. (ndf*2) x 8 x 8
                    bn,
                    lrelu,
                    down(4 * ndf), // state size. (ndf*4) x 4 x 4
                    bn,
                    lrelu,
                    logit,
                ],
            ),
            Preset::Dcgan64 => (
                vec![
                    project(8 * ngf), // state size. (ngf*8) x 4 x 4
                    bn,
                    relu,
                    up(4 * ngf), // state size. (ngf*4) x 8 x 8
                    bn,
                    relu,
                    up(2 * ngf), // state size. (ngf*2) x 16 x 16
                    bn,
                    relu,
                    up(ngf), // state size. ngf x 32 x 32
                    bn,
                    relu,
                    up(c), // state size. nc x 64 x 64
                    tanh,
                ],
                vec![
                    down(ndf), // state size. ndf x 32 x 32
                    lrelu,
                    down(2 * ndf), // state size. (ndf*2) x 16 x 16
                    bn,
                    lrelu,
                    down(4 * ndf), // state size. (ndf*4) x 8 x 8
                    bn,
                    lrelu,
                    down(8 * ndf), // state size. (ndf*8) x 4 x 4
                    bn,
                    lrelu,
                    logit, // PyTorch's Sigmoid follows; webgan keeps logits for a stable BCE
                ],
            ),
            Preset::Sagan32 | Preset::Sagan64 | Preset::Infogan28 => unreachable!("built above"),
        };
        let d = if penalised {
            d.into_iter()
                .filter(|l| !matches!(l, Layer::BatchNorm(_)))
                .collect()
        } else {
            d
        };
        Ok((
            Graph::sequential("main", z, g)?,
            Graph::sequential("main", image, d)?,
        ))
    }
}

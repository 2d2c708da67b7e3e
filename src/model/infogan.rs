//! InfoGAN's networks (Chen et al. 2016) as the reference implementation, openai/InfoGAN's
//! `regularized_gan.py`, builds its MNIST model: G maps [z, c] through two fully connected
//! layers and two stride-2 transposed convolutions, batch norm and ReLU between; D's body is
//! two stride-2 convolutions and a fully connected layer (batch norm after all but the first,
//! leaky ReLU 0.01), read by two heads: D's logit and Q, which predicts the codes (a
//! categorical code's logits, then each continuous code's mean; their deviation is fixed at
//! 1, the reference's `fix_std`).
//!
//! G's input holds, per sample, the noise (`nz`), the categorical code one-hot (`categorical`
//! values) and the continuous codes (`continuous`, each in [−1, 1]), in that order, as the
//! reference's `latent_spec` orders them. The reference's G ends in a sigmoid for images in
//! [0, 1]; here, as in every webgan G, a tanh for images in [−1, 1].
//!
//! Nodes are named as `nn.Sequential` would name them: G `main.{i}`; D's body `main.{i}`, its
//! logit `head`, and Q `q.{i}`.

use crate::graph::ops::{BatchNorm2d, Dense, Reshape};
use crate::graph::{Builder, Graph, Layer, Shape3};
use crate::kernels::activation::Activation;
use crate::model::sequential::Sequential;
use crate::model::{conv, conv_transpose};
use crate::{Error, Result};

/// The reference's leaky ReLU slope (`leaky_rectify`'s leakiness).
pub const LEAKINESS: f32 = 0.01;

/// The most values a categorical code may take, and the most continuous codes: Q's output and
/// the page's controls stay small.
pub const MAX_CATEGORICAL: u32 = 100;
pub const MAX_CONTINUOUS: u32 = 16;

/// InfoGAN's latent codes: one categorical code of `categorical` values (0: none) and
/// `continuous` codes uniform in [−1, 1]. Both 0 for every other model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Codes {
    pub categorical: u32,
    pub continuous: u32,
}

impl Codes {
    pub const NONE: Codes = Codes {
        categorical: 0,
        continuous: 0,
    };
    /// The reference's MNIST codes: one of 10 values and 2 continuous.
    pub const MNIST: Codes = Codes {
        categorical: 10,
        continuous: 2,
    };

    pub fn is_none(&self) -> bool {
        *self == Codes::NONE
    }

    /// Values per sample in G's input after the noise, and in Q's output.
    pub fn len(&self) -> u32 {
        self.categorical + self.continuous
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A sentence unless the codes are within their bounds and there is at least one.
    pub fn check(&self) -> Result<()> {
        if self.categorical == 1 || self.categorical > MAX_CATEGORICAL {
            return Err(Error::Invalid(format!(
                "a categorical code takes from 2 to {MAX_CATEGORICAL} values (0 for none), not {}",
                self.categorical
            )));
        }
        if self.continuous > MAX_CONTINUOUS {
            return Err(Error::Invalid(format!(
                "InfoGAN takes at most {MAX_CONTINUOUS} continuous codes, not {}",
                self.continuous
            )));
        }
        if self.is_empty() {
            return Err(Error::Invalid(
                "InfoGAN needs at least one code: a categorical one (--categorical) or continuous ones (--continuous)".into(),
            ));
        }
        Ok(())
    }
}

fn dense(out_features: u32) -> Layer {
    Layer::Dense(Dense {
        out_features,
        bias: true,
        spectral_norm: false,
    })
}

/// G: [nz + codes] → [channels, 28, 28]. Widths as the reference's at ngf 64: 1024 (16·ngf)
/// and 128 (2·ngf) channels of 7×7 before the transposed convolutions.
pub fn generator(latent: u32, channels: u32, ngf: u32) -> Result<Graph> {
    let bn = Layer::BatchNorm(BatchNorm2d::AFFINE);
    let relu = Layer::Activation(Activation::Relu);
    let layers = vec![
        dense(16 * ngf),
        bn,
        relu,
        dense(2 * ngf * 49),
        bn,
        relu,
        Layer::Reshape(Reshape(Shape3::new(2 * ngf, 7, 7))),
        conv_transpose(ngf, 4, 2, 1, 0, true), // ngf x 14 x 14
        bn,
        relu,
        conv_transpose(channels, 4, 2, 1, 0, true), // channels x 28 x 28
        Layer::Activation(Activation::Tanh),
    ];
    Graph::sequential("main", Shape3::new(latent, 1, 1), layers)
}

/// D: [channels, 28, 28] → (logit, Q's [codes]). Widths as the reference's at ndf 64: 64 and
/// 128 channels, 1024 features (16·ndf), Q's hidden layer 128 (2·ndf).
pub fn discriminator(channels: u32, ndf: u32, codes: Codes) -> Result<Graph> {
    let bn = Layer::BatchNorm(BatchNorm2d::AFFINE);
    let lrelu = Layer::Activation(Activation::LeakyRelu(LEAKINESS));
    let mut b = Builder::new();
    let x = b.input(Shape3::new(channels, 28, 28));
    let mut body = Sequential::new("main");
    let body_layers = [
        conv(ndf, 4, 2, 1, true), // ndf x 14 x 14
        lrelu,
        conv(2 * ndf, 4, 2, 1, true), // (ndf*2) x 7 x 7
        bn,
        lrelu,
        Layer::Reshape(Reshape(Shape3::new(2 * ndf * 49, 1, 1))),
        dense(16 * ndf),
        bn,
        lrelu,
    ];
    let h = body_layers
        .into_iter()
        .try_fold(x, |x, layer| body.push(&mut b, layer, x))?;
    let logit = b.add("head", dense(1), &[h])?;
    let mut q = Sequential::new("q");
    let q_layers = [dense(2 * ndf), bn, lrelu, dense(codes.len())];
    let codes_out = q_layers
        .into_iter()
        .try_fold(h, |x, layer| q.push(&mut b, layer, x))?;
    b.finish(&[logit, codes_out])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_names_are_the_references() {
        let g = generator(74, 1, 64).unwrap();
        assert_eq!(g.output(), Shape3::new(1, 28, 28));
        let d = discriminator(1, 64, Codes::MNIST).unwrap();
        assert_eq!(d.outputs.len(), 2);
        assert_eq!(d.shape(d.outputs[0]), Shape3::new(1, 1, 1));
        assert_eq!(d.shape(d.outputs[1]), Shape3::new(12, 1, 1));
        let names: Vec<String> = (0..d.nodes.len())
            .flat_map(|i| d.params_of(i))
            .map(|p| p.name)
            .collect();
        for name in ["main.0.weight", "main.6.weight", "head.weight", "q.3.bias"] {
            assert!(names.contains(&name.to_string()), "{name} in {names:?}");
        }
        // The reference's sizes: 1024 features, Q's 128 hidden.
        let shape = |name: &str| {
            (0..d.nodes.len())
                .flat_map(|i| d.params_of(i))
                .find(|p| p.name == name)
                .unwrap()
                .shape
        };
        assert_eq!(shape("main.6.weight"), vec![1024, 128 * 49]);
        assert_eq!(shape("q.0.weight"), vec![128, 1024]);
    }

    #[test]
    fn codes_out_of_bounds_are_refused() {
        for bad in [
            Codes::NONE,
            Codes {
                categorical: 1,
                continuous: 2,
            },
            Codes {
                categorical: 101,
                continuous: 0,
            },
            Codes {
                categorical: 10,
                continuous: 17,
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        Codes::MNIST.check().unwrap();
    }
}

//! The PatchGAN discriminator of pix2pix and CycleGAN (`NLayerDiscriminator` in
//! `networks.py`): 4×4 convs with padding 1, the first `n_layers` of stride 2 (the first
//! without a norm), widths ndf·min(2^n, 8), then one of stride 1 and a stride-1 conv to one
//! channel: a map of logits, one per overlapping patch (70×70 pixels for n_layers 3). As in
//! the reference with `--gan_mode lsgan` or `vanilla`, no sigmoid follows; the loss takes the
//! logits. Nodes are named `model.{i}` as the reference's `nn.Sequential` numbers them.

use crate::graph::{Graph, Layer, Shape3};
use crate::kernels::activation::Activation;
use crate::model::{conv, within, Norm, CHANNELS, MAX_SIDE, WIDTHS};
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NLayerDiscriminator {
    /// Channels of what it judges: an image, or pix2pix's input and output stacked.
    pub input_nc: u32,
    /// Width of the first layer.
    pub ndf: u32,
    /// Stride-2 convs (at least one is built, as the reference builds it for 0).
    pub n_layers: u32,
    pub norm: Norm,
}

impl NLayerDiscriminator {
    /// The reference's `basic` discriminator (ndf 64, 3 layers) with the given norm.
    pub fn new(input_nc: u32, norm: Norm) -> NLayerDiscriminator {
        NLayerDiscriminator {
            input_nc,
            ndf: 64,
            n_layers: 3,
            norm,
        }
    }

    fn check(&self, height: u32, width: u32) -> Result<()> {
        within("input_nc", self.input_nc, CHANNELS)?;
        within("ndf", self.ndf, WIDTHS)?;
        within("n_layers", self.n_layers, 0..=8)?;
        // Each stride-2 conv takes s to ⌊s/2⌋ and each stride-1 one takes away a pixel: the two
        // at the end need 3 pixels to leave one (and instance norm 2 × 2 to normalise over).
        let least = 3 << self.n_layers.max(1);
        for (what, side) in [("height", height), ("width", width)] {
            within(what, side, 1..=MAX_SIDE)?;
            if side < least {
                return Err(Error::Invalid(format!(
                    "a PatchGAN discriminator of {} layers needs a {what} of at least {least} pixels, not {side}",
                    self.n_layers
                )));
            }
        }
        Ok(())
    }

    /// The network for images of `height` × `width`: [input_nc, h, w] to one channel of patch
    /// logits.
    pub fn build(&self, height: u32, width: u32) -> Result<Graph> {
        self.check(height, width)?;
        let (ndf, bias) = (self.ndf, self.norm.conv_bias());
        let lrelu = Layer::Activation(Activation::LeakyRelu(0.2));
        let mut layers = vec![conv(ndf, 4, 2, 1, true), lrelu];
        let mult = |n: u32| 1 << n.min(3);
        for n in 1..self.n_layers {
            layers.extend([conv(ndf * mult(n), 4, 2, 1, bias), self.norm.layer(), lrelu]);
        }
        layers.extend([
            conv(ndf * mult(self.n_layers), 4, 1, 1, bias),
            self.norm.layer(),
            lrelu,
            conv(1, 4, 1, 1, true),
        ]);
        Graph::sequential("model", Shape3::new(self.input_nc, height, width), layers)
    }
}

//! CycleGAN's generator (`ResnetGenerator` in `networks.py`, after Johnson et al.'s
//! fast-neural-style): a 7×7 conv on the reflection-padded image, two stride-2 convs down,
//! `n_blocks` residual blocks at a quarter of the size, two transposed convs back up and a
//! 7×7 conv to the output's channels through tanh. Nodes are named as the reference's
//! `state_dict()` names them: `model.1.weight`, `model.10.conv_block.1.weight`, ...

use crate::graph::ops::{Add, Dropout, ReflectionPad2d};
use crate::graph::{Builder, Graph, Layer, Shape3, TensorId};
use crate::kernels::activation::Activation;
use crate::model::sequential::Sequential;
use crate::model::{conv, conv_transpose, within, Norm, CHANNELS, MAX_SIDE, WIDTHS};
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResnetGenerator {
    /// Channels of the input and of the output image.
    pub input_nc: u32,
    pub output_nc: u32,
    /// Width of the first layer; the blocks work at 4·ngf.
    pub ngf: u32,
    pub norm: Norm,
    /// Dropout(0.5) between each block's two convs.
    pub use_dropout: bool,
    /// 9 for the reference's `resnet_9blocks` (CycleGAN's default), 6 for `resnet_6blocks`.
    pub n_blocks: u32,
}

impl ResnetGenerator {
    /// The class's defaults (ngf 64, no dropout, 6 blocks) with the given norm.
    pub fn new(input_nc: u32, output_nc: u32, norm: Norm) -> ResnetGenerator {
        ResnetGenerator {
            input_nc,
            output_nc,
            ngf: 64,
            norm,
            use_dropout: false,
            n_blocks: 6,
        }
    }

    fn check(&self, height: u32, width: u32) -> Result<()> {
        within("input_nc", self.input_nc, CHANNELS)?;
        within("output_nc", self.output_nc, CHANNELS)?;
        within("ngf", self.ngf, WIDTHS)?;
        // Each block with dropout draws from a stream of its own, and there are 50.
        within(
            "n_blocks",
            self.n_blocks,
            0..=crate::streams::MAX_DROPOUT_LAYERS,
        )?;
        for (what, side) in [("height", height), ("width", width)] {
            within(what, side, 8..=MAX_SIDE)?;
            // Two stride-2 convs take a side s to ⌈⌈s/2⌉/2⌉ and the transposed convs double it
            // twice: the output has the input's size only for multiples of 4 (and a block's
            // reflection padding needs 2 pixels at a quarter of the size).
            if side % 4 != 0 {
                return Err(Error::Invalid(format!(
                    "a ResNet generator's {what} must be a multiple of 4, so that its output has the input's size, not {side}"
                )));
            }
        }
        Ok(())
    }

    /// The network for images of `height` × `width`, mapping [input_nc, h, w] to
    /// [output_nc, h, w] in [−1, 1].
    pub fn build(&self, height: u32, width: u32) -> Result<Graph> {
        self.check(height, width)?;
        let (ngf, bias) = (self.ngf, self.norm.conv_bias());
        let relu = Layer::Activation(Activation::Relu);
        let mut b = Builder::new();
        let input = b.input(Shape3::new(self.input_nc, height, width));
        let mut m = Sequential::new("model");
        let mut x = m.push(&mut b, Layer::ReflectionPad(ReflectionPad2d(3)), input)?;
        x = m.push(&mut b, conv(ngf, 7, 1, 0, bias), x)?;
        x = m.push(&mut b, self.norm.layer(), x)?;
        x = m.push(&mut b, relu, x)?; // state size. ngf x h x w
        for mult in [1, 2] {
            x = m.push(&mut b, conv(2 * mult * ngf, 3, 2, 1, bias), x)?;
            x = m.push(&mut b, self.norm.layer(), x)?;
            x = m.push(&mut b, relu, x)?; // state size. (2·mult·ngf) x h/(2·mult) x w/(2·mult)
        }
        for _ in 0..self.n_blocks {
            let name = m.child();
            x = self.block(&mut b, &name, x)?;
        }
        for mult in [4, 2] {
            x = m.push(&mut b, conv_transpose(mult * ngf / 2, 3, 2, 1, 1, bias), x)?;
            x = m.push(&mut b, self.norm.layer(), x)?;
            x = m.push(&mut b, relu, x)?;
        }
        x = m.push(&mut b, Layer::ReflectionPad(ReflectionPad2d(3)), x)?;
        x = m.push(&mut b, conv(self.output_nc, 7, 1, 0, true), x)?;
        x = m.push(&mut b, Layer::Activation(Activation::Tanh), x)?;
        b.finish(&[x])
    }

    /// `ResnetBlock` named `name`: x + conv_block(x), conv_block = reflection pad, conv 3×3,
    /// norm, ReLU, [dropout], reflection pad, conv 3×3, norm.
    fn block(&self, b: &mut Builder, name: &str, x: TensorId) -> Result<TensorId> {
        let (dim, bias) = (4 * self.ngf, self.norm.conv_bias());
        let mut c = Sequential::new(format!("{name}.conv_block"));
        let mut h = c.push(b, Layer::ReflectionPad(ReflectionPad2d(1)), x)?;
        h = c.push(b, conv(dim, 3, 1, 0, bias), h)?;
        h = c.push(b, self.norm.layer(), h)?;
        h = c.push(b, Layer::Activation(Activation::Relu), h)?;
        if self.use_dropout {
            // Dropout as the module does it: on in training, off in eval.
            let dropout = Dropout {
                p: 0.5,
                at_test: false,
            };
            h = c.push(b, Layer::Dropout(dropout), h)?;
        }
        h = c.push(b, Layer::ReflectionPad(ReflectionPad2d(1)), h)?;
        h = c.push(b, conv(dim, 3, 1, 0, bias), h)?;
        h = c.push(b, self.norm.layer(), h)?;
        b.add(name, Layer::Add(Add), &[x, h])
    }
}

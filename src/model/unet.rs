//! pix2pix's generator (`UnetGenerator` in `networks.py`): `num_downs` nested
//! `UnetSkipConnectionBlock`s, each a stride-2 conv down, the block inside it, a stride-2
//! transposed conv back up, and (but for the outermost) its input joined to its output along
//! the channels. Widths double from ngf to 8·ngf over the first four levels and stay there;
//! the innermost block reaches 1×1 on an image of 2^num_downs pixels a side (unet_256: 8
//! levels, unet_128: 7).
//!
//! Each block's first layer is the reference's `LeakyReLU(0.2, True)`, which works in place on
//! the block's input before `torch.cat([x, self.model(x)], 1)` reads it: the skip carries
//! LeakyReLU(x), and so does this graph's, so that the reference's weights give the
//! reference's outputs.
//!
//! Nodes are named as the reference's `state_dict()`: the outermost block is `model`, its
//! layers `model.model.{i}`, the block inside it `model.model.1`, whose layers are
//! `model.model.1.model.{i}`, and so on inward through index 3 of each intermediate block.

use crate::graph::ops::{Cat, Dropout};
use crate::graph::{Builder, Graph, Layer, Shape3, TensorId};
use crate::kernels::activation::Activation;
use crate::model::sequential::Sequential;
use crate::model::{conv, conv_transpose, within, Norm, CHANNELS, MAX_SIDE, WIDTHS};
use crate::{Error, Result};

/// The reference's shallowest U-Net: the outermost, three widening blocks and the innermost.
const MIN_DOWNS: u32 = 5;
/// 2^10 = [`MAX_SIDE`].
const MAX_DOWNS: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnetGenerator {
    /// Channels of the input and of the output image.
    pub input_nc: u32,
    pub output_nc: u32,
    /// Levels of the U, each halving the sides: 8 for unet_256, 7 for unet_128.
    pub num_downs: u32,
    /// Width of the outermost block's inside; the deepest blocks work at 8·ngf.
    pub ngf: u32,
    pub norm: Norm,
    /// Dropout(0.5) after the up path of the num_downs − 5 intermediate 8·ngf blocks (pix2pix
    /// trains with it).
    pub use_dropout: bool,
}

impl UnetGenerator {
    /// The class's defaults (ngf 64, no dropout) with the given depth and norm.
    pub fn new(input_nc: u32, output_nc: u32, num_downs: u32, norm: Norm) -> UnetGenerator {
        UnetGenerator {
            input_nc,
            output_nc,
            num_downs,
            ngf: 64,
            norm,
            use_dropout: false,
        }
    }

    /// The depth whose innermost block is 1×1 on square images of `side` pixels, as the
    /// reference's unet_128 (7) and unet_256 (8): log2(side), for a power of two from 32 (the
    /// shallowest U-Net the reference builds) to 1024.
    pub fn num_downs_for(side: u32) -> Result<u32> {
        if !side.is_power_of_two() || !(1 << MIN_DOWNS..=MAX_SIDE).contains(&side) {
            return Err(Error::Invalid(format!(
                "a U-Net's image side must be a power of two from {} to {MAX_SIDE} (128 and 256 as in unet_128 and unet_256), not {side}",
                1 << MIN_DOWNS
            )));
        }
        Ok(side.trailing_zeros())
    }

    fn check(&self, height: u32, width: u32) -> Result<()> {
        within("input_nc", self.input_nc, CHANNELS)?;
        within("output_nc", self.output_nc, CHANNELS)?;
        within("ngf", self.ngf, WIDTHS)?;
        within("num_downs", self.num_downs, MIN_DOWNS..=MAX_DOWNS)?;
        let unit = 1 << self.num_downs;
        for (what, side) in [("height", height), ("width", width)] {
            within(what, side, 1..=MAX_SIDE)?;
            // A stride-2 conv with kernel 4 and padding 1 takes s to ⌊s/2⌋ and the transposed
            // one back to 2⌊s/2⌋: a skip joins equal sides only when every level's is even.
            if side % unit != 0 {
                return Err(Error::Invalid(format!(
                    "a U-Net of {} levels needs a {what} that is a multiple of 2^{} = {unit}, not {side}",
                    self.num_downs, self.num_downs
                )));
            }
        }
        Ok(())
    }

    /// The network for images of `height` × `width`, mapping [input_nc, h, w] to
    /// [output_nc, h, w] in [−1, 1].
    pub fn build(&self, height: u32, width: u32) -> Result<Graph> {
        self.check(height, width)?;
        let mut b = Builder::new();
        let input = b.input(Shape3::new(self.input_nc, height, width));
        let output = self.block(&mut b, "model", 0, input)?;
        b.finish(&[output])
    }

    /// (outer_nc, inner_nc) of the block at `level` (0 outermost): the outermost maps the
    /// image's channels to ngf, and each level inward doubles the width up to 8·ngf.
    fn widths(&self, level: u32) -> (u32, u32) {
        let width = |l: u32| self.ngf * (1 << l.min(3));
        let outer = match level {
            0 => self.output_nc,
            l => width(l - 1),
        };
        (outer, width(level))
    }

    /// `UnetSkipConnectionBlock` at `path` on x, with the blocks inside it.
    fn block(&self, b: &mut Builder, path: &str, level: u32, x: TensorId) -> Result<TensorId> {
        let (outer, inner) = self.widths(level);
        let bias = self.norm.conv_bias();
        let innermost = level + 1 == self.num_downs;
        let mut m = Sequential::new(format!("{path}.model"));
        let relu = Layer::Activation(Activation::Relu);
        let down = conv(inner, 4, 2, 1, bias);
        if level == 0 {
            let mut h = m.push(b, down, x)?;
            let inside = m.child();
            h = self.block(b, &inside, 1, h)?;
            h = m.push(b, relu, h)?;
            h = m.push(b, conv_transpose(outer, 4, 2, 1, 0, true), h)?;
            return m.push(b, Layer::Activation(Activation::Tanh), h);
        }
        // In place in the reference: what the skip below joins.
        let x = m.push(b, Layer::Activation(Activation::LeakyRelu(0.2)), x)?;
        let mut h = m.push(b, down, x)?;
        if !innermost {
            h = m.push(b, self.norm.layer(), h)?;
            let inside = m.child();
            h = self.block(b, &inside, level + 1, h)?;
        }
        h = m.push(b, relu, h)?;
        h = m.push(b, conv_transpose(outer, 4, 2, 1, 0, bias), h)?;
        h = m.push(b, self.norm.layer(), h)?;
        // The reference's loop of 8·ngf blocks between the widening ones and the innermost.
        if self.use_dropout && level > 3 && !innermost {
            let dropout = Dropout {
                p: 0.5,
                at_test: false,
            };
            h = m.push(b, Layer::Dropout(dropout), h)?;
        }
        b.add(path, Layer::Cat(Cat), &[x, h])
    }
}

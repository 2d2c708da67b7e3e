//! The presets: networks built as graphs, named and shaped as the PyTorch modules they mirror,
//! so that a checkpoint's tensor names (`main.3.weight`) load into the same PyTorch model.
//!
//! `presets` holds the DCGAN family and SAGAN's presets (whose networks are in `sagan`); `resnet`, `unet` and `patchgan` the image-to-image
//! networks of pix2pix and CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix, `networks.py`),
//! with the normalisation they share in `norm`.

pub mod infogan;
pub mod norm;
pub mod patchgan;
pub mod presets;
pub mod resnet;
pub mod sagan;
mod sequential;
pub mod unet;

pub use crate::graph::{Graph, Init, Layer, ParamSpec, Shape3};
pub use norm::Norm;
pub use patchgan::NLayerDiscriminator;
pub use resnet::ResnetGenerator;
pub use unet::UnetGenerator;

use crate::{Error, Result};

/// `v` refused in a sentence unless it lies in `range`.
pub(crate) fn within(what: &str, v: u32, range: std::ops::RangeInclusive<u32>) -> Result<()> {
    if range.contains(&v) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{what} must be from {} to {}, not {v}",
        range.start(),
        range.end()
    )))
}

/// The image sides every image-to-image network accepts at most: the largest tensor of any of
/// them (1,024 channels at 1,030² once padded) then stays below 2^32 elements.
pub const MAX_SIDE: u32 = 1024;

/// Widths (ngf, ndf) and channel counts a person may ask for: the DCGAN presets' bound on
/// widths, and up to 64 image channels (pix2pix's D reads input and output stacked).
pub(crate) const WIDTHS: std::ops::RangeInclusive<u32> = 1..=1024;
pub(crate) const CHANNELS: std::ops::RangeInclusive<u32> = 1..=64;

/// `nn.Conv2d(_, out_channels, kernel, stride, padding, bias)`.
pub(crate) fn conv(out_channels: u32, kernel: u32, stride: u32, padding: u32, bias: bool) -> Layer {
    Layer::Conv(crate::graph::ops::Conv2d {
        out_channels,
        kernel,
        stride,
        padding,
        bias,
        spectral_norm: false,
    })
}

/// `nn.ConvTranspose2d(_, out_channels, kernel, stride, padding, output_padding, bias)`.
pub(crate) fn conv_transpose(
    out_channels: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
    output_padding: u32,
    bias: bool,
) -> Layer {
    Layer::ConvTranspose(crate::graph::ops::ConvTranspose2d {
        out_channels,
        kernel,
        stride,
        padding,
        output_padding,
        bias,
        spectral_norm: false,
    })
}

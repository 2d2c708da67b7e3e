//! The ops a graph's nodes can be, one file per family: each implements [`crate::graph::Op`].

mod activation;
mod attention;
mod join;
mod linear;
mod modulate;
mod noise;
mod norm;
mod resample;
mod spectral;
mod view;

pub use attention::{self_attention, AttentionApply, AttentionMap, ScaledResidual};
pub use join::{Add, Cat, Narrow};

use crate::gpu::Gpu;
use crate::kernels::join::copy_channels;
use crate::kernels::Dispatch;
use crate::Result;

/// to (+)= from over `len` elements: a view's, a sum's or an idle dropout's gradient (or
/// forward), refused past the shader's u32 indices rather than cut short.
pub(super) fn copy(
    gpu: &Gpu,
    len: usize,
    from: &wgpu::Buffer,
    to: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    let len = u32::try_from(len).map_err(|_| {
        crate::Error::Invalid(format!("a tensor of {len} elements is past 2^32 − 1"))
    })?;
    copy_channels(gpu, 1, len, 1, (from, 1, 0), (to, 1, 0), accumulate)
}
pub use linear::{Conv2d, ConvTranspose2d, Dense};
pub use modulate::{Embedding, Modulate, Project};
pub use noise::Dropout;
pub use norm::{BatchNorm2d, InstanceNorm2d};
pub use resample::{PixelShuffle, ReflectionPad2d, Upsample};
pub use view::Reshape;

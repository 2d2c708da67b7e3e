//! The normalisation of the image-to-image networks, as `networks.py`'s `get_norm_layer`
//! offers it: `--norm batch` (pix2pix) or `--norm instance` (CycleGAN).

use crate::graph::ops::{BatchNorm2d, InstanceNorm2d};
use crate::graph::Layer;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// `nn.BatchNorm2d(affine=True)`: γ, β and running statistics (kept in checkpoints as
    /// weight, bias, running_mean, running_var, num_batches_tracked).
    Batch,
    /// `nn.InstanceNorm2d(affine=False, track_running_stats=False)`: no parameters, no state.
    Instance,
}

impl Norm {
    pub fn name(self) -> &'static str {
        match self {
            Norm::Batch => "batch",
            Norm::Instance => "instance",
        }
    }

    /// The reference's `--norm` spelling.
    pub fn parse(name: &str) -> Result<Norm> {
        [Norm::Batch, Norm::Instance]
            .into_iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown normalisation '{name}': choose batch or instance"
                ))
            })
    }

    pub fn layer(self) -> Layer {
        match self {
            Norm::Batch => Layer::BatchNorm(BatchNorm2d::AFFINE),
            Norm::Instance => Layer::InstanceNorm(InstanceNorm2d { affine: false }),
        }
    }

    /// The reference's `use_bias = norm_layer.func == nn.InstanceNorm2d`, which decides the
    /// state_dict's keys: a conv it builds with `bias=use_bias` has one only with instance
    /// norm (where the plane's mean, once a norm follows, cancels it: its gradient is zero).
    /// The convs it builds with the default bias have one with either norm.
    pub fn conv_bias(self) -> bool {
        self == Norm::Instance
    }
}

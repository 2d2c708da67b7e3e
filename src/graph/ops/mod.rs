//! The ops a graph's nodes can be, one file per family: each implements [`crate::graph::Op`].

mod activation;
mod join;
mod linear;
mod noise;
mod norm;
mod resample;
mod view;

pub use join::{Add, Cat};
pub use linear::{Conv2d, ConvTranspose2d, Dense};
pub use noise::Dropout;
pub use norm::{BatchNorm2d, InstanceNorm2d};
pub use resample::{PixelShuffle, ReflectionPad2d, Upsample};
pub use view::Reshape;

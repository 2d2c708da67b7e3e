//! The ops a graph's nodes can be, one file per family: each implements [`crate::graph::Op`].

mod activation;
mod join;
mod linear;
mod norm;
mod view;

pub use join::{Add, Cat};
pub use linear::{Conv2d, ConvTranspose2d, Dense};
pub use norm::BatchNorm2d;
pub use view::Reshape;

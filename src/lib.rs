//! webgan: GAN training on the user's own GPU.
//!
//! `kernels` holds one Rust module per WGSL file in `shaders/`: the parameter struct, the
//! shape checks and the construction of a [`kernels::Dispatch`], built once and recorded
//! into a compute pass every step. `reference` holds the plain-Rust specification of every
//! kernel, which the tests hold the GPU to.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod display;
pub mod error;
pub mod export;
pub mod gpu;
pub mod graph;
pub mod kernels;
pub mod model;
pub mod quality;
pub mod reference;
pub mod self_check;
pub mod streams;
pub mod train;
#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Result};
pub use gpu::Gpu;

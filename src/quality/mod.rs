//! How good are the samples? The Fréchet distance between real and generated images in the
//! feature space of a small classifier that webgan trains with its own kernels.

pub mod classifier;
pub mod copies;
pub mod dataset;
pub mod evaluate;
pub mod frechet;
pub mod purity;

//! Plain-Rust versions of every kernel, written for clarity, not speed: the specification the
//! GPU is tested against. Everything is f64 (so gradients can be checked by central
//! differences), except the optimizers and the RNG, which are f32 to match the GPU bit for bit,
//! and the image pool and the jitter, which only move values and take either.
//! Backward passes return fresh gradients; the GPU's "accumulate" is tested separately.

pub mod activation;
pub mod attention;
pub mod augment;
pub mod batch_norm;
pub mod condition;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod cyclegan;
pub mod dense;
pub mod dropout;
pub mod gan;
pub mod graph;
pub mod image_pool;
pub mod info_loss;
pub mod instance_norm;
pub mod jitter;
pub mod join;
pub mod loss;
pub mod modulate;
pub mod optim;
pub mod penalty;
pub mod pix2pix;
pub mod pixel_loss;
pub mod pixel_shuffle;
pub mod random;
pub mod reflection_pad;
pub mod softmax;
pub mod spectral_norm;
pub mod tensor;
pub mod upsample;

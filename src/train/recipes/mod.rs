//! The training recipes, one file per family.

pub mod cyclegan;
pub mod cyclegan_preview;
pub mod cyclegan_run;
mod cyclegan_stacks;
pub mod dcgan;
mod dcgan_glue;
pub mod pix2pix;
pub mod pix2pix_preview;

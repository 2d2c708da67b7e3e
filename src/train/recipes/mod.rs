//! The training recipes, one file per family.

pub mod cyclegan;
pub mod dcgan;
mod dcgan_glue;

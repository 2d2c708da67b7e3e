//! `webgan export`: a checkpoint's generator in another form. `--format html` (export_html.rs)
//! writes one self-contained web page that draws from it on the visitor's GPU.

use std::path::PathBuf;

use webgan::{Error, Result};

use crate::export_html;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A checkpoint written by `webgan train` or the page.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// html: one web page (the wasm, its script and the generator's weights inside) that draws
    /// new samples, or translates pictures, with WebGPU on the visitor's GPU, from a file:// URL
    /// or any static host.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Store the weights as 16-bit floats: half the size, each weight rounded to about 3
    /// significant digits.
    #[arg(long)]
    pub half: bool,
    /// AtoB or BtoA: which of a CycleGAN's generators (formats of one network).
    #[arg(long, default_value = "AtoB")]
    pub direction: String,
    /// html: the built wasm package (default: www/pkg of the source tree webgan was built from,
    /// made by ./build.sh build).
    #[arg(long)]
    pub pkg: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Onnx,
    Html,
}

pub fn export(args: ExportArgs) -> Result<()> {
    if !["AtoB", "BtoA"].contains(&args.direction.as_str()) {
        return Err(Error::Invalid(format!(
            "unknown direction '{}': choose AtoB or BtoA",
            args.direction
        )));
    }
    match args.format {
        Format::Html => export_html::export(&args),
        Format::Onnx => Err(Error::Invalid(
            "--format onnx is not part of this build: choose --format html".into(),
        )),
    }
}

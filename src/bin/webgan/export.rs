//! `webgan export`: a checkpoint's generator as a file other programs run. `--format onnx`
//! writes an ONNX model (src/export/onnx.rs); `--format html` a page that runs it
//! (export_html.rs).

use std::path::{Path, PathBuf};

use webgan::export::Direction;
use webgan::{Error, Result};

use crate::output;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An ONNX model of the generator (opset 17), for ONNX Runtime and other runtimes.
    Onnx,
    /// One HTML file that runs the generator in a browser.
    Html,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A checkpoint written by `webgan train` or the page, of any family.
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[arg(long, value_enum)]
    pub format: Format,
    /// The file to write (replaced whole if it exists; never left half written).
    #[arg(long)]
    pub out: PathBuf,
    /// Store the weights as 16-bit floats (html only): half the size.
    #[arg(long)]
    pub half: bool,
    /// CycleGAN: AtoB exports G_A (domain A's images into B's), BtoA G_B. Default AtoB.
    #[arg(long)]
    pub direction: Option<String>,
}

pub fn export(args: ExportArgs) -> Result<()> {
    match args.format {
        Format::Onnx => onnx(&args),
        Format::Html => crate::export_html::export(&args),
    }
}

fn onnx(args: &ExportArgs) -> Result<()> {
    if args.half {
        return Err(Error::Invalid(
            "--half applies to --format html; an ONNX model keeps the weights as 32-bit floats"
                .into(),
        ));
    }
    let direction = args
        .direction
        .as_deref()
        .map(Direction::parse)
        .transpose()?;
    refuse_folder(&args.out, "onnx")?;
    let bytes = output::read(&args.checkpoint)?;
    let model = webgan::export::onnx_of_checkpoint(&bytes, direction)
        .map_err(|e| Error::Invalid(format!("{}: {e}", args.checkpoint.display())))?;
    output::write_atomically(&args.out, &model)?;
    eprintln!(
        "wrote {} ({} KiB, ONNX opset {})",
        args.out.display(),
        model.len().div_ceil(1024),
        webgan::export::onnx::OPSET
    );
    Ok(())
}

/// `--out` must name a file (a `.{extension}` one): a folder there is refused before anything
/// is read.
pub fn refuse_folder(out: &Path, extension: &str) -> Result<()> {
    if out.is_dir() {
        return Err(Error::Invalid(format!(
            "--out {} is a folder: give the path of the .{extension} file to write",
            out.display()
        )));
    }
    Ok(())
}

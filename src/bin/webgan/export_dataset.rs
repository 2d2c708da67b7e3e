//! `webgan export-dataset`: a zip (or the built-in digits) decoded and fitted to a preset exactly
//! as `webgan train` fits it, written as one safetensors file, so that another trainer (the
//! PyTorch one in python/) sees the same images and classes.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::tensor::{Dtype, TensorView};
use webgan::model::presets::Preset;
use webgan::{Error, Result};

use crate::output;

#[derive(clap::Args)]
pub struct ExportDatasetArgs {
    /// A zip as `webgan train` takes it (flat, or one top-level folder per class). Default: the
    /// built-in digits.
    #[arg(long)]
    data: Option<PathBuf>,
    /// dcgan28, dcgan32 or dcgan64: the size and channels the images are fitted to (default:
    /// the one `webgan train` would choose for this zip).
    #[arg(long)]
    preset: Option<String>,
    /// Leave the classes out, as `webgan train --unconditional` does.
    #[arg(long)]
    unconditional: bool,
    /// The safetensors file: `images` (u8, [n, channels, size, size]), `labels` (i64, [n]) when
    /// the data has classes, and in the metadata the preset and the class names.
    #[arg(long)]
    out: PathBuf,
}

fn io(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{what}: {e}"))
}

pub fn export(args: ExportDatasetArgs) -> Result<()> {
    output::refuse_folder("--out", Some(&args.out))?;
    let zip = args
        .data
        .as_deref()
        .map(|p| output::read(p).map(|bytes| (p, bytes)))
        .transpose()?;
    let preset = match (&args.preset, &zip) {
        (Some(p), _) => Preset::parse(p)?,
        (None, Some((path, bytes))) => crate::train::preset_for(path, bytes)?,
        (None, None) => Preset::Dcgan28,
    };
    let dataset = crate::train::dataset_for(args.data.as_deref(), preset)?;
    let conditional = !args.unconditional && dataset.class_count() > 0;
    let n = dataset.count();
    let spec = dataset.spec;
    let (c, s) = (spec.channels as usize, spec.size as usize);
    let labels: Vec<u8> = dataset
        .labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect();
    let mut tensors = vec![(
        "images",
        TensorView::new(Dtype::U8, vec![n, c, s, s], &dataset.pixels)
            .map_err(|e| io("images", e))?,
    )];
    if conditional {
        let view = TensorView::new(Dtype::I64, vec![n], &labels).map_err(|e| io("labels", e))?;
        tensors.push(("labels", view));
    }
    let names = if conditional {
        dataset.class_names.clone()
    } else {
        Vec::new()
    };
    let metadata = HashMap::from([
        ("format".to_string(), "webgan-dataset-1".to_string()),
        ("preset".to_string(), preset.name().to_string()),
        (
            "class_names".to_string(),
            serde_json::to_string(&names).map_err(|e| io("class names", e))?,
        ),
    ]);
    let bytes = safetensors::tensor::serialize(tensors, Some(metadata))
        .map_err(|e| io("the dataset file", e))?;
    output::write_atomically(&args.out, &bytes)?;
    let classes = if conditional {
        format!(" in {} classes", names.len())
    } else {
        String::new()
    };
    eprintln!(
        "wrote {n} images{classes}, {s}×{s}×{c} for {}, to {}",
        preset.name(),
        args.out.display()
    );
    Ok(())
}

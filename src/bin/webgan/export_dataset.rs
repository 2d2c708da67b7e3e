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
    /// Fit the data as this checkpoint's run takes it: a DCGAN run's preset and classes, or a
    /// pix2pix or CycleGAN run's pairs or two domains at its load size (the only way to export
    /// those).
    #[arg(long)]
    like: Option<PathBuf>,
    /// The safetensors file: `images` (u8, [n, channels, size, size]), `labels` (i64, [n]) when
    /// the data has classes, and in the metadata the preset and the class names; for pix2pix
    /// and CycleGAN, `images_a` and `images_b` and the family.
    #[arg(long)]
    out: PathBuf,
}

/// A dataset's pixels as a u8 [n, channels, size, size] tensor.
fn view<'a>(d: &'a webgan::data::Dataset, name: &str) -> Result<TensorView<'a>> {
    let s = d.spec.size as usize;
    let shape = vec![d.count(), d.spec.channels as usize, s, s];
    TensorView::new(Dtype::U8, shape, &d.pixels).map_err(|e| io(name, e))
}

fn io(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{what}: {e}"))
}

/// `images_a` and `images_b` of a pix2pix or CycleGAN run like `checkpoint`'s.
fn export_translation(args: &ExportDatasetArgs, checkpoint: &[u8], family: &str) -> Result<()> {
    use webgan::train::recipes::{cyclegan::CycleGan, pix2pix::Pix2Pix};
    use webgan::train::Trainer;
    let Some(path) = args.data.as_deref() else {
        return Err(Error::Invalid(format!(
            "a {family} run needs --data: the zip it trains on"
        )));
    };
    let bytes = output::read(path)?;
    let (a, b, size, load) = if family == "pix2pix" {
        let (_, run) = Trainer::<Pix2Pix>::config_of(checkpoint)?;
        let pairs = crate::pix2pix::load(path, &bytes, run.load_side(), run.size)?;
        (pairs.a, pairs.b, run.size, run.load_side())
    } else {
        let (_, run) = Trainer::<CycleGan>::config_of(checkpoint)?;
        let domains = crate::cyclegan::load(path, &bytes, run.load_side(), run.size)?;
        (domains.a, domains.b, run.size, run.load_side())
    };
    let tensors = vec![
        ("images_a", view(&a, "images_a")?),
        ("images_b", view(&b, "images_b")?),
    ];
    let metadata = HashMap::from([
        ("format".to_string(), "webgan-dataset-1".to_string()),
        ("family".to_string(), family.to_string()),
        ("size".to_string(), size.to_string()),
        ("load_size".to_string(), load.to_string()),
    ]);
    let bytes = safetensors::tensor::serialize(tensors, Some(metadata))
        .map_err(|e| io("the dataset file", e))?;
    output::write_atomically(&args.out, &bytes)?;
    eprintln!(
        "wrote {} A and {} B images at {load}×{load} (cropped to {size} each step) for {family}, to {}",
        a.count(),
        b.count(),
        args.out.display()
    );
    Ok(())
}

pub fn export(args: ExportDatasetArgs) -> Result<()> {
    output::refuse_folder("--out", Some(&args.out))?;
    let like = args.like.as_deref().map(output::read).transpose()?;
    let like_config = match &like {
        Some(ck) => match webgan::train::checkpoint_family(ck)?.as_str() {
            "dcgan" => Some(crate::output::dcgan_config(ck)?),
            family => return export_translation(&args, ck, family),
        },
        None => None,
    };
    if let (Some(c), Some(p)) = (&like_config, &args.preset) {
        if Preset::parse(p)? != c.model.preset {
            return Err(Error::Invalid(format!(
                "--like holds a {} run, not {p}: leave --preset out",
                c.model.preset.name()
            )));
        }
    }
    let zip = args
        .data
        .as_deref()
        .map(|p| output::read(p).map(|bytes| (p, bytes)))
        .transpose()?;
    let preset = match (&args.preset, &zip) {
        _ if like_config.is_some() => like_config.as_ref().map(|c| c.model.preset).expect("some"),
        (Some(p), _) => Preset::parse(p)?,
        (None, Some((path, bytes))) => crate::train::preset_for(path, bytes)?,
        (None, None) => Preset::Dcgan28,
    };
    let dataset = crate::train::dataset_for(args.data.as_deref(), preset)?;
    let conditional = match &like_config {
        Some(c) => c.model.classes > 0,
        None => !args.unconditional && dataset.class_count() > 0,
    };
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

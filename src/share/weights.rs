//! The part of a checkpoint that draws or translates: each generator's weights and batch-norm
//! running statistics, with the configuration, and nothing of the discriminators, the optimizer
//! or the training counters. A DCGAN run that kept a moving average of G (`--ema`) keeps that
//! one, `netG_ema`, which is what `webgan sample` draws from.

use crate::checkpoint::Checkpoint;
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::recipes::pix2pix::Pix2Pix;
use crate::train::{family_of, Trainer};
use crate::{Error, Result};

/// The checkpoint's metadata that the generator-only file keeps.
const KEPT_METADATA: [&str; 4] = ["format", "family", "config", "step"];

/// What a generator-only file holds: its family, its networks' names, its size in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorFile {
    pub family: String,
    /// What the generator is, in words for a message: the preset of a DCGAN-trainer run
    /// ("sagan32", "infogan28", with "conditional" when it takes a class), else the family.
    pub model: String,
    pub networks: Vec<&'static str>,
    pub bytes: Vec<u8>,
}

/// The names (tensor prefixes) of the generators a checkpoint's family samples or translates
/// with: DCGAN's `netG` (or `netG_ema` when the run kept one), pix2pix's `netG`, CycleGAN's
/// `netG_A` and `netG_B`.
pub fn generator_names(ck: &Checkpoint, bytes: &[u8]) -> Result<(String, Vec<&'static str>)> {
    let family = family_of(ck)?.to_string();
    let names = match family.as_str() {
        "dcgan" => {
            let (_, config) = Trainer::checkpoint_config(bytes)?;
            vec![if config.ema.is_some() {
                "netG_ema"
            } else {
                "netG"
            }]
        }
        "pix2pix" => {
            Trainer::<Pix2Pix>::config_of(bytes)?;
            vec!["netG"]
        }
        "cyclegan" => {
            Trainer::<CycleGan>::config_of(bytes)?;
            vec!["netG_A", "netG_B"]
        }
        other => {
            return Err(Error::Checkpoint(format!(
                "this checkpoint holds a {other} run, which has no generator to export"
            )))
        }
    };
    Ok((family, names))
}

/// The generator-only checkpoint of `bytes` (a webgan checkpoint), its floats as F16 when
/// `half`. Refuses a checkpoint that lacks any tensor of a generator it needs.
pub fn generator_only(bytes: &[u8], half: bool) -> Result<GeneratorFile> {
    let ck = Checkpoint::from_bytes(bytes)?;
    let (family, networks) = generator_names(&ck, bytes)?;
    let model = if family == "dcgan" {
        let (_, config) = Trainer::checkpoint_config(bytes)?;
        let name = config.model.preset.name();
        if config.model.classes > 0 {
            format!("conditional {name}")
        } else {
            name.to_string()
        }
    } else {
        family.clone()
    };
    let mut out = Checkpoint::new();
    for (key, value) in &ck.metadata {
        if KEPT_METADATA.contains(&key.as_str()) {
            out.metadata.insert(key.clone(), value.clone());
        }
    }
    for name in &networks {
        let prefix = format!("{name}.");
        let floats = ck.tensors.iter().filter(|(k, _)| k.starts_with(&prefix));
        let integers = ck.integers.iter().filter(|(k, _)| k.starts_with(&prefix));
        if let Some((k, _)) = ck
            .tensors
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Checkpoint(format!(
                "tensor `{k}` holds NaN or infinite values: the run had diverged when this was saved, so use an earlier checkpoint"
            )));
        }
        let before = out.tensors.len();
        out.tensors
            .extend(floats.map(|(k, t)| (k.clone(), t.clone())));
        if out.tensors.len() == before {
            return Err(Error::Checkpoint(format!(
                "this checkpoint has no generator: it holds no {name} tensors"
            )));
        }
        out.integers
            .extend(integers.map(|(k, t)| (k.clone(), t.clone())));
    }
    let bytes = if half {
        out.to_bytes_half()?
    } else {
        out.to_bytes()?
    };
    Ok(GeneratorFile {
        family,
        model,
        networks,
        bytes,
    })
}

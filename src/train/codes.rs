//! InfoGAN's codes outside training: what a person chooses of them (`--code k=3,c1=0.5`, the
//! page's selector and sliders) and the latent vectors G takes, per sample the noise, the
//! categorical code one-hot and the continuous codes (the order `model::infogan` describes).

use crate::model::infogan::Codes;
use crate::model::presets::ModelConfig;
use crate::{reference, streams, Error, Result};

/// The most a continuous code may be set to, either way: training draws them in (−1, 1); up
/// to ±2 shows how G extrapolates, as the paper's figures do.
pub const CONTINUOUS_RANGE: f32 = 2.0;

/// Codes a person fixed; the others are drawn. `sweep`: a continuous code a latent walk moves
/// from −1 to 1 (`webgan interpolate --code c1`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CodeChoice {
    pub categorical: Option<u32>,
    /// Per continuous code, its value when fixed.
    pub continuous: Vec<Option<f32>>,
    pub sweep: Option<usize>,
}

impl CodeChoice {
    /// Nothing fixed for a model with `codes`.
    pub fn drawn(codes: Codes) -> CodeChoice {
        CodeChoice {
            categorical: None,
            continuous: vec![None; codes.continuous as usize],
            sweep: None,
        }
    }

    /// "k=3,c1=0.5" (`k` the categorical code's value, `c1`… the continuous codes from 1; a
    /// bare `c2` marks the code a walk sweeps), checked against the model's `codes`.
    pub fn parse(text: &str, codes: Codes) -> Result<CodeChoice> {
        let mut choice = CodeChoice::drawn(codes);
        if codes.is_none() {
            return Err(Error::Invalid(
                "--code needs an InfoGAN model; this one has no latent codes".into(),
            ));
        }
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (part, None),
            };
            if name == "k" {
                let k = codes.categorical;
                let v = value.and_then(|v| v.parse::<u32>().ok());
                match v {
                    _ if k == 0 => {
                        return Err(Error::Invalid(
                            "k: this model has no categorical code (only c1…)".into(),
                        ))
                    }
                    Some(v) if v < k => choice.categorical = Some(v),
                    _ => {
                        return Err(Error::Invalid(format!(
                            "k must be a whole number from 0 to {}, as in k=3, not {part}",
                            k - 1
                        )))
                    }
                }
                continue;
            }
            let index = name
                .strip_prefix('c')
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|&i| (1..=codes.continuous as usize).contains(&i));
            let Some(i) = index else {
                return Err(Error::Invalid(format!(
                    "unknown code '{name}': this model has {}",
                    names(codes)
                )));
            };
            match value {
                None => choice.sweep = Some(i - 1),
                Some(v) => match v.parse::<f32>() {
                    Ok(x) if x.is_finite() && x.abs() <= CONTINUOUS_RANGE => {
                        choice.continuous[i - 1] = Some(x)
                    }
                    _ => {
                        return Err(Error::Invalid(format!(
                            "{name} must be a number from −{CONTINUOUS_RANGE} to {CONTINUOUS_RANGE} (training draws it in (−1, 1)), not {v}"
                        )))
                    }
                },
            }
        }
        Ok(choice)
    }
}

/// The codes' names, for messages: "k (0 to 9), c1 and c2".
fn names(codes: Codes) -> String {
    let mut parts = vec![];
    if codes.categorical > 0 {
        parts.push(format!("k (0 to {})", codes.categorical - 1));
    }
    parts.extend((1..=codes.continuous).map(|i| format!("c{i}")));
    match parts.len() {
        0 => "no codes".into(),
        1 => parts.remove(0),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// How the samples of a batch of latents are laid out, which decides the codes each gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A grid `columns` wide: a row per categorical value, the noise and continuous codes of
    /// a column shared down its rows (so a row shows one value across the same draws).
    Grid { columns: u32 },
    /// Rows of a latent walk `steps` long: the noise as given (the walk), a row's codes held
    /// along it, the categorical code the row's.
    Walk { steps: u32 },
    /// Each sample its own noise and codes, the categorical code taken in turn: for measures
    /// over many samples.
    Each,
}

/// The latents of `noise` ([n, nz]): each sample's noise followed by its codes as `layout`
/// lays them out, the categorical code one-hot, continuous codes drawn uniform in (−1, 1)
/// from `draw` = (seed, stream, step) unless `choice` fixes them. A swept code moves from −1
/// to 1 along a grid's or walk's row. Without codes, `noise` as it is.
pub fn latents(
    model: &ModelConfig,
    noise: &[f32],
    layout: Layout,
    choice: &CodeChoice,
    (seed, stream, step): (u64, u32, u32),
) -> Vec<f32> {
    let codes = model.codes;
    if codes.is_none() {
        return noise.to_vec();
    }
    let nz = model.nz as usize;
    let n = noise.len() / nz.max(1);
    let (k, m) = (codes.categorical as usize, codes.continuous as usize);
    let drawn = reference::random::uniform(seed, stream, step, n * m);
    let mut out = Vec::with_capacity(n * model.latent_len() as usize);
    for i in 0..n {
        // (row, column, the sample whose noise it takes, the sample whose codes it takes)
        let (row, column, noise_of, codes_of) = match layout {
            Layout::Grid { columns } => {
                let columns = columns.max(1) as usize;
                let (row, column) = (i / columns, i % columns);
                let shared = k > 0 && choice.categorical.is_none();
                let source = if shared { column.min(n - 1) } else { i };
                (row, column, source, source)
            }
            Layout::Walk { steps } => {
                let steps = steps.max(1) as usize;
                (i / steps, i % steps, i, (i / steps) * steps)
            }
            Layout::Each => (i, 0, i, i),
        };
        let width = match layout {
            Layout::Grid { columns } => columns,
            Layout::Walk { steps } => steps,
            Layout::Each => 1,
        } as usize;
        out.extend_from_slice(&noise[noise_of * nz..(noise_of + 1) * nz]);
        if k > 0 {
            let value = choice.categorical.map_or(row % k, |v| v as usize);
            out.extend((0..k).map(|j| if j == value { 1.0 } else { 0.0 }));
        }
        for j in 0..m {
            let swept = if width > 1 {
                -1.0 + 2.0 * column as f32 / (width - 1) as f32
            } else {
                0.0
            };
            out.push(match (choice.continuous[j], choice.sweep == Some(j)) {
                (_, true) => swept,
                (Some(v), false) => v,
                (None, false) => drawn[codes_of * m + j],
            });
        }
    }
    out
}

/// [`latents`] for the sample grid, its codes drawn from step 1 of the fixed-noise stream (its
/// step 0 is the noise itself).
pub fn grid_latents(
    model: &ModelConfig,
    noise: &[f32],
    columns: u32,
    choice: &CodeChoice,
    seed: u64,
) -> Vec<f32> {
    let layout = Layout::Grid { columns };
    latents(
        model,
        noise,
        layout,
        choice,
        (seed, streams::FIXED_NOISE, 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets::Preset;

    #[test]
    fn choices_parse_and_bad_ones_are_refused() {
        let codes = Codes::MNIST;
        let c = CodeChoice::parse("k=3, c1=0.5,c2", codes).unwrap();
        assert_eq!(c.categorical, Some(3));
        assert_eq!(c.continuous, vec![Some(0.5), None]);
        assert_eq!(c.sweep, Some(1));
        for bad in [
            "k=10", "k=-1", "k", "c3=0", "c0=0", "c1=2.5", "c1=nan", "z=1",
        ] {
            let e = CodeChoice::parse(bad, codes).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(CodeChoice::parse("k=1", Codes::NONE).is_err());
    }

    #[test]
    fn grid_rows_take_each_value_over_their_columns_draws() {
        let model = ModelConfig::new(Preset::Infogan28);
        let nz = model.nz as usize;
        let noise: Vec<f32> = (0..20 * nz).map(|i| i as f32).collect();
        let z = grid_latents(&model, &noise, 2, &CodeChoice::drawn(model.codes), 7);
        let len = model.latent_len() as usize;
        assert_eq!(z.len(), 20 * len);
        // Sample 5 is row 2, column 1: column 1's noise, one-hot 2.
        let s = &z[5 * len..6 * len];
        assert_eq!(&s[..nz], &noise[nz..2 * nz]);
        assert_eq!(s[nz + 2], 1.0);
        assert_eq!(s[nz..nz + 10].iter().sum::<f32>(), 1.0);
        // The same column's continuous codes down the rows.
        assert_eq!(&z[len - 2..len], &z[3 * len - 2..3 * len]);
        assert!(s[len - 2..].iter().all(|v| v.abs() < 1.0));
    }
}

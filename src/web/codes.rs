//! InfoGAN's codes in the training page and the shared page: the categorical selector's and
//! the sliders' values as a [`CodeChoice`], the grid redrawn for them by writing its latents
//! alone (the sampler, its buffers and the canvas stay), and a latent walk that keeps them.

use wasm_bindgen::prelude::*;

use super::session::Session;
use crate::model::infogan::Codes;
use crate::train::codes::{grid_latents, CodeChoice, CONTINUOUS_RANGE};
use crate::train::sample::{noise, walk_noise};
use crate::train::{Prior, TrainConfig};
use crate::{reference, streams};

#[wasm_bindgen]
impl Session {
    /// Fixes InfoGAN's codes for the grid and the walks: `categorical` a value from 0, or −1
    /// for a row per value; `continuous` one value per code in ±2, NaN where it is drawn.
    /// The grid's noise stays; only its latents are written again.
    #[wasm_bindgen(js_name = setCodes)]
    pub fn set_codes(&mut self, categorical: i32, continuous: &[f32]) -> Result<(), JsError> {
        let gpu = self.gpu.clone();
        let run = self.dcgan_mut()?;
        let model = run.trainer.config.model;
        let choice = code_choice(model.codes, categorical, continuous)?;
        let view = &mut run.view;
        view.z = grid_latents(
            &model,
            &view.noise,
            view.shape.columns,
            &choice,
            run.noise_seed,
        );
        view.sampler.set_noise(&gpu, &view.z);
        run.codes = choice;
        Ok(())
    }
}

/// The codes a page sets: `categorical` a value from 0 (−1: a row per value), `continuous`
/// one per code, NaN where it is drawn; refused in a sentence when they do not fit `codes`.
pub(super) fn code_choice(
    codes: Codes,
    categorical: i32,
    continuous: &[f32],
) -> Result<CodeChoice, JsError> {
    if codes.is_none() {
        return Err(JsError::new(
            "this model has no latent codes: InfoGAN's (infogan28) has",
        ));
    }
    let k = codes.categorical;
    let categorical = match categorical {
        v if v < 0 => None,
        v if (v as u32) < k => Some(v as u32),
        _ if k == 0 => return Err(JsError::new("this model has no categorical code")),
        v => {
            return Err(JsError::new(&format!(
                "the categorical code takes a value from 0 to {}, not {v}",
                k - 1
            )))
        }
    };
    if continuous.len() != codes.continuous as usize {
        return Err(JsError::new(&format!(
            "this model has {} continuous codes, and {} values were given",
            codes.continuous,
            continuous.len()
        )));
    }
    let continuous = continuous
        .iter()
        .enumerate()
        .map(|(j, &v)| match v {
            v if v.is_nan() => Ok(None),
            v if v.abs() <= CONTINUOUS_RANGE => Ok(Some(v)),
            v => Err(JsError::new(&format!(
                "c{} must be a number from −{CONTINUOUS_RANGE} to {CONTINUOUS_RANGE} (training draws it in (−1, 1)), not {v}",
                j + 1
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(CodeChoice {
        categorical,
        continuous,
        sweep: None,
    })
}

/// A latent walk `steps` images wide from `seed`: `walk_noise`'s great circle (truncated at
/// ±`psi` when given); when the run's noise is uniform (InfoGAN's, `--prior uniform`), a
/// straight line between two draws of it (the box (−1, 1)^nz holds the line). For InfoGAN,
/// the codes of `choice`, those drawn drawn once for the whole walk, and a row per
/// categorical value unless one is chosen. Returns the latents and the rows.
pub(super) fn walk_latents(
    c: &TrainConfig,
    seed: u64,
    steps: u32,
    psi: Option<f32>,
    choice: &CodeChoice,
) -> (Vec<f32>, u32) {
    let nz = c.model.nz as usize;
    let codes = c.model.codes;
    let line: Vec<f32> = if c.prior == Prior::Uniform {
        let ends = noise(c, seed, streams::walk(0), 2);
        let ends = &ends;
        (0..steps)
            .flat_map(|s| {
                let t = s as f32 / (steps.max(2) - 1) as f32;
                (0..nz).map(move |i| ends[i] + t * (ends[nz + i] - ends[i]))
            })
            .collect()
    } else {
        walk_noise(seed, nz, steps, psi)
    };
    if codes.is_none() {
        return (line, 1);
    }
    // Step 1 of the walk's stream: step 0 drew its ends.
    let drawn = reference::random::uniform(seed, streams::walk(0), 1, codes.continuous as usize);
    let fixed = CodeChoice {
        continuous: choice
            .continuous
            .iter()
            .zip(&drawn)
            .map(|(v, d)| Some(v.unwrap_or(*d)))
            .collect(),
        ..choice.clone()
    };
    let rows = if codes.categorical > 0 && choice.categorical.is_none() {
        codes.categorical
    } else {
        1
    };
    let noise = line.repeat(rows as usize);
    (grid_latents(&c.model, &noise, steps, &fixed, seed), rows)
}

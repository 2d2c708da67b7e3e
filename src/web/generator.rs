//! The shared generator page's view of webgan (www/share/generator.js): a trained generator
//! alone, loaded from its weights (a checkpoint, or the generator-only file `crate::share`
//! writes), drawing on the page's own thread. DCGAN draws grids from new noise, one class or a
//! row per class, with the truncation trick, and latent walks (InfoGAN with its codes as the
//! person sets them); pix2pix and CycleGAN translate a person's picture. The samplers and translators are the training page's own.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use super::codes::{code_choice, walk_latents};
use super::translate::translate_picture;
use super::{image_object, js_error, NO_WEBGPU};
use crate::checkpoint::Checkpoint;
use crate::graph::program::Net;
use crate::share::{self, PageParts};
use crate::train::codes::{grid_latents, CodeChoice};
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::recipes::pix2pix::Pix2Pix;
use crate::train::sample::{
    check_truncation, check_truncation_fits, grid_layout, grid_rgba, noise, truncated, Sampler,
};
use crate::train::{family_of, load_weights, TrainConfig, Trainer};
use crate::Gpu;

#[wasm_bindgen]
pub struct Generator {
    gpu: Arc<Gpu>,
    model: Model,
    step: u64,
    /// InfoGAN's codes as the person set them (all drawn at first; none for other models).
    codes: CodeChoice,
}

enum Model {
    Dcgan {
        g: Net,
        config: TrainConfig,
    },
    /// pix2pix's G (A → B), or CycleGAN's G_A and G_B; each with its input's channels.
    Translate {
        nets: Vec<(Net, u32)>,
        size: u32,
    },
}

#[wasm_bindgen]
impl Generator {
    /// Opens the GPU and loads the generator(s) of `weights` (a webgan checkpoint of any
    /// family, whole or generator-only, its floats F32 or F16).
    pub async fn open(weights: Vec<u8>) -> Result<Generator, JsError> {
        let gpu = Gpu::new()
            .await
            .map_err(|e| JsError::new(&format!("{e}. {NO_WEBGPU}")))?;
        let ck = Checkpoint::from_bytes(&weights).map_err(js_error)?;
        let step = ck.metadata.get("step").and_then(|s| s.parse().ok());
        let model = match family_of(&ck).map_err(js_error)? {
            "dcgan" => {
                let (g, config) = Trainer::load_generator(&gpu, &weights).map_err(js_error)?;
                Model::Dcgan { g, config }
            }
            "pix2pix" => {
                let (ck, run) = Trainer::<Pix2Pix>::config_of(&weights).map_err(js_error)?;
                let g = Net::new(&gpu, run.nets().map_err(js_error)?.0, 0);
                load_weights(&gpu, &ck, &g, "netG").map_err(js_error)?;
                Model::Translate {
                    nets: vec![(g, run.input_nc)],
                    size: run.size,
                }
            }
            "cyclegan" => {
                let (ck, run) = Trainer::<CycleGan>::config_of(&weights).map_err(js_error)?;
                let nets = run.nets().map_err(js_error)?;
                let g_a = Net::new(&gpu, nets.g_a, 0);
                let g_b = Net::new(&gpu, nets.g_b, 0);
                load_weights(&gpu, &ck, &g_a, "netG_A").map_err(js_error)?;
                load_weights(&gpu, &ck, &g_b, "netG_B").map_err(js_error)?;
                Model::Translate {
                    nets: vec![(g_a, run.input_nc), (g_b, run.output_nc)],
                    size: run.size,
                }
            }
            other => {
                return Err(JsError::new(&format!(
                    "this checkpoint holds a {other} run, which this page cannot draw from"
                )))
            }
        };
        let codes = match &model {
            Model::Dcgan { config, .. } => CodeChoice::drawn(config.model.codes),
            Model::Translate { .. } => CodeChoice::default(),
        };
        Ok(Generator {
            gpu: Arc::new(gpu),
            model,
            step: step.unwrap_or(0),
            codes,
        })
    }

    /// `dcgan`, `pix2pix` or `cyclegan`.
    #[wasm_bindgen(getter)]
    pub fn family(&self) -> String {
        match &self.model {
            Model::Dcgan { .. } => "dcgan".into(),
            Model::Translate { nets, .. } if nets.len() == 2 => "cyclegan".into(),
            Model::Translate { .. } => "pix2pix".into(),
        }
    }

    /// The DCGAN preset (`dcgan28`, …), or the translation's size (`64×64`).
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> String {
        match &self.model {
            Model::Dcgan { config, .. } => config.model.preset.name().into(),
            Model::Translate { size, .. } => format!("{size}×{size}"),
        }
    }

    /// Classes of a conditional DCGAN; 0 otherwise.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> u32 {
        match &self.model {
            Model::Dcgan { config, .. } => config.model.classes,
            Model::Translate { .. } => 0,
        }
    }

    /// Whether G was trained on noise uniform in (−1, 1) (InfoGAN's, `--prior uniform`), which
    /// the truncation trick does not fit.
    #[wasm_bindgen(getter, js_name = uniformPrior)]
    pub fn uniform_prior(&self) -> bool {
        match &self.model {
            Model::Dcgan { config, .. } => config.prior == crate::train::Prior::Uniform,
            Model::Translate { .. } => false,
        }
    }

    /// Values of InfoGAN's categorical code; 0 for other models.
    #[wasm_bindgen(getter)]
    pub fn categorical(&self) -> u32 {
        match &self.model {
            Model::Dcgan { config, .. } => config.model.codes.categorical,
            Model::Translate { .. } => 0,
        }
    }

    /// InfoGAN's continuous codes; 0 for other models.
    #[wasm_bindgen(getter)]
    pub fn continuous(&self) -> u32 {
        match &self.model {
            Model::Dcgan { config, .. } => config.model.codes.continuous,
            Model::Translate { .. } => 0,
        }
    }

    /// Fixes InfoGAN's codes for the next grids and walks: `categorical` a value from 0, or
    /// −1 for a row per value; `continuous` one value per code in ±2, NaN where it is drawn.
    #[wasm_bindgen(js_name = setCodes)]
    pub fn set_codes(&mut self, categorical: i32, continuous: &[f32]) -> Result<(), JsError> {
        let (_, c) = self.dcgan()?;
        self.codes = code_choice(c.model.codes, categorical, continuous)?;
        Ok(())
    }

    /// The training step the weights were saved at.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> f64 {
        self.step as f64
    }

    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.gpu.adapter_name()
    }

    /// A grid of samples: 64 of `class` (≥ 0, conditional models), or a row per class (−1), from
    /// the noise of `seed` (the run's own fixed noise when absent), truncated at ±`psi` when
    /// given; for InfoGAN a row per categorical value unless `setCodes` chose one, with the
    /// codes it set: `{ width, height, rgba }`.
    pub async fn samples(
        &self,
        seed: Option<u32>,
        class: i32,
        psi: Option<f32>,
    ) -> Result<JsValue, JsError> {
        let (g, c) = self.dcgan()?;
        let (count, columns, labels) = match class_of(c, class)? {
            None => grid_layout(c),
            Some(k) => (64, 8, vec![k; 64]),
        };
        let seed = seed.map_or(c.seed, |s| 0x5eed_0000_0000 | s as u64);
        let len = (count * c.model.nz) as usize;
        let noise = match psi {
            Some(psi) => {
                check_truncation(psi).map_err(js_error)?;
                check_truncation_fits(c).map_err(js_error)?;
                truncated(seed, crate::streams::FIXED_NOISE, len, psi)
            }
            None => noise(c, seed, crate::streams::FIXED_NOISE, count),
        };
        let z = grid_latents(&c.model, &noise, columns as u32, &self.codes, seed);
        self.draw(g, c, &z, &labels, columns).await
    }

    /// A latent walk between two random points of `seed`, `steps` images wide (2 to 32), of
    /// `class` when the model is conditional (class 0 for −1); for InfoGAN with the codes
    /// `setCodes` set, a row per categorical value unless it chose one: `{ width, height,
    /// rgba }`.
    pub async fn walk(
        &self,
        seed: u32,
        steps: u32,
        class: i32,
        psi: Option<f32>,
    ) -> Result<JsValue, JsError> {
        let (g, c) = self.dcgan()?;
        if let Some(psi) = psi {
            check_truncation(psi).map_err(js_error)?;
            check_truncation_fits(c).map_err(js_error)?;
        }
        let steps = steps.clamp(2, 32);
        let (z, rows) = walk_latents(c, seed as u64, steps, psi, &self.codes);
        let k = class_of(c, class)?.unwrap_or(0);
        let labels = if c.model.classes > 0 {
            vec![k; (steps * rows) as usize]
        } else {
            vec![]
        };
        self.draw(g, c, &z, &labels, steps as usize).await
    }

    /// Translates a picture (`name`, its file's bytes) A → B, or B → A with CycleGAN's G_B
    /// (`aToB` false): `{ width, height, rgba, png }`, the picture beside its translation.
    pub async fn translate(
        &self,
        name: &str,
        bytes: &[u8],
        a_to_b: bool,
    ) -> Result<JsValue, JsError> {
        let Model::Translate { nets, size } = &self.model else {
            return Err(JsError::new(
                "this generator draws images from noise; it does not translate pictures",
            ));
        };
        let (net, channels) = match (a_to_b, nets.as_slice()) {
            (true, [first, ..]) => first,
            (false, [_, second]) => second,
            _ => return Err(JsError::new("a pix2pix generator translates A into B only")),
        };
        translate_picture(&self.gpu, net, *size, *channels, name, bytes).await
    }
}

impl Generator {
    fn dcgan(&self) -> Result<(&Net, &TrainConfig), JsError> {
        match &self.model {
            Model::Dcgan { g, config } => Ok((g, config)),
            Model::Translate { .. } => Err(JsError::new(
                "this generator translates pictures; it does not draw from noise",
            )),
        }
    }

    /// G on `z` (and `labels`), read back as a grid `columns` wide.
    async fn draw(
        &self,
        g: &Net,
        c: &TrainConfig,
        z: &[f32],
        labels: &[u32],
        columns: usize,
    ) -> Result<JsValue, JsError> {
        let sampler = Sampler::new(&self.gpu, g, c, z, labels).map_err(js_error)?;
        let images = sampler.images(&self.gpu).await.map_err(js_error)?;
        Ok(image_object(grid_rgba(
            &images,
            sampler.count as usize,
            c.model.channels as usize,
            c.model.preset.image_size() as usize,
            columns,
        )))
    }
}

/// `class` (−1: none) checked against the model's classes; ignored for an unconditional one.
fn class_of(c: &TrainConfig, class: i32) -> Result<Option<u32>, JsError> {
    let classes = c.model.classes;
    match class {
        _ if classes == 0 => Ok(None),
        k if k < 0 => Ok(None),
        k if (k as u32) < classes => Ok(Some(k as u32)),
        k => Err(JsError::new(&format!(
            "class {k} does not exist: the model has {classes} classes"
        ))),
    }
}

/// The snippets webgan.js imports, relative to www/pkg, for `sharePage` to carry.
#[wasm_bindgen(js_name = shareSnippetPaths)]
pub fn share_snippet_paths(glue: &str) -> Vec<String> {
    share::page::snippet_paths(glue)
}

/// The generator page of `checkpoint` as one HTML file: the template (www/share/generator.html)
/// with its script and style, the wasm package (`glue`, its `snippets` as [path, text] pairs, the
/// `wasm`) and the generator's weights alone, as F16 when `half`.
#[wasm_bindgen(js_name = sharePage)]
#[allow(clippy::too_many_arguments)]
pub fn share_page(
    html: &str,
    script: &str,
    css: &str,
    glue: &str,
    snippet_paths: Vec<String>,
    snippet_texts: Vec<String>,
    wasm: &[u8],
    checkpoint: &[u8],
    half: bool,
) -> Result<String, JsError> {
    let generator = share::generator_only(checkpoint, half).map_err(js_error)?;
    let parts = PageParts {
        html,
        script,
        css,
        glue,
        snippets: snippet_paths.into_iter().zip(snippet_texts).collect(),
        wasm,
    };
    share::fill(&parts, &generator, half).map_err(js_error)
}

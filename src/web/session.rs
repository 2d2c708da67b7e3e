//! One GPU device for the page, the dataset on it, and the GAN being trained. It lives in the
//! page's session worker (www/app/session-worker.js) and draws through an `OffscreenCanvas`
//! the page handed over, so nothing it does holds up the page.
//!
//! A run is of one family: DCGAN (`dcgan.rs`: a dataset of images, samples from noise drawn
//! straight from GPU memory into the canvas), CycleGAN (`cyclegan.rs`: two unpaired domains) or
//! pix2pix (`pix2pix.rs`: aligned pairs); the two image-to-image families show translations of
//! fixed examples, read back for the page to draw (`translate.rs`). What every run does (train,
//! stats, save, resume) is here, and goes to the run's family.
//!
//! The worker drives it: `train(n)` records and submits n steps at once, `stats()` waits for them
//! (so bursts are paced by the GPU, never queued up without bound), `render()` or `preview()`
//! shows where training is.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use wasm_bindgen::prelude::*;
use web_sys::OffscreenCanvas;

use super::cyclegan::CycleRun;
use super::dcgan::{not_dcgan, DcganRun};
use super::device::{connect, invalid_buffer, Health};
use super::pix2pix::Pix2PixRun;
use super::{image_object, js_error};
use crate::data::{Dataset, Pairs, Unpaired};
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::recipes::pix2pix::Pix2Pix;
use crate::train::sample::grid_rgba;
use crate::train::{checkpoint_family, Trainer};
use crate::Gpu;

#[wasm_bindgen]
pub struct Session {
    pub(super) gpu: Arc<Gpu>,
    pub(super) surface: wgpu::Surface<'static>,
    pub(super) canvas: OffscreenCanvas,
    health: Arc<Mutex<Health>>,
    /// Shared with the run when the run trains at the data's own size: one copy.
    pub(super) data: Option<Data>,
    pub(super) run: Option<Run>,
    /// The next build makes an invalid buffer inside its error scopes (for tests).
    pub(super) break_next_build: bool,
}

/// What the session trains on: a dataset of images (DCGAN), two unpaired domains (CycleGAN) or
/// aligned pairs (pix2pix), with their held-out examples.
pub(super) enum Data {
    Images(Rc<Dataset>),
    Domains(Rc<Unpaired>),
    Pairs(Rc<Pairs>),
}

/// The GAN in training.
pub(super) enum Run {
    Dcgan(Box<DcganRun>),
    CycleGan(Box<CycleRun>),
    Pix2Pix(Box<Pix2PixRun>),
}

impl Run {
    /// The family's name as a person reads it.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Run::Dcgan(_) => "DCGAN",
            Run::CycleGan(_) => "CycleGAN",
            Run::Pix2Pix(_) => "pix2pix",
        }
    }

    /// What a call of another family's (`wanted`) is told.
    pub(super) fn not(&self, wanted: &str) -> JsError {
        JsError::new(&format!(
            "this is a {} run, not a {wanted} one",
            self.name()
        ))
    }
}

#[wasm_bindgen]
impl Session {
    /// Opens the GPU and makes `canvas` a WebGPU canvas for the sample grid.
    pub async fn open(canvas: OffscreenCanvas) -> Result<Session, JsError> {
        let (gpu, surface, health) = connect(&canvas).await?;
        Ok(Session {
            gpu,
            surface,
            canvas,
            health,
            data: None,
            run: None,
            break_next_build: false,
        })
    }

    /// A new device after the old one was lost, on the same canvas and dataset; the run is
    /// gone (resume it from a checkpoint).
    pub async fn reopen(&mut self) -> Result<(), JsError> {
        self.run = None;
        let (gpu, surface, health) = connect(&self.canvas).await?;
        self.gpu = gpu;
        self.surface = surface;
        self.health = health;
        Ok(())
    }

    /// Whether the GEMMs share loads across subgroup lanes on this device.
    #[wasm_bindgen(getter)]
    pub fn subgroups(&self) -> bool {
        self.gpu.subgroups
    }

    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        let name = self.gpu.short_name();
        if self.gpu.adapter_info.device_type == wgpu::DeviceType::Cpu {
            format!("{name} (a software GPU: slow)")
        } else {
            name
        }
    }

    /// Why the device was lost, once it has been; then the session is dead and the page opens
    /// a new one.
    #[wasm_bindgen(getter)]
    pub fn lost(&self) -> Option<String> {
        self.health.lock().ok().and_then(|h| h.lost.clone())
    }

    /// GPU errors no scope caught since the last call, each once, in words (each also went
    /// to the console).
    #[wasm_bindgen(js_name = takeErrors)]
    pub fn take_errors(&self) -> Vec<String> {
        self.health
            .lock()
            .map(|mut h| std::mem::take(&mut h.errors))
            .unwrap_or_default()
    }

    /// Loses the device on purpose: the page's recovery path, for tests.
    #[wasm_bindgen(js_name = loseDeviceForTesting)]
    pub fn lose_device_for_testing(&self) {
        self.gpu.device.destroy();
    }

    /// Makes a GPU error outside any error scope, as a broken dispatch would: the page's path
    /// for GPU errors during training, for tests.
    #[wasm_bindgen(js_name = causeGpuErrorForTesting)]
    pub fn cause_gpu_error_for_testing(&self) {
        invalid_buffer(&self.gpu);
    }

    /// Makes the next `start` or `resume` meet a GPU validation error that has nothing to do
    /// with the model's size, for tests.
    #[wasm_bindgen(js_name = breakNextBuildForTesting)]
    pub fn break_next_build_for_testing(&mut self) {
        self.break_next_build = true;
    }

    /// Writes a NaN into a discriminator's first weight (D's, or D_A's), so that the next
    /// step's losses are NaN: the page's divergence path, for tests.
    #[wasm_bindgen(js_name = poisonForTesting)]
    pub fn poison_for_testing(&self) -> Result<(), JsError> {
        let d = match self.run()? {
            Run::Dcgan(r) => r.trainer.d(),
            Run::CycleGan(r) => &r.trainer.recipe.d_a,
            Run::Pix2Pix(r) => &r.trainer.recipe.d,
        };
        let p = d.all_params().next().ok_or_else(no_run)?;
        self.gpu
            .queue
            .write_buffer(&p.value, 0, bytemuck::bytes_of(&f32::NAN));
        Ok(())
    }

    /// Up to `n` real images spread over the data, in a row; two domains or the two sides of
    /// pairs give a row each, A's above B's (a pair's A above its B): `{ width, height, rgba }`.
    pub fn thumbnails(&self, n: u32) -> Result<JsValue, JsError> {
        let spread = |d: &Dataset, n: u32| crate::quality::dataset::spread(d, n as usize, 0);
        let two_rows = |a: &Dataset, b: &Dataset| {
            let (a_row, b_row) = (spread(a, n / 2), spread(b, n / 2));
            let columns = (a_row.len().max(b_row.len()) / a.row_len()).max(1);
            // Each row filled to the same width: the shorter one repeats.
            let row = |p: Vec<u8>| {
                p.iter()
                    .copied()
                    .cycle()
                    .take(columns * a.row_len())
                    .collect::<Vec<u8>>()
            };
            ([row(a_row), row(b_row)].concat(), columns)
        };
        let (d, pixels, columns) = match &self.data {
            Some(Data::Images(d)) => (&**d, spread(d, n), n as usize),
            Some(Data::Domains(u)) => {
                let (pixels, columns) = two_rows(&u.a, &u.b);
                (&u.a, pixels, columns)
            }
            Some(Data::Pairs(p)) => {
                let (pixels, columns) = two_rows(&p.a, &p.b);
                (&p.a, pixels, columns)
            }
            None => return Err(JsError::new("no dataset is loaded yet")),
        };
        let count = pixels.len() / d.row_len();
        let images: Vec<f32> = pixels.iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
        Ok(image_object(grid_rgba(
            &images,
            count,
            d.spec.channels as usize,
            d.spec.size as usize,
            columns,
        )))
    }

    /// Continues a run from a checkpoint (the CLI's or the page's, of any family) on the data
    /// loaded. Resolves like `start`, with the step it resumes at.
    pub async fn resume(&mut self, checkpoint: &[u8]) -> Result<JsValue, JsError> {
        match checkpoint_family(checkpoint).map_err(js_error)?.as_str() {
            "cyclegan" => {
                let (_, run) = Trainer::<CycleGan>::config_of(checkpoint).map_err(js_error)?;
                self.build_cyclegan(run, Some(checkpoint)).await
            }
            "pix2pix" => {
                let (_, run) = Trainer::<Pix2Pix>::config_of(checkpoint).map_err(js_error)?;
                self.build_pix2pix(run, Some(checkpoint)).await
            }
            "dcgan" => {
                let (_, config) = Trainer::checkpoint_config(checkpoint).map_err(js_error)?;
                self.build_dcgan(config, Some(checkpoint)).await
            }
            other => Err(JsError::new(&format!(
                "this checkpoint holds a {other} run, and the page trains DCGAN, CycleGAN and pix2pix"
            ))),
        }
    }

    /// Records `steps` steps into one submission.
    pub fn train(&mut self, steps: u32) -> Result<(), JsError> {
        self.alive()?;
        match self.run.as_mut().ok_or_else(no_run)? {
            Run::Dcgan(r) => r.trainer.train(steps),
            Run::CycleGan(r) => r.trainer.train(steps),
            Run::Pix2Pix(r) => r.trainer.train(steps),
        }
        .map_err(js_error)
    }

    /// Completed steps.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> f64 {
        match &self.run {
            Some(Run::Dcgan(r)) => r.trainer.step as f64,
            Some(Run::CycleGan(r)) => r.trainer.step as f64,
            Some(Run::Pix2Pix(r)) => r.trainer.step as f64,
            None => 0.0,
        }
    }

    /// The run's family, as checkpoints name it: "dcgan", "cyclegan" or "pix2pix".
    #[wasm_bindgen(getter)]
    pub fn family(&self) -> Option<String> {
        self.run.as_ref().map(|r| match r {
            Run::Dcgan(_) => "dcgan".into(),
            Run::CycleGan(_) => "cyclegan".into(),
            Run::Pix2Pix(_) => "pix2pix".into(),
        })
    }

    /// The current configuration, as JSON (a checkpoint's `config` metadata).
    #[wasm_bindgen(getter)]
    pub fn config(&self) -> Option<String> {
        self.run.as_ref().map(|r| match r {
            Run::Dcgan(r) => r.trainer.config.to_json(),
            Run::CycleGan(r) => r.trainer.config.to_json(),
            Run::Pix2Pix(r) => r.trainer.config.to_json(),
        })
    }

    /// Waits for the submitted steps and reads the last one's stats: `{ step, finite, ... }`
    /// with the family's losses (see `DcganRun::stats`, `CycleRun::stats`,
    /// `Pix2PixRun::stats`).
    pub async fn stats(&self) -> Result<JsValue, JsError> {
        self.alive()?;
        match self.run()? {
            Run::Dcgan(r) => r.stats().await,
            Run::CycleGan(r) => r.stats().await,
            Run::Pix2Pix(r) => r.stats().await,
        }
    }

    /// What the page shows of the run as it is now (DCGAN's sample grid, the translations of
    /// CycleGAN's or pix2pix's examples), as PNG bytes.
    #[wasm_bindgen(js_name = gridPng)]
    pub async fn grid_png(&self) -> Result<Vec<u8>, JsError> {
        let grid = match self.run()? {
            Run::Dcgan(r) => r.grid(&self.gpu).await?,
            Run::CycleGan(r) => r.grid(&self.gpu).await?,
            Run::Pix2Pix(r) => r.grid(&self.gpu).await?,
        };
        png(grid)
    }

    /// The whole training state as a safetensors checkpoint (what `webgan train --resume` reads).
    pub async fn save(&self) -> Result<Vec<u8>, JsError> {
        self.alive()?;
        match self.run()? {
            Run::Dcgan(r) => r.trainer.save().await,
            Run::CycleGan(r) => r.trainer.save().await,
            Run::Pix2Pix(r) => r.trainer.save().await,
        }
        .map_err(js_error)
    }

    /// The run's generator as an ONNX model (what `webgan export --format onnx` writes from the
    /// same checkpoint): DCGAN's moving average when it keeps one; for CycleGAN, `direction`
    /// "AtoB" (G_A, the default) or "BtoA" (G_B).
    #[wasm_bindgen(js_name = exportOnnx)]
    pub async fn export_onnx(&self, direction: Option<String>) -> Result<Vec<u8>, JsError> {
        let direction = direction
            .as_deref()
            .map(crate::export::Direction::parse)
            .transpose()
            .map_err(js_error)?;
        let checkpoint = self.save().await?;
        crate::export::onnx_of_checkpoint(&checkpoint, direction).map_err(js_error)
    }
}

impl Session {
    pub(super) fn run(&self) -> Result<&Run, JsError> {
        self.run.as_ref().ok_or_else(no_run)
    }

    pub(super) fn dcgan(&self) -> Result<&DcganRun, JsError> {
        match self.run()? {
            Run::Dcgan(run) => Ok(run),
            other => Err(not_dcgan(other)),
        }
    }

    pub(super) fn alive(&self) -> Result<(), JsError> {
        match self.lost() {
            Some(why) => Err(JsError::new(&format!("the GPU device was lost: {why}"))),
            None => Ok(()),
        }
    }
}

pub(super) fn no_run() -> JsError {
    JsError::new("no GAN is being trained yet: press Start")
}

/// An RGBA image as PNG bytes.
pub(super) fn png((width, height, rgba): (u32, u32, Vec<u8>)) -> Result<Vec<u8>, JsError> {
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgba,
        width,
        height,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| JsError::new(&format!("cannot encode the PNG: {e}")))?;
    Ok(png)
}

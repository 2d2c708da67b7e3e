//! One GPU device for the page, the dataset on it, and the GAN being trained, whose fixed-noise
//! samples are drawn straight from GPU memory into the page's WebGPU canvas. It lives in the
//! page's session worker (www/app/session-worker.js) and draws through an `OffscreenCanvas`
//! the page handed over, so nothing it does holds up the page.
//!
//! The worker drives it: `train(n)` records and submits n steps at once, `stats()` waits for them
//! (so bursts are paced by the GPU, never queued up without bound), `render()` draws the grid.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use wasm_bindgen::prelude::*;
use web_sys::OffscreenCanvas;

use super::device::{connect, invalid_buffer, Health};
use super::gpu_error::{brief, is_limit};
use super::{image_object, js_error, set};
use crate::data::{Dataset, ImageSpec};
use crate::display::{GridDisplay, GridShape};
use crate::model::presets::Preset;
use crate::quality::evaluate::QualityMeter;
use crate::train::sample::{grid_layout, grid_rgba, slerp, Sampler};
use crate::train::{GpuDataset, TrainConfig, Trainer};
use crate::{reference, Gpu};

/// The canvas format: one every WebGPU canvas takes, and not sRGB, so bytes land as computed.
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// The sample grid is scaled up by whole pixels to about this width.
const GRID_WIDTH: u32 = 520;

#[wasm_bindgen]
pub struct Session {
    gpu: Arc<Gpu>,
    surface: wgpu::Surface<'static>,
    canvas: OffscreenCanvas,
    health: Arc<Mutex<Health>>,
    /// Shared with the run when the run trains at the dataset's own size: one copy.
    dataset: Option<Rc<Dataset>>,
    run: Option<Run>,
    /// The next build makes an invalid buffer inside its error scopes (for tests).
    break_next_build: bool,
}

/// A GAN in training and how it is being looked at.
struct Run {
    trainer: Trainer,
    /// The dataset at the model's size: the session's own when the sizes agree.
    data: Rc<Dataset>,
    view: View,
    /// The class the grid shows, or every class a row.
    class: Option<u32>,
    /// The seed of the grid's noise (the run's own seed until "new noise").
    noise_seed: u64,
    meter: Option<QualityMeter>,
}

struct View {
    sampler: Sampler,
    display: GridDisplay,
    shape: GridShape,
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
            dataset: None,
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
        let i = &self.gpu.adapter_info;
        let name = [
            i.name.as_str(),
            i.vendor.to_string().as_str(),
            i.driver.as_str(),
        ]
        .into_iter()
        .find(|s| !s.is_empty() && *s != "0")
        .unwrap_or("a WebGPU adapter")
        .to_string();
        if i.device_type == wgpu::DeviceType::Cpu {
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

    /// Writes a NaN into D's first weight, so that the next step's losses are NaN: the page's
    /// divergence path, for tests.
    #[wasm_bindgen(js_name = poisonForTesting)]
    pub fn poison_for_testing(&self) -> Result<(), JsError> {
        let p = self
            .run()?
            .trainer
            .d()
            .all_params()
            .next()
            .ok_or_else(no_run)?;
        self.gpu
            .queue
            .write_buffer(&p.value, 0, bytemuck::bytes_of(&f32::NAN));
        Ok(())
    }

    /// Takes a dataset in WGDS form (the built-in digits' file, or a decoded zip). The run, if
    /// any, goes on with its own data until the next `start`. Returns the dataset's summary.
    #[wasm_bindgen(js_name = setDataset)]
    pub fn set_dataset(&mut self, wgds: &[u8]) -> Result<JsValue, JsError> {
        let d = Dataset::decode(wgds).map_err(js_error)?;
        let summary = dataset_summary(&d);
        self.dataset = Some(Rc::new(d));
        Ok(summary)
    }

    /// Decodes a dataset zip straight into the session, as `setDataset` takes one (see
    /// `zip::decode` for which images and `progress`); a zip that cannot be used leaves the
    /// dataset there was. Returns the zip's report with the dataset's summary as `dataset`.
    #[wasm_bindgen(js_name = loadZip)]
    pub fn load_zip(
        &mut self,
        bytes: &[u8],
        preset: &str,
        max_images: Option<u32>,
        progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        let (d, report) = super::zip::decode(bytes, preset, max_images, progress)?;
        set(&report, "dataset", &dataset_summary(&d));
        self.dataset = Some(Rc::new(d));
        Ok(report.into())
    }

    /// The dataset the run trains on (at the model's size), in WGDS form: what the autosave
    /// keeps beside the checkpoint.
    #[wasm_bindgen(js_name = runDataset)]
    pub fn run_dataset(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.run()?.data.encode())
    }

    /// Up to `n` real images spread over the dataset, in a row: `{ width, height, rgba }`.
    pub fn thumbnails(&self, n: u32) -> Result<JsValue, JsError> {
        let d = self.dataset()?;
        let pixels = crate::quality::dataset::spread(d, n as usize, 0);
        let count = pixels.len() / d.row_len();
        let images: Vec<f32> = pixels.iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
        Ok(image_object(grid_rgba(
            &images,
            count,
            d.spec.channels as usize,
            d.spec.size as usize,
            count,
        )))
    }

    /// Builds a new GAN from `config` (the JSON of `TrainConfig::to_json`) on the dataset,
    /// resized to the preset when needed. Resolves to `{ gParams, dParams, classes }`.
    pub async fn start(&mut self, config: &str) -> Result<JsValue, JsError> {
        let config = TrainConfig::from_json(config).map_err(js_error)?;
        self.build(config, None).await
    }

    /// Continues a run from a checkpoint (the CLI's or the page's), on the current dataset.
    /// Resolves like `start`, with the step it resumes at.
    pub async fn resume(&mut self, checkpoint: &[u8]) -> Result<JsValue, JsError> {
        let (_, config) = Trainer::checkpoint_config(checkpoint).map_err(js_error)?;
        self.build(config, Some(checkpoint)).await
    }

    /// Records `steps` alternating steps into one submission.
    pub fn train(&mut self, steps: u32) -> Result<(), JsError> {
        self.alive()?;
        self.run_mut()?.trainer.train(steps).map_err(js_error)
    }

    /// Completed steps.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> f64 {
        self.run.as_ref().map_or(0.0, |r| r.trainer.step as f64)
    }

    /// The current configuration, as JSON.
    #[wasm_bindgen(getter)]
    pub fn config(&self) -> Option<String> {
        self.run.as_ref().map(|r| r.trainer.config.to_json())
    }

    /// Waits for the submitted steps and reads the last one's stats:
    /// `{ step, dLoss, gLoss, dReal, dFakeBefore, dFakeAfter, accuracyReal, accuracyFake, finite }`.
    pub async fn stats(&self) -> Result<JsValue, JsError> {
        self.alive()?;
        let s = self.run()?.trainer.read_stats().await.map_err(js_error)?;
        let o = js_sys::Object::new();
        set(&o, "step", &(s.step as f64).into());
        for (k, v) in [
            ("dLoss", s.d_loss),
            ("gLoss", s.g_loss),
            ("dReal", s.d_real),
            ("dFakeBefore", s.d_fake_before),
            ("dFakeAfter", s.d_fake_after),
            ("accuracyReal", s.accuracy_real),
            ("accuracyFake", s.accuracy_fake),
        ] {
            set(&o, k, &v.into());
        }
        set(&o, "finite", &s.is_finite().into());
        Ok(o.into())
    }

    /// Runs G on the grid's noise and draws the grid into the canvas, all on the GPU.
    pub fn render(&self) -> Result<(), JsError> {
        self.alive()?;
        let run = self.run()?;
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            // Nothing to draw into this frame (hidden tab, resized canvas): the next one will.
            _ => return Ok(()),
        };
        let view = frame.texture.create_view(&Default::default());
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            run.view.sampler.record(&mut pass);
        }
        run.view.display.record(&mut encoder, &view);
        self.gpu.queue.submit([encoder.finish()]);
        self.gpu.queue.present(frame);
        Ok(())
    }

    /// Shows one class in the whole grid (`class` ≥ 0), or a row per class (−1).
    #[wasm_bindgen(js_name = showClass)]
    pub fn show_class(&mut self, class: i32) -> Result<(), JsError> {
        let run = self.run_mut()?;
        let classes = run.trainer.config.model.classes;
        run.class = match class {
            c if c < 0 => None,
            c if (c as u32) < classes => Some(c as u32),
            c => {
                return Err(JsError::new(&format!(
                    "class {c} does not exist: the model has {classes} classes"
                )))
            }
        };
        self.rebuild_view()
    }

    /// Draws the grid from fresh noise (seeded, so the same seed gives the same grid again).
    #[wasm_bindgen(js_name = newNoise)]
    pub fn new_noise(&mut self, seed: u32) -> Result<(), JsError> {
        self.run_mut()?.noise_seed = 0x5eed_0000_0000 | seed as u64;
        self.rebuild_view()
    }

    /// A latent walk between two random points, `steps` images wide (of `class` when the model
    /// is conditional and class ≥ 0, else of class 0): `{ width, height, rgba }`.
    pub async fn interpolation(
        &self,
        seed: u32,
        steps: u32,
        class: i32,
    ) -> Result<JsValue, JsError> {
        let run = self.run()?;
        let c = &run.trainer.config;
        let steps = steps.clamp(2, 32);
        let nz = c.model.nz as usize;
        let ends = reference::random::normal(seed as u64, crate::streams::walk(0), 0, 2 * nz);
        let z: Vec<f32> = (0..steps)
            .flat_map(|s| slerp(&ends[..nz], &ends[nz..], s as f32 / (steps - 1) as f32))
            .collect();
        let labels = if c.model.classes > 0 {
            vec![(class.max(0) as u32).min(c.model.classes - 1); steps as usize]
        } else {
            vec![]
        };
        let sampler = run.trainer.sampler(&z, &labels).map_err(js_error)?;
        let images = sampler.images(&self.gpu).await.map_err(js_error)?;
        Ok(image_object(grid_rgba(
            &images,
            steps as usize,
            c.model.channels as usize,
            c.model.preset.image_size() as usize,
            steps as usize,
        )))
    }

    /// The grid as it is now, as PNG bytes.
    #[wasm_bindgen(js_name = gridPng)]
    pub async fn grid_png(&self) -> Result<Vec<u8>, JsError> {
        let run = self.run()?;
        let images = run.view.sampler.images(&self.gpu).await.map_err(js_error)?;
        let s = run.view.shape;
        let (w, h, rgba) = grid_rgba(
            &images,
            s.count as usize,
            s.channels as usize,
            s.size as usize,
            s.columns as usize,
        );
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            &rgba,
            w,
            h,
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| JsError::new(&format!("cannot encode the PNG: {e}")))?;
        Ok(png)
    }

    /// The whole training state as a safetensors checkpoint (what `webgan train --resume` reads).
    pub async fn save(&self) -> Result<Vec<u8>, JsError> {
        self.alive()?;
        self.run()?.trainer.save().await.map_err(js_error)
    }

    /// The Fréchet distance of G's samples from the data (lower is better). The first call
    /// trains the feature classifier, which takes a while.
    #[wasm_bindgen(js_name = measureQuality)]
    pub async fn measure_quality(&mut self) -> Result<f64, JsError> {
        self.alive()?;
        let gpu = self.gpu.clone();
        let run = self.run.as_mut().ok_or_else(no_run)?;
        if run.meter.is_none() {
            let (on_gpu, _) = GpuDataset::from_dataset(&gpu, &run.data, run.data.is_conditional())
                .map_err(js_error)?;
            let meter = crate::quality::dataset::meter(
                gpu,
                &run.data,
                &on_gpu,
                &run.trainer.config,
                &mut |line| web_sys::console::log_1(&line.into()),
            )
            .await
            .map_err(js_error)?;
            run.meter = Some(meter);
        }
        let meter = run.meter.as_ref().expect("just made");
        meter.measure(&run.trainer).await.map_err(js_error)
    }
}

impl Session {
    fn dataset(&self) -> Result<&Rc<Dataset>, JsError> {
        self.dataset
            .as_ref()
            .ok_or_else(|| JsError::new("no dataset is loaded yet"))
    }

    fn run(&self) -> Result<&Run, JsError> {
        self.run.as_ref().ok_or_else(no_run)
    }

    fn run_mut(&mut self) -> Result<&mut Run, JsError> {
        self.run.as_mut().ok_or_else(no_run)
    }

    fn alive(&self) -> Result<(), JsError> {
        match self.lost() {
            Some(why) => Err(JsError::new(&format!("the GPU device was lost: {why}"))),
            None => Ok(()),
        }
    }

    async fn build(
        &mut self,
        config: TrainConfig,
        checkpoint: Option<&[u8]>,
    ) -> Result<JsValue, JsError> {
        self.alive()?;
        let dataset = self.dataset()?;
        let classes = config.model.classes as usize;
        if classes > 0 && dataset.class_count() != classes {
            return Err(JsError::new(&if checkpoint.is_some() {
                format!(
                    "this checkpoint is of a conditional model of {classes} classes, and the dataset has {}: load the dataset it was trained on first",
                    dataset.class_count()
                )
            } else {
                format!(
                    "a conditional model needs the dataset's classes: it has {}, the model {classes}",
                    dataset.class_count()
                )
            }));
        }
        let spec = ImageSpec {
            size: config.model.preset.image_size(),
            channels: config.model.channels,
        };
        let data = if dataset.spec == spec {
            dataset.clone()
        } else {
            Rc::new(dataset.converted(spec).map_err(js_error)?)
        };
        let break_build = std::mem::take(&mut self.break_next_build);
        // The old run stays until the new one is built: a model that does not fit the GPU must
        // not cost the person the run they had.
        let gpu = self.gpu.clone();
        let out_of_memory = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let built = (|| -> crate::Result<Trainer> {
            if break_build {
                invalid_buffer(&gpu);
            }
            let (on_gpu, _) = GpuDataset::from_dataset(&gpu, &data, classes > 0)?;
            match checkpoint {
                Some(bytes) => Trainer::resume(gpu.clone(), bytes, on_gpu),
                None => Trainer::new(gpu.clone(), config, on_gpu),
            }
        })();
        let invalid = invalid.pop().await;
        let out_of_memory = out_of_memory.pop().await;
        let (preset, batch) = (config.model.preset.name(), config.batch);
        if let Some(e) = out_of_memory {
            return Err(JsError::new(&format!(
                "the GPU ran out of memory for {preset} at batch {batch} (width {}): choose a smaller preset, batch or width ({})",
                config.model.ngf.max(config.model.ndf),
                brief(&e.to_string())
            )));
        }
        if let Some(e) = invalid {
            let e = brief(&e.to_string());
            return Err(JsError::new(&if is_limit(&e) {
                format!("this GPU cannot hold {preset} at batch {batch}: choose a smaller preset or batch ({e})")
            } else {
                format!("the GPU refused to build {preset} at batch {batch}: {e}")
            }));
        }
        let trainer = built.map_err(js_error)?;
        let seed = trainer.config.seed;
        let info = js_sys::Object::new();
        set(&info, "gParams", &(trainer.g().param_count() as u32).into());
        set(&info, "dParams", &(trainer.d().param_count() as u32).into());
        set(&info, "classes", &trainer.config.model.classes.into());
        set(&info, "step", &(trainer.step as f64).into());
        let view = self.view(&trainer, None, seed)?;
        self.run = Some(Run {
            trainer,
            data,
            view,
            class: None,
            noise_seed: seed,
            meter: None,
        });
        Ok(info.into())
    }

    fn rebuild_view(&mut self) -> Result<(), JsError> {
        let run = self.run.as_ref().ok_or_else(no_run)?;
        let view = self.view(&run.trainer, run.class, run.noise_seed)?;
        self.run.as_mut().expect("checked").view = view;
        Ok(())
    }

    /// The grid's sampler and display, and the canvas sized and configured for it.
    fn view(&self, trainer: &Trainer, class: Option<u32>, seed: u64) -> Result<View, JsError> {
        let c = &trainer.config;
        let (count, columns, labels) = match class {
            None => grid_layout(c),
            Some(k) => (64, 8, vec![k; 64]),
        };
        let z = if seed == c.seed {
            trainer.fixed_noise(count)
        } else {
            reference::random::normal(
                seed,
                crate::streams::FIXED_NOISE,
                0,
                (count * c.model.nz) as usize,
            )
        };
        let sampler = trainer.sampler(&z, &labels).map_err(js_error)?;
        let shape = GridShape {
            count,
            channels: c.model.channels,
            size: c.model.preset.image_size(),
            columns: columns as u32,
        };
        let scale = (GRID_WIDTH / shape.pixels().0).max(1);
        let display = GridDisplay::new(&self.gpu, FORMAT, sampler.output(), shape, scale)
            .map_err(js_error)?;
        self.canvas.set_width(display.width);
        self.canvas.set_height(display.height);
        self.surface.configure(
            &self.gpu.device,
            &wgpu::SurfaceConfiguration {
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                format: FORMAT,
                width: display.width,
                height: display.height,
                present_mode: wgpu::PresentMode::Fifo,
                desired_maximum_frame_latency: 2,
                alpha_mode: wgpu::CompositeAlphaMode::Opaque,
                view_formats: vec![],
                color_space: wgpu::SurfaceColorSpace::Auto,
            },
        );
        Ok(View {
            sampler,
            display,
            shape,
        })
    }
}

fn no_run() -> JsError {
    JsError::new("no GAN is being trained yet: press Start")
}

fn dataset_summary(d: &Dataset) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "images", &(d.count() as u32).into());
    set(&o, "size", &d.spec.size.into());
    set(&o, "channels", &d.spec.channels.into());
    let classes = js_sys::Array::new();
    for (k, n) in d.images_per_class().into_iter().enumerate() {
        classes.push(&js_sys::Array::of2(
            &d.class_name(k).unwrap_or("?").into(),
            &(n as u32).into(),
        ));
    }
    set(&o, "classes", &classes);
    // The preset that fits: the digits (28×28 gray) → dcgan28, and so on.
    let preset = Preset::fitting(d.spec.size, d.spec.channels == 1);
    set(&o, "preset", &preset.name().into());
    o.into()
}

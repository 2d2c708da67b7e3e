//! The session's DCGAN: a dataset of images (the built-in digits, or a zip's, classes and all),
//! the GAN trained on it, and its fixed-noise samples drawn straight from GPU memory into the
//! page's WebGPU canvas. Playing with the generator (one class, new noise, a latent walk,
//! InfoGAN's codes in `codes.rs`) and the quality measure are DCGAN's alone.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::codes::walk_latents;
use super::device::{invalid_buffer, scoped, Refusal};
use super::gpu_error::is_limit;
use super::session::{no_run, Data, Run, Session};
use super::{image_object, js_error, set};
use crate::data::{Dataset, ImageSpec};
use crate::display::{GridDisplay, GridShape};
use crate::model::presets::Preset;
use crate::quality::dataset::SAMPLES;
use crate::quality::evaluate::{FeatureSpace, QualityMeter, MIN_REAL_IMAGES};
use crate::train::codes::{grid_latents, CodeChoice};
use crate::train::sample::{
    check_truncation, check_truncation_fits, grid_layout, grid_rgba, interleaved, noise, truncated,
    Sampler,
};
use crate::train::{GpuDataset, TrainConfig, Trainer};
use crate::Gpu;

/// The canvas format: one every WebGPU canvas takes, and not sRGB, so bytes land as computed.
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// The sample grid is scaled up by whole pixels to about this width.
const GRID_WIDTH: u32 = 520;

/// A GAN in training and how it is being looked at.
pub(super) struct DcganRun {
    pub(super) trainer: Trainer,
    /// The dataset at the model's size: the session's own when the sizes agree.
    pub(super) data: Rc<Dataset>,
    pub(super) view: View,
    /// The class the grid shows, or every class a row.
    class: Option<u32>,
    /// The seed of the grid's noise (the run's own seed until "new noise").
    pub(super) noise_seed: u64,
    /// The truncation trick's ψ for the grid's and the walk's noise, when on.
    truncation: Option<f32>,
    /// InfoGAN's codes as the page fixed them (all drawn at first).
    pub(super) codes: CodeChoice,
    /// The quality measure's feature space, with the real images' features fitted in it when
    /// the dataset has enough images for a Fréchet distance.
    quality: Option<Quality>,
    /// The training images' features in that space, for the copy check (computed once).
    training_features: Option<Vec<f32>>,
}

/// The feature space, trained once per run (the first measurement trains the classifier).
enum Quality {
    Meter(QualityMeter),
    /// Too few images for a Fréchet distance; the copy check still works.
    SpaceOnly(FeatureSpace),
}

impl Quality {
    fn space(&self) -> &FeatureSpace {
        match self {
            Quality::Meter(m) => &m.space,
            Quality::SpaceOnly(s) => s,
        }
    }
}

pub(super) struct View {
    pub(super) sampler: Sampler,
    display: GridDisplay,
    pub(super) shape: GridShape,
    /// The grid's noise ([count, nz]), before any codes.
    pub(super) noise: Vec<f32>,
    /// Its latents (the noise, then InfoGAN's codes: [count, latent_len]) and classes, for
    /// looking again at one of its images.
    pub(super) z: Vec<f32>,
    labels: Vec<u32>,
}

#[wasm_bindgen]
impl Session {
    /// Takes a dataset in WGDS form (the built-in digits' file, or a decoded zip). The run, if
    /// any, goes on with its own data until the next `start`. Returns the dataset's summary.
    #[wasm_bindgen(js_name = setDataset)]
    pub fn set_dataset(&mut self, wgds: &[u8]) -> Result<JsValue, JsError> {
        let d = Dataset::decode(wgds).map_err(js_error)?;
        let summary = dataset_summary(&d);
        self.data = Some(Data::Images(Rc::new(d)));
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
        self.data = Some(Data::Images(Rc::new(d)));
        Ok(report.into())
    }

    /// The dataset the run trains on (at the model's size), in WGDS form: what the autosave
    /// keeps beside the checkpoint.
    #[wasm_bindgen(js_name = runDataset)]
    pub fn run_dataset(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.dcgan()?.data.encode())
    }

    /// Builds a new GAN from `config` (the JSON of `TrainConfig::to_json`) on the dataset,
    /// resized to the preset when needed. Resolves to `{ gParams, dParams, classes }`.
    pub async fn start(&mut self, config: &str) -> Result<JsValue, JsError> {
        let config = TrainConfig::from_json(config).map_err(js_error)?;
        self.build_dcgan(config, None).await
    }

    /// Runs G on the grid's noise and draws the grid into the canvas, all on the GPU.
    pub fn render(&self) -> Result<(), JsError> {
        self.alive()?;
        let run = self.dcgan()?;
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
        let run = self.dcgan_mut()?;
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
        self.dcgan_mut()?.noise_seed = 0x5eed_0000_0000 | seed as u64;
        self.rebuild_view()
    }

    /// The truncation trick for the grid and the walks: z's values outside ±ψ redrawn (`psi`
    /// from 0.05), or off (`undefined`).
    #[wasm_bindgen(js_name = setTruncation)]
    pub fn set_truncation(&mut self, psi: Option<f32>) -> Result<(), JsError> {
        if let Some(psi) = psi {
            check_truncation(psi).map_err(js_error)?;
            check_truncation_fits(&self.dcgan()?.trainer.config).map_err(js_error)?;
        }
        self.dcgan_mut()?.truncation = psi;
        self.rebuild_view()
    }

    /// A latent walk between two random points, `steps` images wide (of `class` when the model
    /// is conditional and class ≥ 0, else of class 0; for InfoGAN with the codes as set, a row
    /// per categorical value unless one is): `{ width, height, rgba }`.
    pub async fn interpolation(
        &self,
        seed: u32,
        steps: u32,
        class: i32,
    ) -> Result<JsValue, JsError> {
        let run = self.dcgan()?;
        let c = &run.trainer.config;
        let steps = steps.clamp(2, 32);
        let (z, rows) = walk_latents(c, seed as u64, steps, run.truncation, &run.codes);
        let count = (steps * rows) as usize;
        let labels = if c.model.classes > 0 {
            vec![(class.max(0) as u32).min(c.model.classes - 1); count]
        } else {
            vec![]
        };
        let sampler = run.trainer.sampler(&z, &labels).map_err(js_error)?;
        let images = sampler.images(&self.gpu).await.map_err(js_error)?;
        Ok(image_object(grid_rgba(
            &images,
            count,
            c.model.channels as usize,
            c.model.preset.image_size() as usize,
            steps as usize,
        )))
    }

    /// Where G's last self-attention block looks from the point (`fx`, `fy`) of the grid,
    /// given as fractions of its width and height: `{ block, side, query: [x, y], weights:
    /// Float32Array (side × side, summing to 1), image: { width, height, rgba }, pixel:
    /// [x, y], index }` for the sample under the point, or null on a gap between samples.
    #[wasm_bindgen(js_name = attentionAt)]
    pub async fn attention_at(&self, fx: f64, fy: f64) -> Result<JsValue, JsError> {
        let run = self.dcgan()?;
        let Some((index, x, y)) = run.view.shape.locate(fx, fy) else {
            return Ok(JsValue::NULL);
        };
        let c = &run.trainer.config;
        let nz = c.model.latent_len() as usize;
        let i = index as usize;
        let z = &run.view.z[i * nz..(i + 1) * nz];
        let class = run.view.labels.get(i).copied();
        let view = run
            .trainer
            .attention_at(z, class, x, y)
            .await
            .map_err(js_error)?;
        let size = c.model.preset.image_size() as usize;
        let o = js_sys::Object::new();
        set(&o, "block", &view.block.as_str().into());
        set(&o, "side", &view.side.into());
        let pair = |a: u32, b: u32| js_sys::Array::of2(&a.into(), &b.into()).into();
        set(&o, "query", &pair(view.query.0, view.query.1));
        set(&o, "pixel", &pair(x, y));
        set(&o, "index", &index.into());
        set(
            &o,
            "weights",
            &js_sys::Float32Array::from(&view.weights[..]).into(),
        );
        // The sample alone, without the grid's border: RGBA, gray repeated.
        let channels = c.model.channels as usize;
        let rgba: Vec<u8> = interleaved(&view.image, channels, size)
            .chunks(channels)
            .flat_map(|p| [p[0], p[channels / 2], p[channels - 1], 255])
            .collect();
        set(&o, "image", &image_object((size as u32, size as u32, rgba)));
        Ok(o.into())
    }

    /// The Fréchet distance of G's samples from the data (lower is better). The first call
    /// trains the feature classifier, which takes a while.
    #[wasm_bindgen(js_name = measureQuality)]
    pub async fn measure_quality(&mut self) -> Result<f64, JsError> {
        self.quality().await?;
        let run = self.dcgan_mut()?;
        match run.quality.as_ref().expect("just made") {
            Quality::Meter(meter) => meter.measure(&run.trainer).await.map_err(js_error),
            Quality::SpaceOnly(_) => Err(JsError::new(&format!(
                "the Fréchet distance needs at least {MIN_REAL_IMAGES} images, and this dataset has {}",
                run.data.count()
            ))),
        }
    }

    /// Does the generator copy its training images, has it collapsed? `{ copyRate, typical,
    /// diversity, samples, training, warning (a sentence or null), pairs: { width, height,
    /// rgba } }`, the pairs being 16 samples each with its nearest training image to its right.
    /// Shares the quality measure's feature space (the first call may train the classifier).
    #[wasm_bindgen(js_name = checkCopies)]
    pub async fn check_copies(&mut self) -> Result<JsValue, JsError> {
        self.quality().await?;
        let run = self.dcgan_mut()?;
        if run.training_features.is_none() {
            let space = run.quality.as_ref().expect("just made").space();
            let features = crate::quality::dataset::training_features(space, &run.data)
                .await
                .map_err(js_error)?;
            run.training_features = Some(features);
        }
        let space = run.quality.as_ref().expect("just made").space();
        let training = run.training_features.as_deref().expect("just made");
        let check = crate::quality::dataset::check_copies(space, &run.data, training, &run.trainer)
            .await
            .map_err(js_error)?;
        let r = &check.report;
        let o = js_sys::Object::new();
        for (k, v) in [
            ("copyRate", r.copy_rate),
            ("typical", r.typical),
            ("diversity", r.diversity),
            ("samples", r.samples as f64),
            ("training", r.training as f64),
        ] {
            set(&o, k, &v.into());
        }
        set(
            &o,
            "warning",
            &r.warning("Augment: color, translation, cutout")
                .map_or(JsValue::NULL, |w| w.into()),
        );
        let m = &run.trainer.config.model;
        set(
            &o,
            "pairs",
            &image_object(check.pairs_rgba(m.channels as usize, m.preset.image_size() as usize)),
        );
        Ok(o.into())
    }

    /// Trains the feature classifier and fits the real images once per run.
    async fn quality(&mut self) -> Result<(), JsError> {
        self.alive()?;
        let gpu = self.gpu.clone();
        let run = self.dcgan_mut()?;
        if run.quality.is_some() {
            return Ok(());
        }
        let (on_gpu, _) = GpuDataset::from_dataset(&gpu, &run.data, run.data.is_conditional())
            .map_err(js_error)?;
        let log = &mut |line: String| web_sys::console::log_1(&line.into());
        let space = crate::quality::dataset::feature_space(gpu, &on_gpu, &run.trainer.config, log)
            .await
            .map_err(js_error)?;
        run.quality = Some(if run.data.count() >= MIN_REAL_IMAGES {
            Quality::Meter(
                QualityMeter::new(
                    space,
                    &crate::quality::dataset::spread(&run.data, SAMPLES, 0),
                    run.data.row_len(),
                    SAMPLES as u32,
                )
                .await
                .map_err(js_error)?,
            )
        } else {
            Quality::SpaceOnly(space)
        });
        Ok(())
    }
}

impl DcganRun {
    /// `{ step, dLoss, gLoss, dReal, dFakeBefore, dFakeAfter, accuracyReal, accuracyFake,
    /// finite }` of the last step submitted (waiting for it), and for InfoGAN Q's losses,
    /// `infoCategorical` (cross-entropy) and `infoContinuous` (½ squared error).
    pub(super) async fn stats(&self) -> Result<JsValue, JsError> {
        let s = self.trainer.read_stats().await.map_err(js_error)?;
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
        if let Some((categorical, continuous)) = s.info {
            set(&o, "infoCategorical", &categorical.into());
            set(&o, "infoContinuous", &continuous.into());
        }
        set(&o, "finite", &s.is_finite().into());
        Ok(o.into())
    }

    /// The grid as it is now: (width, height, RGBA).
    pub(super) async fn grid(&self, gpu: &Gpu) -> Result<(u32, u32, Vec<u8>), JsError> {
        let images = self.view.sampler.images(gpu).await.map_err(js_error)?;
        let s = self.view.shape;
        Ok(grid_rgba(
            &images,
            s.count as usize,
            s.channels as usize,
            s.size as usize,
            s.columns as usize,
        ))
    }
}

impl Session {
    pub(super) fn dcgan_mut(&mut self) -> Result<&mut DcganRun, JsError> {
        match self.run.as_mut() {
            Some(Run::Dcgan(run)) => Ok(run),
            Some(other) => Err(not_dcgan(other)),
            None => Err(no_run()),
        }
    }

    /// The session's dataset of images, or why there is none.
    fn images(&self) -> Result<&Rc<Dataset>, &'static str> {
        match &self.data {
            Some(Data::Images(d)) => Ok(d),
            Some(Data::Domains(_)) => Err(
                "the dataset loaded is CycleGAN's two unpaired domains (trainA/ and trainB/): choose DCGAN to read a zip's images as classes, or use the built-in digits",
            ),
            Some(Data::Pairs(_)) => Err(
                "the dataset loaded is pix2pix's pairs: choose DCGAN to read a zip's images as classes, or use the built-in digits",
            ),
            None => Err("no dataset is loaded yet"),
        }
    }

    pub(super) async fn build_dcgan(
        &mut self,
        config: TrainConfig,
        checkpoint: Option<&[u8]>,
    ) -> Result<JsValue, JsError> {
        self.alive()?;
        let dataset = self.images().map_err(|why| {
            JsError::new(&match checkpoint {
                Some(_) => format!("this checkpoint holds a DCGAN run, and {why}"),
                None => why.to_string(),
            })
        })?;
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
        let built = scoped(&gpu, || {
            if break_build {
                invalid_buffer(&gpu);
            }
            let (on_gpu, _) = GpuDataset::from_dataset(&gpu, &data, classes > 0)?;
            match checkpoint {
                Some(bytes) => Trainer::resume(gpu.clone(), bytes, on_gpu),
                None => Trainer::new(gpu.clone(), config, on_gpu),
            }
        })
        .await;
        let (preset, batch) = (config.model.preset.name(), config.batch);
        let trainer = match built {
            Err(Refusal::OutOfMemory(e)) => {
                return Err(JsError::new(&format!(
                    "the GPU ran out of memory for {preset} at batch {batch} (width {}): choose a smaller preset, batch or width ({e})",
                    config.model.ngf.max(config.model.ndf),
                )))
            }
            Err(Refusal::Invalid(e)) => {
                return Err(JsError::new(&if is_limit(&e) {
                    format!("this GPU cannot hold {preset} at batch {batch}: choose a smaller preset or batch ({e})")
                } else {
                    format!("the GPU refused to build {preset} at batch {batch}: {e}")
                }))
            }
            Ok(built) => built.map_err(js_error)?,
        };
        let seed = trainer.config.seed;
        let info = js_sys::Object::new();
        set(&info, "gParams", &(trainer.g().param_count() as u32).into());
        set(&info, "dParams", &(trainer.d().param_count() as u32).into());
        set(&info, "classes", &trainer.config.model.classes.into());
        set(&info, "step", &(trainer.step as f64).into());
        let codes = CodeChoice::drawn(trainer.config.model.codes);
        let view = self.view(&trainer, None, seed, None, &codes)?;
        self.run = Some(Run::Dcgan(Box::new(DcganRun {
            trainer,
            data,
            view,
            class: None,
            noise_seed: seed,
            truncation: None,
            codes,
            quality: None,
            training_features: None,
        })));
        Ok(info.into())
    }

    fn rebuild_view(&mut self) -> Result<(), JsError> {
        let run = self.dcgan()?;
        let view = self.view(
            &run.trainer,
            run.class,
            run.noise_seed,
            run.truncation,
            &run.codes,
        )?;
        self.dcgan_mut()?.view = view;
        Ok(())
    }

    /// The grid's sampler and display, and the canvas sized and configured for it. The noise
    /// is the run's prior's (uniform for InfoGAN), or truncated at ±ψ; InfoGAN's `codes`
    /// follow it in the latents.
    fn view(
        &self,
        trainer: &Trainer,
        class: Option<u32>,
        seed: u64,
        truncation: Option<f32>,
        codes: &CodeChoice,
    ) -> Result<View, JsError> {
        let c = &trainer.config;
        let (count, columns, labels) = match class {
            None => grid_layout(c),
            Some(k) => (64, 8, vec![k; 64]),
        };
        let len = (count * c.model.nz) as usize;
        let noise = match truncation {
            Some(psi) => truncated(seed, crate::streams::FIXED_NOISE, len, psi),
            None => noise(c, seed, crate::streams::FIXED_NOISE, count),
        };
        // At the run's seed with every code drawn, the run's fixed noise (`fixed_noise`).
        let z = grid_latents(&c.model, &noise, columns as u32, codes, seed);
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
            noise,
            z,
            labels,
        })
    }
}

/// What a DCGAN-only call on an image-to-image run is told.
pub(super) fn not_dcgan(run: &Run) -> JsError {
    JsError::new(&format!(
        "this is a {} run, which translates images rather than drawing them from noise",
        run.name()
    ))
}

pub(super) fn dataset_summary(d: &Dataset) -> JsValue {
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

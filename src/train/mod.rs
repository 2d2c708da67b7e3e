//! The GAN trainer: datasets resident on the GPU, and the alternating step — k discriminator
//! updates on a real batch (label 1) and a fake one (label 0) with G frozen, then one generator
//! update with fresh noise through a frozen D — recorded into one encoder, submitted once.

mod checkpoint;
pub mod config;
mod config_json;
mod fits;
pub mod sample;
mod step;

use std::sync::Arc;

pub use config::{GanLoss, Optimizer, Prior, TrainConfig};

use crate::gpu::Gpu;
use crate::graph::program::{Net, Param, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::kernels::optim::{Adam, Sgd};
use crate::kernels::Dispatch;
use crate::{Error, Result};

/// Slots of the stats buffer the step writes.
pub(crate) mod slot {
    pub const D_LOSS: usize = 0;
    pub const G_LOSS: usize = 1;
    pub const D_REAL: usize = 2;
    pub const D_FAKE_BEFORE: usize = 3;
    pub const D_FAKE_AFTER: usize = 4;
    pub const REAL_CALLED_REAL: usize = 5;
    pub const FAKE_CALLED_FAKE: usize = 6;
    pub const COUNT: usize = 8;
}

/// Slots of the u32 counter buffer: the RNG's step and each optimizer's t.
pub(crate) mod counter {
    pub const RNG: usize = 0;
    pub const D_ADAM: usize = 1;
    pub const G_ADAM: usize = 2;
    pub const COUNT: usize = 4;
}

/// What one read of the stats says, after the last completed step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    pub step: u64,
    pub d_loss: f32,
    pub g_loss: f32,
    /// Mean D(x) on the real batch: σ(logit) for bce/minimax, the raw critic score otherwise.
    pub d_real: f32,
    /// Mean D(G(z)) before D's update (in D's step) and after it (in G's step).
    pub d_fake_before: f32,
    pub d_fake_after: f32,
    /// D's accuracy: the fraction of real images it calls real, and of fakes it calls fake.
    pub accuracy_real: f32,
    pub accuracy_fake: f32,
}

impl Stats {
    pub fn is_finite(&self) -> bool {
        [
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake_before,
            self.d_fake_after,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

/// A u8 dataset on the GPU: `count` rows of `row_len` bytes, packed four to a word, and for a
/// labelled dataset one u32 class per row.
pub struct GpuDataset {
    pub pixels: wgpu::Buffer,
    pub count: u32,
    pub row_len: u32,
    pub labels: Option<wgpu::Buffer>,
    pub classes: u32,
}

/// WebGPU's default limit on one storage binding.
pub const MAX_BINDING_BYTES: usize = 128 << 20;
/// Uploads go in pieces of this size, so no single staging copy is huge.
const UPLOAD_CHUNK: usize = 16 << 20;

impl GpuDataset {
    /// Uploads `pixels` ([count, row_len] u8). Refuses more than one binding can hold: the
    /// caller decides which images to keep.
    pub fn upload(gpu: &Gpu, pixels: &[u8], row_len: usize) -> Result<GpuDataset> {
        if row_len == 0 || pixels.is_empty() || !pixels.len().is_multiple_of(row_len) {
            return Err(Error::Invalid(format!(
                "a dataset of {} bytes is not a whole number of {row_len}-byte images",
                pixels.len()
            )));
        }
        if pixels.len() > MAX_BINDING_BYTES {
            return Err(Error::Invalid(format!(
                "the dataset is {} MiB, more than the {} MiB a GPU buffer binding may hold; keep at most {} images",
                pixels.len() >> 20,
                MAX_BINDING_BYTES >> 20,
                MAX_BINDING_BYTES / row_len
            )));
        }
        let buffer = gpu.storage("dataset", pixels.len().div_ceil(4));
        for (i, chunk) in pixels.chunks(UPLOAD_CHUNK).enumerate() {
            let mut bytes = chunk.to_vec();
            bytes.resize(chunk.len().next_multiple_of(4), 0);
            gpu.queue
                .write_buffer(&buffer, (i * UPLOAD_CHUNK) as u64, &bytes);
        }
        Ok(GpuDataset {
            pixels: buffer,
            count: (pixels.len() / row_len) as u32,
            row_len: row_len as u32,
            labels: None,
            classes: 0,
        })
    }

    /// Uploads `dataset`, with its labels when `conditional`. Keeps the first images that fit
    /// in one binding; the message says how many were left out, if any.
    pub fn from_dataset(
        gpu: &Gpu,
        dataset: &crate::data::Dataset,
        conditional: bool,
    ) -> Result<(GpuDataset, Option<String>)> {
        if conditional && !dataset.is_conditional() {
            return Err(Error::Invalid(
                "a conditional model needs a dataset with classes (one folder per class), and this one has none".into(),
            ));
        }
        let row = dataset.row_len();
        let keep = dataset.count().min(MAX_BINDING_BYTES / row);
        let note = (keep < dataset.count()).then(|| {
            format!(
                "{} images are more than one GPU buffer holds; training on the first {keep}",
                dataset.count()
            )
        });
        let pixels = &dataset.pixels[..keep * row];
        let uploaded = if conditional {
            GpuDataset::upload_labelled(
                gpu,
                pixels,
                row,
                &dataset.labels[..keep],
                dataset.class_count() as u32,
            )?
        } else {
            GpuDataset::upload(gpu, pixels, row)?
        };
        Ok((uploaded, note))
    }

    /// Uploads images with one class label each, every label below `classes`.
    pub fn upload_labelled(
        gpu: &Gpu,
        pixels: &[u8],
        row_len: usize,
        labels: &[u32],
        classes: u32,
    ) -> Result<GpuDataset> {
        let mut d = Self::upload(gpu, pixels, row_len)?;
        if labels.len() != d.count as usize {
            return Err(Error::Invalid(format!(
                "{} labels for {} images",
                labels.len(),
                d.count
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(Error::Invalid(format!(
                "label {bad} is not below the {classes} classes"
            )));
        }
        d.labels = Some(gpu.storage_from("labels", labels));
        d.classes = classes;
        Ok(d)
    }
}

/// One network's optimizer: the updates of all its parameters, built once.
struct NetOptimizer {
    tick: Option<Dispatch>,
    updates: Vec<Dispatch>,
}

impl NetOptimizer {
    fn new(
        gpu: &Gpu,
        net: &Net,
        optimizer: Optimizer,
        counters: &wgpu::Buffer,
        index: usize,
        clip: Option<f32>,
    ) -> Result<NetOptimizer> {
        let mut updates = Vec::new();
        let tick;
        match optimizer {
            Optimizer::Adam(config) => {
                let adam = Adam::new(gpu, config, counters, index)?;
                tick = Some(adam.tick(gpu)?);
                for p in net.all_params() {
                    updates.push(adam.update(
                        gpu,
                        &p.value,
                        &p.grad,
                        &p.state[0],
                        &p.state[1],
                        p.len(),
                    )?);
                }
            }
            Optimizer::Sgd(config) => {
                let sgd = Sgd::new(gpu, config)?;
                tick = None;
                for p in net.all_params() {
                    updates.push(sgd.update(gpu, &p.value, &p.grad, &p.state[0], p.len())?);
                }
            }
        }
        if let Some(c) = clip {
            for p in net.all_params() {
                updates.push(crate::kernels::optim::clip(gpu, &p.value, p.len(), c)?);
            }
        }
        Ok(NetOptimizer { tick, updates })
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        if let Some(t) = &self.tick {
            t.record(pass);
        }
        self.updates.iter().for_each(|d| d.record(pass));
    }
}

/// A GAN being trained: both networks, their passes, and the step's glue, all built once.
pub struct Trainer {
    pub gpu: Arc<Gpu>,
    pub config: TrainConfig,
    pub g: Net,
    pub d: Net,
    pub dataset: GpuDataset,
    /// [rng step, D's Adam t, G's Adam t, spare], u32.
    pub counters: wgpu::Buffer,
    /// The `slot`s above, f32.
    pub stats: wgpu::Buffer,
    /// Completed alternating steps.
    pub step: u64,
    g_train: Pass,
    d_real: Pass,
    d_fake: Pass,
    d_gen: Pass,
    d_optimizer: NetOptimizer,
    g_optimizer: NetOptimizer,
    glue: step::Glue,
}

impl Trainer {
    pub fn new(gpu: Arc<Gpu>, config: TrainConfig, dataset: GpuDataset) -> Result<Trainer> {
        config.check()?;
        config.check_fits()?;
        let (g_arch, d_arch) = config.model.build()?;
        let image_len = config.model.image().len() as u32;
        if dataset.row_len != image_len {
            return Err(Error::Invalid(format!(
                "the dataset's images have {} values but {} needs {}×{}×{}",
                dataset.row_len,
                config.model.preset.name(),
                config.model.channels,
                config.model.preset.image_size(),
                config.model.preset.image_size()
            )));
        }
        let classes = config.model.classes;
        if classes > 0 && (dataset.labels.is_none() || dataset.classes != classes) {
            return Err(Error::Invalid(format!(
                "a conditional model of {classes} classes needs a dataset labelled with {classes} classes (this one has {})",
                dataset.classes
            )));
        }
        let g = Net::new(&gpu, g_arch, config.seed);
        let d = Net::new(&gpu, d_arch, config.seed ^ 0xd15c);
        let b = config.batch;
        let counters = gpu.storage("counters", counter::COUNT);
        let stats = gpu.storage("stats", slot::COUNT);

        // G's images, and D's view of them: with one-hot class planes when conditional.
        let fake = gpu.storage("fake images", (b * image_len) as usize);
        let dfake = gpu.storage("d fake images", (b * image_len) as usize);
        let d_len = (b as usize) * d.graph.input().len();
        let (fake_d, dfake_d) = if classes > 0 {
            (
                gpu.storage("conditioned fakes", d_len),
                gpu.storage("d conditioned fakes", d_len),
            )
        } else {
            (fake.clone(), dfake.clone())
        };
        let train = |param_grads, input_grad, update_running| PassOptions {
            batch: b,
            train: true,
            update_running,
            param_grads,
            input_grad,
            backward: true,
        };
        let g_train = Pass::new(
            &gpu,
            &g,
            train(ParamGrads::Overwrite, false, true),
            PassBuffers {
                output: Some(fake.clone()),
                doutput: Some(dfake.clone()),
                ..Default::default()
            },
        )?;
        let d_real = Pass::new(
            &gpu,
            &d,
            train(ParamGrads::Overwrite, false, true),
            PassBuffers::default(),
        )?;
        let d_fake = Pass::new(
            &gpu,
            &d,
            train(ParamGrads::Accumulate, false, true),
            PassBuffers {
                input: Some(fake_d.clone()),
                ..Default::default()
            },
        )?;
        // Through a frozen D: no parameter gradients, and its running statistics left alone.
        let d_gen = Pass::new(
            &gpu,
            &d,
            train(ParamGrads::Skip, true, false),
            PassBuffers {
                input: Some(fake_d),
                dinput: Some(dfake_d),
                ..Default::default()
            },
        )?;

        let clip = (config.loss == GanLoss::Wgan).then_some(config.clip);
        let d_optimizer = NetOptimizer::new(
            &gpu,
            &d,
            config.d_optimizer,
            &counters,
            counter::D_ADAM,
            clip,
        )?;
        let g_optimizer = NetOptimizer::new(
            &gpu,
            &g,
            config.g_optimizer,
            &counters,
            counter::G_ADAM,
            None,
        )?;
        let passes = step::Passes {
            g: &g_train,
            d_real: &d_real,
            d_fake: &d_fake,
            d_gen: &d_gen,
            fake: &fake,
            dfake: &dfake,
        };
        let glue = step::Glue::new(&gpu, &config, &dataset, &passes, &counters, &stats)?;
        Ok(Trainer {
            gpu,
            config,
            g,
            d,
            dataset,
            counters,
            stats,
            step: 0,
            g_train,
            d_real,
            d_fake,
            d_gen,
            d_optimizer,
            g_optimizer,
            glue,
        })
    }

    /// Records `steps` alternating steps into one encoder and submits them once.
    pub fn train(&mut self, steps: u32) {
        self.submit(|t, pass| (0..steps).for_each(|_| t.record_step(pass)));
        self.step += steps as u64;
    }

    /// Only the k discriminator updates of a step (G frozen); for tests and inspection.
    pub fn train_discriminator(&self) {
        self.submit(|t, pass| t.record_discriminator(pass));
    }

    /// Only the generator update of a step (D frozen); for tests and inspection.
    pub fn train_generator(&self) {
        self.submit(|t, pass| t.record_generator(pass));
    }

    fn submit(&self, record: impl FnOnce(&Self, &mut wgpu::ComputePass<'_>)) {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            record(self, &mut pass);
        }
        self.gpu.queue.submit([encoder.finish()]);
    }

    fn record_step(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.record_discriminator(pass);
        self.record_generator(pass);
    }

    fn record_discriminator(&self, pass: &mut wgpu::ComputePass<'_>) {
        let glue = &self.glue;
        for _ in 0..self.config.d_steps {
            // A fresh real batch and fresh noise; G runs forward only, building no gradients.
            glue.draw_real.iter().for_each(|d| d.record(pass));
            glue.draw_z.iter().for_each(|d| d.record(pass));
            self.g_train.record_forward(pass);
            glue.condition_fake.iter().for_each(|d| d.record(pass));
            self.d_real.record_forward(pass);
            glue.real_loss.iter().for_each(|d| d.record(pass));
            self.d_real.record_backward(pass);
            self.d_fake.record_forward(pass);
            glue.fake_loss.iter().for_each(|d| d.record(pass));
            self.d_fake.record_backward(pass);
            self.d_optimizer.record(pass);
        }
    }

    fn record_generator(&self, pass: &mut wgpu::ComputePass<'_>) {
        let glue = &self.glue;
        // Fresh noise, through D without touching its parameters, optimizer or statistics.
        glue.draw_z.iter().for_each(|d| d.record(pass));
        self.g_train.record_forward(pass);
        glue.condition_fake.iter().for_each(|d| d.record(pass));
        self.d_gen.record_forward(pass);
        glue.generator_loss.iter().for_each(|d| d.record(pass));
        self.d_gen.record_backward(pass);
        glue.image_gradient.iter().for_each(|d| d.record(pass));
        self.g_train.record_backward(pass);
        self.g_optimizer.record(pass);
    }

    /// Every dispatch of one alternating step, in order, named by where it belongs.
    pub fn step_dispatches<'a>(&'a self) -> Vec<(&'static str, &'a Dispatch)> {
        let glue = &self.glue;
        let mut out: Vec<(&'static str, &'a Dispatch)> = Vec::new();
        let mut add = |phase: &'static str, ds: Vec<&'a Dispatch>| {
            out.extend(ds.into_iter().map(|d| (phase, d)))
        };
        let opt = |o: &'a NetOptimizer| -> Vec<&'a Dispatch> {
            o.tick.iter().chain(&o.updates).collect()
        };
        for _ in 0..self.config.d_steps {
            add(
                "D step: draw",
                glue.draw_real.iter().chain(&glue.draw_z).collect(),
            );
            add("D step: G forward", self.g_train.dispatches(true));
            add("D step: glue", glue.condition_fake.iter().collect());
            add("D step: D forward (real)", self.d_real.dispatches(true));
            add("D step: loss", glue.real_loss.iter().collect());
            add("D step: D backward (real)", self.d_real.dispatches(false));
            add("D step: D forward (fake)", self.d_fake.dispatches(true));
            add("D step: loss", glue.fake_loss.iter().collect());
            add("D step: D backward (fake)", self.d_fake.dispatches(false));
            add("D step: optimizer", opt(&self.d_optimizer));
        }
        add("G step: draw", glue.draw_z.iter().collect());
        add("G step: G forward", self.g_train.dispatches(true));
        add("G step: glue", glue.condition_fake.iter().collect());
        add("G step: D forward", self.d_gen.dispatches(true));
        add("G step: loss", glue.generator_loss.iter().collect());
        add("G step: D backward", self.d_gen.dispatches(false));
        add("G step: glue", glue.image_gradient.iter().collect());
        add("G step: G backward", self.g_train.dispatches(false));
        add("G step: optimizer", opt(&self.g_optimizer));
        out
    }

    /// Reads the stats of the last step. Rarely: it waits for the GPU.
    pub async fn read_stats(&self) -> Result<Stats> {
        let v = self.gpu.read_f32(&self.stats).await?;
        let b = self.config.batch as f32;
        Ok(Stats {
            step: self.step,
            d_loss: v[slot::D_LOSS],
            g_loss: v[slot::G_LOSS],
            d_real: v[slot::D_REAL],
            d_fake_before: v[slot::D_FAKE_BEFORE],
            d_fake_after: v[slot::D_FAKE_AFTER],
            accuracy_real: v[slot::REAL_CALLED_REAL] / b,
            accuracy_fake: v[slot::FAKE_CALLED_FAKE] / b,
        })
    }

    /// The generator's parameters followed by the discriminator's, for tests and checkpoints.
    pub fn params(&self) -> impl Iterator<Item = &Param> {
        self.g.all_params().chain(self.d.all_params())
    }
}

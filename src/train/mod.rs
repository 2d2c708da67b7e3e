//! The GAN trainer: datasets resident on the GPU, and the alternating step — k discriminator
//! updates on a real batch (label 1) and a fake one (label 0) with G frozen, then one generator
//! update with fresh noise through a frozen D — recorded into one encoder, submitted once.

pub mod attention_view;
mod checkpoint;
pub mod codes;
pub mod config;
mod config_json;
mod fits;
pub mod recipe;
pub mod recipes;
pub mod sample;
mod trainer;
pub mod translate;

use std::sync::Arc;

pub use checkpoint::{checkpoint_family, family_of, load_weights, read_weights, save_weights};
pub use config::{Augmentations, GanLoss, Optimizer, Prior, TrainConfig};
pub use trainer::{Family, Trainer};

use crate::gpu::Gpu;
use crate::graph::program::{Net, Param};
use crate::train::recipe::Recipe;
use crate::train::recipes::dcgan::{self, Dcgan};
use crate::{Error, Result};

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
    /// InfoGAN: Q's mean cross-entropy on the categorical code (ln k at chance, 0 when Q reads
    /// every code) and mean ½ squared error on the continuous ones, in G's step.
    pub info: Option<(f32, f32)>,
}

impl Stats {
    pub fn is_finite(&self) -> bool {
        [
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake_before,
            self.d_fake_after,
            self.info.map_or(0.0, |(a, b)| a + b),
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

/// DCGAN's trainer: what the CLI, the page and the tests of the alternating step use.
impl Trainer<Dcgan> {
    /// A new DCGAN run of `config` on `dataset`.
    pub fn new(gpu: Arc<Gpu>, config: TrainConfig, dataset: GpuDataset) -> Result<Trainer> {
        Trainer::start(gpu, config, dataset)
    }

    /// The generator.
    pub fn g(&self) -> &Net {
        &self.recipe.g
    }

    /// The moving average of G's weights, when the config keeps one.
    pub fn g_ema(&self) -> Option<&Net> {
        self.recipe.g_ema.as_ref()
    }

    /// The discriminator.
    pub fn d(&self) -> &Net {
        &self.recipe.d
    }

    /// The u32 counters (the RNG's step, each Adam's t).
    pub fn counters(&self) -> &wgpu::Buffer {
        &self.recipe.counters().buffer
    }

    /// Only the k discriminator updates of a step (G frozen); for tests and inspection.
    pub fn train_discriminator(&self) {
        self.train_update(dcgan::D_UPDATE);
    }

    /// Only the generator update of a step (D frozen); for tests and inspection.
    pub fn train_generator(&self) {
        self.train_update(dcgan::G_UPDATE);
    }

    /// Reads the stats of the last step. Rarely: it waits for the GPU.
    pub async fn read_stats(&self) -> Result<Stats> {
        let stats = self.recipe.stats();
        let v = self.gpu.read_f32(&stats.buffer).await?;
        let at = |name| v[stats.slot(name)];
        let b = self.config.batch as f32;
        use dcgan::stat;
        Ok(Stats {
            step: self.step,
            d_loss: at(stat::D_LOSS),
            g_loss: at(stat::G_LOSS),
            d_real: at(stat::D_REAL),
            d_fake_before: at(stat::D_FAKE_BEFORE),
            d_fake_after: at(stat::D_FAKE_AFTER),
            accuracy_real: at(stat::REAL_CALLED_REAL) / b,
            accuracy_fake: at(stat::FAKE_CALLED_FAKE) / b,
            info: (!self.config.model.codes.is_none())
                .then(|| (at(stat::INFO_CATEGORICAL), at(stat::INFO_CONTINUOUS))),
        })
    }

    /// The generator's parameters followed by the discriminator's, for tests and checkpoints.
    pub fn params(&self) -> impl Iterator<Item = &Param> {
        self.g().all_params().chain(self.d().all_params())
    }
}

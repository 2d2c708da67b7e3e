//! The quality measure: the Fréchet distance between real and generated images in the
//! classifier's feature space (FID's recipe with webgan's own small classifier in place of
//! Inception). Lower is better; 0 means the two feature distributions match in mean and
//! covariance.

use crate::graph::program::{ParamGrads, Pass, PassBuffers, PassOptions};
use crate::quality::classifier::{Classifier, FEATURES};
use crate::quality::copies::{copy_report, CopyReport};
use crate::quality::frechet::{frechet_distance, Gaussian};
use crate::reference;
use crate::train::codes::{latents, CodeChoice, Layout};
use crate::train::sample::Sampler;
use crate::train::Prior;
use crate::train::Trainer;
use crate::{Error, Result};

const EVAL_BATCH: u32 = 100;
/// The fewest real images a Fréchet distance is fitted to: two evaluation batches (a
/// covariance of 64 features from fewer would say more about the sample than the data).
pub const MIN_REAL_IMAGES: usize = 2 * EVAL_BATCH as usize;

/// The classifier's feature network in eval mode at the evaluation batch: images in, 64
/// features each out.
pub struct FeatureSpace {
    pub classifier: Classifier,
    pass: Pass,
}

/// Features of the real images, fitted once, and the pass that computes features.
pub struct QualityMeter {
    pub space: FeatureSpace,
    real: Gaussian,
    /// How many generated images each measurement uses (as many as real ones).
    pub samples: u32,
}

impl FeatureSpace {
    pub fn new(classifier: Classifier) -> Result<FeatureSpace> {
        let eval = PassOptions {
            batch: EVAL_BATCH,
            train: false,
            update_running: false,
            param_grads: ParamGrads::Skip,
            input_grad: false,
            backward: false,
        };
        let pass = Pass::new(
            &classifier.gpu,
            &classifier.features,
            eval,
            PassBuffers::default(),
        )?;
        Ok(FeatureSpace { classifier, pass })
    }

    /// Values per image the network takes.
    fn per_image(&self) -> usize {
        self.pass.input.size() as usize / 4 / EVAL_BATCH as usize
    }

    /// Features ([n, FEATURES]) of `n` images in [−1, 1] ([n, image]). The last evaluation
    /// batch is padded with zeros whose features are dropped (in eval mode images do not
    /// affect one another).
    pub async fn features(&self, images: &[f32]) -> Result<Vec<f32>> {
        self.features_by(images.len(), self.per_image(), |range| {
            images[range].to_vec()
        })
        .await
    }

    /// Features of `pixels` ([n, row] u8), mapped to [−1, 1] a batch at a time so that a
    /// large dataset is never held as floats.
    pub async fn features_of_pixels(&self, pixels: &[u8], row: usize) -> Result<Vec<f32>> {
        if row != self.per_image() {
            return Err(Error::Invalid(format!(
                "images of {row} values do not fit the feature network's {}",
                self.per_image()
            )));
        }
        self.features_by(pixels.len(), row, |range| {
            pixels[range]
                .iter()
                .map(|&v| v as f32 / 127.5 - 1.0)
                .collect()
        })
        .await
    }

    async fn features_by(
        &self,
        len: usize,
        per_image: usize,
        batch_of: impl Fn(std::ops::Range<usize>) -> Vec<f32>,
    ) -> Result<Vec<f32>> {
        let gpu = &self.classifier.gpu;
        let per_batch = per_image * EVAL_BATCH as usize;
        if len == 0 || !len.is_multiple_of(per_image) {
            return Err(Error::Invalid(format!(
                "{len} values are not whole images of {per_image}"
            )));
        }
        let mut out = Vec::with_capacity(len / per_image * FEATURES as usize);
        for first in (0..len).step_by(per_batch) {
            let mut batch = batch_of(first..(first + per_batch).min(len));
            let images = batch.len() / per_image;
            batch.resize(per_batch, 0.0);
            gpu.queue
                .write_buffer(&self.pass.input, 0, bytemuck::cast_slice(&batch));
            gpu.run(&self.pass.dispatches(true));
            let features = gpu.read_f32(&self.pass.output).await?;
            out.extend_from_slice(&features[..images * FEATURES as usize]);
        }
        Ok(out)
    }
}

/// `count` images ([count, image] in [−1, 1]) from `trainer`'s generator in eval mode, drawn
/// from the quality measure's own noise stream, with classes taken in turn when conditional.
pub async fn generate(trainer: &Trainer, count: u32) -> Result<Vec<f32>> {
    let c = &trainer.config;
    let nz = c.model.nz as usize;
    let mut generated = Vec::new();
    let mut sampler: Option<Sampler> = None;
    let drawn = CodeChoice::drawn(c.model.codes);
    for chunk in 0..count.div_ceil(EVAL_BATCH) {
        let len = EVAL_BATCH as usize * nz;
        let stream = crate::streams::QUALITY_NOISE;
        // The run's prior (InfoGAN's is uniform), its codes drawn (the categorical one in turn).
        let z = if c.prior == Prior::Uniform {
            reference::random::uniform(c.seed, stream, chunk, len)
        } else {
            reference::random::normal(c.seed, stream, chunk, len)
        };
        let draw = (c.seed, crate::streams::QUALITY_CODES, chunk);
        let z = latents(&c.model, &z, Layout::Each, &drawn, draw);
        let labels: Vec<u32> = if c.model.classes > 0 {
            (0..EVAL_BATCH)
                .map(|i| (i + chunk) % c.model.classes)
                .collect()
        } else {
            vec![]
        };
        let s = match &sampler {
            Some(s) => {
                s.set_noise(&trainer.gpu, &z);
                s.set_labels(&trainer.gpu, &labels);
                s
            }
            None => sampler.insert(trainer.sampler(&z, &labels)?),
        };
        generated.extend(s.images(&trainer.gpu).await?);
    }
    generated.truncate(count as usize * c.model.image().len());
    Ok(generated)
}

/// Samples in the copy check.
pub const SAMPLES_CHECKED: u32 = 1000;

/// The copy check (see [`crate::quality::copies`]) of `trainer`'s generator against the
/// features of its training images (`training`, from `space`): [`SAMPLES_CHECKED`] samples,
/// each against every training image. Returns the report and the samples.
pub async fn check_copies(
    space: &FeatureSpace,
    trainer: &Trainer,
    training: &[f32],
) -> Result<(CopyReport, Vec<f32>)> {
    let samples = generate(trainer, SAMPLES_CHECKED).await?;
    let features = space.features(&samples).await?;
    let report = copy_report(
        training,
        &features,
        FEATURES as usize,
        SAMPLES_CHECKED as usize,
    )?;
    Ok((report, samples))
}

impl QualityMeter {
    /// Fits the real images' feature distribution from `pixels` ([count, row] u8; at most
    /// `samples` of them, rounded down to whole evaluation batches).
    pub async fn new(
        space: FeatureSpace,
        pixels: &[u8],
        row: usize,
        samples: u32,
    ) -> Result<QualityMeter> {
        let count = (pixels.len() / row).min(samples as usize);
        if count < MIN_REAL_IMAGES {
            return Err(Error::Invalid(format!(
                "the quality measure needs at least {MIN_REAL_IMAGES} real images, not {count}"
            )));
        }
        let count = count - count % EVAL_BATCH as usize;
        let real = Gaussian::fit(
            &space
                .features_of_pixels(&pixels[..count * row], row)
                .await?,
            FEATURES as usize,
        )?;
        Ok(QualityMeter {
            space,
            real,
            samples: count as u32,
        })
    }

    /// The Fréchet distance of other real images ([count, row] u8, whole evaluation batches are
    /// used) from the fitted ones: the floor a perfect generator would reach with this many samples.
    pub async fn distance_to_images(&self, pixels: &[u8], row: usize) -> Result<f64> {
        let count = pixels.len() / row;
        let count = count - count % EVAL_BATCH as usize;
        let other = Gaussian::fit(
            &self
                .space
                .features_of_pixels(&pixels[..count * row], row)
                .await?,
            FEATURES as usize,
        )?;
        frechet_distance(&self.real, &other)
    }

    /// The Fréchet distance of `trainer`'s generator (eval mode) from the real images, over as
    /// many samples as real images, with classes drawn evenly when conditional.
    pub async fn measure(&self, trainer: &Trainer) -> Result<f64> {
        let generated = generate(trainer, self.samples).await?;
        let fake = Gaussian::fit(&self.space.features(&generated).await?, FEATURES as usize)?;
        frechet_distance(&self.real, &fake)
    }
}

//! The quality measure: the Fréchet distance between real and generated images in the
//! classifier's feature space (FID's recipe with webgan's own small classifier in place of
//! Inception). Lower is better; 0 means the two feature distributions match in mean and
//! covariance.

use crate::graph::program::{ParamGrads, Pass, PassBuffers, PassOptions};
use crate::quality::classifier::{Classifier, FEATURES};
use crate::quality::frechet::{frechet_distance, Gaussian};
use crate::reference;
use crate::train::sample::Sampler;
use crate::train::Trainer;
use crate::{Error, Result};

const EVAL_BATCH: u32 = 100;
/// The fewest real images a Fréchet distance is fitted to: two evaluation batches (a
/// covariance of 64 features from fewer would say more about the sample than the data).
pub const MIN_REAL_IMAGES: usize = 2 * EVAL_BATCH as usize;

/// Features of the real images, fitted once, and the pass that computes features.
pub struct QualityMeter {
    pub classifier: Classifier,
    pass: Pass,
    real: Gaussian,
    /// How many generated images each measurement uses (as many as real ones).
    pub samples: u32,
}

/// Features of images in [−1, 1] ([n, image] with n a multiple of the evaluation batch),
/// computed by `pass` (the feature network in eval mode at the evaluation batch).
async fn features(classifier: &Classifier, pass: &Pass, images: &[f32]) -> Result<Vec<f32>> {
    let gpu = &classifier.gpu;
    let per_batch = pass.input.size() as usize / 4;
    if images.is_empty() || !images.len().is_multiple_of(per_batch) {
        return Err(Error::Invalid(format!(
            "{} values are not whole batches of {per_batch}",
            images.len()
        )));
    }
    let per_output = (EVAL_BATCH * FEATURES) as usize;
    let mut out = Vec::with_capacity(images.len() / per_batch * per_output);
    for batch in images.chunks(per_batch) {
        gpu.queue
            .write_buffer(&pass.input, 0, bytemuck::cast_slice(batch));
        gpu.run(&pass.dispatches(true));
        out.extend_from_slice(&gpu.read_f32(&pass.output).await?[..per_output]);
    }
    Ok(out)
}

impl QualityMeter {
    /// Fits the real images' feature distribution from `pixels` ([count, row] u8; at most
    /// `samples` of them, rounded down to whole evaluation batches).
    pub async fn new(
        classifier: Classifier,
        pixels: &[u8],
        row: usize,
        samples: u32,
    ) -> Result<QualityMeter> {
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
        let count = (pixels.len() / row).min(samples as usize);
        if count < MIN_REAL_IMAGES {
            return Err(Error::Invalid(format!(
                "the quality measure needs at least {MIN_REAL_IMAGES} real images, not {count}"
            )));
        }
        let count = count - count % EVAL_BATCH as usize;
        let images: Vec<f32> = pixels[..count * row]
            .iter()
            .map(|&v| v as f32 / 127.5 - 1.0)
            .collect();
        let real = Gaussian::fit(
            &features(&classifier, &pass, &images).await?,
            FEATURES as usize,
        )?;
        Ok(QualityMeter {
            classifier,
            pass,
            real,
            samples: count as u32,
        })
    }

    /// The Fréchet distance of other real images ([count, row] u8, whole evaluation batches are
    /// used) from the fitted ones: the floor a perfect generator would reach with this many samples.
    pub async fn distance_to_images(&self, pixels: &[u8], row: usize) -> Result<f64> {
        let count = pixels.len() / row;
        let count = count - count % EVAL_BATCH as usize;
        let images: Vec<f32> = pixels[..count * row]
            .iter()
            .map(|&v| v as f32 / 127.5 - 1.0)
            .collect();
        let other = Gaussian::fit(
            &features(&self.classifier, &self.pass, &images).await?,
            FEATURES as usize,
        )?;
        frechet_distance(&self.real, &other)
    }

    /// The Fréchet distance of `trainer`'s generator (eval mode) from the real images, over as
    /// many samples as real images, with classes drawn evenly when conditional.
    pub async fn measure(&self, trainer: &Trainer) -> Result<f64> {
        let c = &trainer.config;
        let nz = c.model.nz as usize;
        let mut generated = Vec::new();
        let mut sampler: Option<Sampler> = None;
        for chunk in 0..self.samples / EVAL_BATCH {
            let z = reference::random::normal(
                c.seed,
                crate::streams::QUALITY_NOISE,
                chunk,
                EVAL_BATCH as usize * nz,
            );
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
        let fake = Gaussian::fit(
            &features(&self.classifier, &self.pass, &generated).await?,
            FEATURES as usize,
        )?;
        frechet_distance(&self.real, &fake)
    }
}

//! Generating images: G in eval mode (running statistics) on given noise and classes, built
//! once and run as often as a person wants to look.

use crate::gpu::Gpu;
use crate::graph::program::Net;
use crate::graph::program::{ParamGrads, Pass, PassBuffers, PassOptions};
use crate::kernels::condition::{self, ConditionShape};
use crate::kernels::tensor;
use crate::kernels::Dispatch;
use crate::train::codes::{grid_latents, CodeChoice};
use crate::train::{TrainConfig, Trainer};
use crate::{reference, Error, Result};

use crate::streams::FIXED_NOISE as STREAM_FIXED_NOISE;

pub struct Sampler {
    pub count: u32,
    /// Values per image.
    pub image_len: usize,
    /// G's batches: one, or several when G's largest tensor at `count` images would not fit
    /// one GPU binding (SAGAN's attention maps), each of `chunk` images (the last padded).
    chunks: Vec<Chunk>,
    chunk: u32,
    nz: usize,
    /// All `count` images, [count, channels, size, size]: the single chunk's own output, or
    /// where each chunk's images are copied.
    output: wgpu::Buffer,
}

/// One batch of G: its noise and classes, the one-hot conditioning, the pass, and the copy
/// of its images into the sampler's output (none when it is the only chunk).
struct Chunk {
    z: wgpu::Buffer,
    labels: Option<wgpu::Buffer>,
    condition: Option<Dispatch>,
    pass: Pass,
    copy: Option<Dispatch>,
}

impl Sampler {
    /// Records G on the current noise and classes.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        for c in &self.chunks {
            if let Some(d) = &c.condition {
                d.record(pass);
            }
            c.pass.record_forward(pass);
            if let Some(d) = &c.copy {
                d.record(pass);
            }
        }
    }

    /// The generated images, [count, channels, size, size] in [−1, 1].
    pub async fn images(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.record(&mut pass);
        }
        gpu.queue.submit([encoder.finish()]);
        let mut v = gpu.read_f32(&self.output).await?;
        v.truncate(self.count as usize * self.image_len);
        Ok(v)
    }

    /// Every output of G's graph after one run (the images first, then any tensors the net
    /// was built to expose), of the first chunk, each for its whole padded batch.
    pub async fn outputs(&self, gpu: &Gpu) -> Result<Vec<Vec<f32>>> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.record(&mut pass);
        }
        gpu.queue.submit([encoder.finish()]);
        let mut all = Vec::new();
        for b in &self.chunks[0].pass.outputs {
            all.push(gpu.read_f32(b).await?);
        }
        Ok(all)
    }

    /// The buffer G writes its images into (for drawing straight from the GPU).
    pub fn output(&self) -> &wgpu::Buffer {
        &self.output
    }

    /// New noise, [count, nz].
    pub fn set_noise(&self, gpu: &Gpu, z: &[f32]) {
        let per = self.chunk as usize * self.nz;
        for (c, part) in self.chunks.iter().zip(z.chunks(per)) {
            gpu.queue.write_buffer(&c.z, 0, bytemuck::cast_slice(part));
        }
    }

    /// New classes, [count].
    pub fn set_labels(&self, gpu: &Gpu, labels: &[u32]) {
        for (c, part) in self.chunks.iter().zip(labels.chunks(self.chunk as usize)) {
            if let Some(l) = &c.labels {
                gpu.queue.write_buffer(l, 0, bytemuck::cast_slice(part));
            }
        }
    }
}

impl Trainer {
    /// Noise that stays the same for a run (its seed's fixed stream): the sample grid's.
    pub fn fixed_noise(&self, count: u32) -> Vec<f32> {
        fixed_noise(&self.config, count)
    }

    /// A sampler of `count` images from `z` ([count, nz]) and, when conditional, `labels`.
    pub fn sampler(&self, z: &[f32], labels: &[u32]) -> Result<Sampler> {
        let g = self.recipe.g_ema.as_ref().unwrap_or(self.g());
        Sampler::new(&self.gpu, g, &self.config, z, labels)
    }
}

/// The narrowest truncation `truncated` takes: at ψ the draw keeps P(|z| ≤ ψ) of its values
/// (4% at 0.05), and the redraws cost the inverse of that.
pub const MIN_TRUNCATION: f32 = 0.05;

/// ψ refused in a sentence unless it is a number from [`MIN_TRUNCATION`] up.
pub fn check_truncation(psi: f32) -> Result<()> {
    if psi.is_finite() && psi >= MIN_TRUNCATION {
        return Ok(());
    }
    Err(crate::Error::Invalid(format!(
        "--truncation must be a number from {MIN_TRUNCATION} up (the truncation trick keeps z within ±ψ; 0.5 to 1 is usual), not {psi}"
    )))
}

/// The truncation trick narrows a normal prior; InfoGAN's noise (and that of a run with
/// `--prior uniform`) is uniform in (−1, 1), where truncating a normal draw means nothing.
pub fn check_truncation_fits(config: &TrainConfig) -> Result<()> {
    if config.prior == crate::train::Prior::Uniform {
        return Err(crate::Error::Invalid(
            "--truncation narrows a normal prior, and this model was trained on noise drawn uniformly in (−1, 1): leave it out".into(),
        ));
    }
    Ok(())
}

/// A normal draw of `len` values from (`seed`, `stream`) truncated at ±`psi` as BigGAN does
/// it: each value outside is redrawn until it falls inside, the k-th redraw of element i being
/// element i of the same stream at step k, so that a value's fate does not depend on how many
/// values are drawn. `psi` must pass [`check_truncation`].
pub fn truncated(seed: u64, stream: u32, len: usize, psi: f32) -> Vec<f32> {
    let key = [seed as u32, (seed >> 32) as u32];
    let mut z = reference::random::normal(seed, stream, 0, len);
    for (i, v) in z.iter_mut().enumerate() {
        let mut step = 1u32;
        while v.abs() > psi {
            // Element i is word i % 4 of block i / 4, paired with its neighbour as `normal`
            // pairs them.
            let words = reference::random::philox4x32_10([(i / 4) as u32, stream, step, 0], key);
            let pair = (i % 4) / 2 * 2;
            let (a, b) = reference::random::box_muller(words[pair], words[pair + 1]);
            *v = if i % 2 == 0 { a } else { b };
            step = step.wrapping_add(1);
        }
    }
    z
}

/// A latent walk of `steps` vectors (≥ 2) of `nz` values, along the great circle between two
/// random ends drawn from `seed` (each truncated at ±ψ when `psi` is given).
pub fn walk_noise(seed: u64, nz: usize, steps: u32, psi: Option<f32>) -> Vec<f32> {
    let ends = match psi {
        Some(psi) => truncated(seed, crate::streams::walk(0), 2 * nz, psi),
        None => reference::random::normal(seed, crate::streams::walk(0), 0, 2 * nz),
    };
    (0..steps)
        .flat_map(|s| {
            slerp(
                &ends[..nz],
                &ends[nz..],
                s as f32 / (steps.max(2) - 1) as f32,
            )
        })
        .collect()
}

/// `count` latent vectors from the run's fixed stream; for InfoGAN laid out as its grid
/// ([`grid_layout`]: a row per categorical value) with the codes appended.
pub fn fixed_noise(config: &TrainConfig, count: u32) -> Vec<f32> {
    let noise = noise(config, config.seed, STREAM_FIXED_NOISE, count);
    let choice = CodeChoice::drawn(config.model.codes);
    grid_latents(&config.model, &noise, GRID_COLUMNS, &choice, config.seed)
}

/// `count` noise vectors ([count, nz]) from (`seed`, `stream`): normal, or uniform in (−1, 1)
/// when the run drew it so (InfoGAN's default, `--prior uniform`): G never saw noise outside it.
pub fn noise(config: &TrainConfig, seed: u64, stream: u32, count: u32) -> Vec<f32> {
    let len = (count * config.model.nz) as usize;
    if config.prior == crate::train::Prior::Uniform {
        reference::random::uniform(seed, stream, 0, len)
    } else {
        reference::random::normal(seed, stream, 0, len)
    }
}

/// The sample grid's columns.
const GRID_COLUMNS: u32 = 8;

impl Sampler {
    /// G (`g`, built for `config`) on `z` ([count, nz]) and, when conditional, `labels`, in
    /// chunks of the largest batch whose tensors each fit one GPU binding.
    pub fn new(
        gpu: &Gpu,
        g: &Net,
        config: &TrainConfig,
        z: &[f32],
        labels: &[u32],
    ) -> Result<Sampler> {
        // InfoGAN's codes travel in z, after the noise.
        let nz = config.model.latent_len();
        let classes = config.model.classes;
        let count = (z.len() / nz.max(1) as usize) as u32;
        if count == 0 || z.len() != (count * nz) as usize {
            return Err(Error::Invalid(format!(
                "noise of {} values is not a whole number of {nz}-long vectors",
                z.len()
            )));
        }
        if classes > 0 && (labels.len() != count as usize || labels.iter().any(|&l| l >= classes)) {
            return Err(Error::Invalid(format!(
                "{count} classes below {classes} are needed, one per image"
            )));
        }
        // Batch norm needs a batch of two in its shape checks; a single sample is padded.
        let chunk = chunk_batch(g, count.max(2), gpu.binding_floats());
        let image_len = config.model.image().len();
        let parts = count.div_ceil(chunk) as usize;
        let output = if parts > 1 {
            Some(gpu.storage("samples", count as usize * image_len))
        } else {
            None
        };
        let eval = PassOptions {
            batch: chunk,
            train: false,
            update_running: false,
            param_grads: ParamGrads::Skip,
            input_grad: false,
            backward: false,
        };
        let mut chunks = Vec::with_capacity(parts);
        for k in 0..parts {
            let z_buffer = gpu.storage("sample noise", (chunk * nz) as usize);
            let (pass, labels_buffer, condition) = if classes > 0 {
                let labels_buffer = gpu.storage("sample classes", chunk as usize);
                let pass = Pass::new(gpu, g, eval, PassBuffers::default())?;
                let latent = ConditionShape {
                    batch: chunk,
                    channels: nz,
                    pixels: 1,
                    classes,
                };
                let condition =
                    condition::append_onehot(gpu, &latent, &z_buffer, &labels_buffer, &pass.input)?;
                (pass, Some(labels_buffer), Some(condition))
            } else {
                let given = PassBuffers {
                    input: Some(z_buffer.clone()),
                    ..Default::default()
                };
                (Pass::new(gpu, g, eval, given)?, None, None)
            };
            let copy = match &output {
                Some(all) => {
                    let first = k * chunk as usize;
                    let images = (count as usize - first).min(chunk as usize);
                    Some(tensor::copy_at(
                        gpu,
                        &pass.output,
                        images * image_len,
                        all,
                        first * image_len,
                    )?)
                }
                None => None,
            };
            chunks.push(Chunk {
                z: z_buffer,
                labels: labels_buffer,
                condition,
                pass,
                copy,
            });
        }
        let output = output.unwrap_or_else(|| chunks[0].pass.output.clone());
        let sampler = Sampler {
            count,
            image_len,
            chunks,
            chunk,
            nz: nz as usize,
            output,
        };
        sampler.set_noise(gpu, z);
        if classes > 0 {
            sampler.set_labels(gpu, labels);
        }
        Ok(sampler)
    }
}

/// The largest batch up to `batch` (halving from it, and never below 2) at which every node
/// of `g` fits its tensors in bindings of `binding_floats`; 2 when none does, so that the
/// pass refuses it in a sentence.
fn chunk_batch(g: &Net, batch: u32, binding_floats: usize) -> u32 {
    let fits = |b: u32| g.graph.check_batch(b, binding_floats).is_ok();
    let mut b = batch;
    while b > 2 && !fits(b) {
        b = b.div_ceil(2);
    }
    b
}

/// (images, columns, classes) of the sample grid: 8×8, with a row per class when conditional
/// (or per value of InfoGAN's categorical code, set in the latents by [`fixed_noise`]).
pub fn grid_layout(c: &TrainConfig) -> (u32, usize, Vec<u32>) {
    let classes = c.model.classes;
    let categorical = c.model.codes.categorical;
    if classes == 0 {
        let rows = if categorical > 0 { categorical } else { 8 };
        return (rows * GRID_COLUMNS, GRID_COLUMNS as usize, vec![]);
    }
    let columns = 8;
    let n = classes * columns as u32;
    (n, columns, (0..n).map(|i| i / columns as u32).collect())
}

/// Images [count, channels, size, size] in [−1, 1] tiled `columns` wide with a 2-pixel gap, as
/// RGBA bytes: (width, height, pixels).
pub fn grid_rgba(
    images: &[f32],
    count: usize,
    channels: usize,
    size: usize,
    columns: usize,
) -> (u32, u32, Vec<u8>) {
    let mut grid = Grid::new(count, channels, size, columns);
    for i in 0..count {
        grid.place(
            i,
            &images[i * channels * size * size..][..channels * size * size],
        );
    }
    grid.rgba()
}

/// A grid being filled image by image, so that a large one never needs all its images in
/// memory as floats at once.
pub struct Grid {
    channels: usize,
    size: usize,
    columns: usize,
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

/// Pixels between and around a grid's cells.
pub const GRID_GAP: usize = 2;

impl Grid {
    /// (width, height) in pixels of `count` images of `size` tiled `columns` wide.
    pub fn dimensions(count: usize, size: usize, columns: usize) -> (usize, usize) {
        let columns = columns.clamp(1, count.max(1));
        let rows = count.div_ceil(columns);
        (
            columns * (size + GRID_GAP) + GRID_GAP,
            rows * (size + GRID_GAP) + GRID_GAP,
        )
    }

    pub fn new(count: usize, channels: usize, size: usize, columns: usize) -> Grid {
        let columns = columns.clamp(1, count.max(1));
        let (width, height) = Grid::dimensions(count, size, columns);
        let rgba = [40, 40, 40, 255].repeat(width * height);
        Grid {
            channels,
            size,
            columns,
            width,
            height,
            rgba,
        }
    }

    /// Draws image `i` ([channels, size, size] in [−1, 1]) into its cell.
    pub fn place(&mut self, i: usize, image: &[f32]) {
        let (size, c) = (self.size, self.channels);
        let (gy, gx) = (
            GRID_GAP + (i / self.columns) * (size + GRID_GAP),
            GRID_GAP + (i % self.columns) * (size + GRID_GAP),
        );
        for y in 0..size {
            for x in 0..size {
                let at = |k: usize| to_byte(image[(k.min(c - 1) * size + y) * size + x]);
                let o = ((gy + y) * self.width + gx + x) * 4;
                self.rgba[o..o + 4].copy_from_slice(&[at(0), at(1), at(2), 255]);
            }
        }
    }

    pub fn rgba(self) -> (u32, u32, Vec<u8>) {
        (self.width as u32, self.height as u32, self.rgba)
    }
}

/// A value in [−1, 1] as a byte, as the dataset's bytes map to [−1, 1].
pub fn to_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// One image [channels, size, size] in [−1, 1] as interleaved bytes: gray for one channel,
/// RGB for three.
pub fn interleaved(image: &[f32], channels: usize, size: usize) -> Vec<u8> {
    let plane = size * size;
    (0..plane)
        .flat_map(|p| (0..channels).map(move |k| to_byte(image[k * plane + p])))
        .collect()
}

/// Spherical interpolation between two Gaussian latents keeps the norm a Gaussian would have,
/// where a straight line would pass through unlikely short vectors.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let cos = (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b)).max(1e-12))
        .clamp(-1.0, 1.0);
    let omega = cos.acos();
    if omega.abs() < 1e-4 {
        return a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect();
    }
    let (wa, wb) = (
        ((1.0 - t) * omega).sin() / omega.sin(),
        (t * omega).sin() / omega.sin(),
    );
    a.iter().zip(b).map(|(x, y)| wa * x + wb * y).collect()
}

//! pix2pix's and CycleGAN's random jitter (`get_params` and `get_transform` of
//! junyanz/pytorch-CycleGAN-and-pix2pix's `data/base_dataset.py`, with `--preprocess
//! resize_and_crop`) on `shaders/jitter.wgsl`, whose header gives the rule: a batch already at
//! the load size L is cropped to S × S at an offset drawn per sample, and mirrored left to
//! right half the time unless flipping is off (`--no_flip`). Real images only: no backward.
//!
//! **The draw.** A dispatch fills one Philox block per sample (random.wgsl's fill, keyed by
//! seed, stream and step = `counter[counter_index]` as the counter holds it when the dispatch
//! runs on the GPU), turns it into the sample's [`Crop`], then crops. A sample's crop is a
//! function of (seed, stream, step, sample index, L − S, flipping) and of nothing else, so:
//!
//! - the two images of a pix2pix pair get the same crop and flip when their jitters share the
//!   seed, the stream, the counter word and the sizes L and S (their channels may differ), and
//!   no `random::advance` of that word is recorded between them;
//! - independently jittered batches (CycleGAN's A and B) take different streams,
//!   `streams::jitter(k)`;
//! - a fresh crop each step needs the counter advanced once per step, as every other draw of
//!   the step already has it.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::random::{self, Distribution};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "jitter.wgsl",
    source: include_str!("../../shaders/jitter.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::ReadWrite, // crops
        Access::Read,      // input
        Access::ReadWrite, // output
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;
const OP: &str = "jitter";

/// Philox words a sample draws, one block: x offset, y offset, flip, and one unused, so that a
/// sample's words are a whole block of the fill.
pub const WORDS_PER_SAMPLE: usize = 4;

/// The largest load size: pix2pix trains at up to 1024 and its high-resolution successors at
/// 2048; a larger side is a mistaken setting, and one gray image of 4096² already takes half
/// a 128 MiB binding.
pub const MAX_SIDE: u32 = 4096;

/// The reference's defaults, `--load_size 286 --crop_size 256`: the load size is 286/256 of
/// the crop, a margin of 30 pixels at 256 within which the crop moves.
pub const REFERENCE_LOAD: u32 = 286;
pub const REFERENCE_CROP: u32 = 256;

/// The load size for `crop` in the reference's proportion: round(crop · 286 / 256), halves
/// rounded up (64 → 72, 128 → 143, 256 → 286), so that a smaller crop keeps the same relative
/// margin. Saturates at u32::MAX, which [`JitterShape::check`] then refuses.
pub fn load_size(crop: u32) -> u32 {
    let scaled = crop as u64 * REFERENCE_LOAD as u64;
    let rounded = (scaled + REFERENCE_CROP as u64 / 2) / REFERENCE_CROP as u64;
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

/// A batch of square images at the load size and the crop taken from each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitterShape {
    pub batch: u32,
    pub channels: u32,
    /// L: the input's side, the reference's `load_size`.
    pub load: u32,
    /// S ≤ L: the output's side, the reference's `crop_size`.
    pub crop: u32,
    /// Mirror half the samples left to right; false is the reference's `--no_flip`.
    pub flip: bool,
}

impl JitterShape {
    /// Elements of the input, [batch, channels, load, load].
    pub fn input_len(&self) -> usize {
        self.batch as usize * self.channels as usize * (self.load as usize).pow(2)
    }

    /// Elements of the output, [batch, channels, crop, crop].
    pub fn output_len(&self) -> usize {
        self.batch as usize * self.channels as usize * (self.crop as usize).pow(2)
    }

    /// u32 words of the drawn crops, [batch, 4].
    pub fn crops_len(&self) -> usize {
        self.batch as usize * WORDS_PER_SAMPLE
    }

    /// L − S + 1: the offsets each of x and y is drawn from, 0 ..= L − S. For a shape that
    /// passes [`JitterShape::check`], which refuses S > L.
    pub fn offsets(&self) -> u32 {
        self.load - self.crop + 1
    }

    /// Refuses an empty batch, channel or crop, a crop larger than the load size, a load size
    /// past [`MAX_SIDE`], and tensors whose bytes exceed `max_binding_bytes` (one storage
    /// binding; 128 MiB in WebGPU by default) or whose elements a u32 cannot index.
    pub fn check(&self, max_binding_bytes: u64) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.crop == 0 {
            return Err(shape_error(
                OP,
                format!(
                    "a batch of {} images of {} channels cropped to {}²: each must be at least 1",
                    self.batch, self.channels, self.crop
                ),
            ));
        }
        if self.load > MAX_SIDE {
            return Err(shape_error(
                OP,
                format!("a load size of {}: at most {MAX_SIDE}", self.load),
            ));
        }
        if self.crop > self.load {
            return Err(shape_error(
                OP,
                format!(
                    "a crop of {} from images of {}: the crop must fit in the loaded image \
                     (crop size ≤ load size)",
                    self.crop, self.load
                ),
            ));
        }
        for (what, len) in [
            ("the input", self.input_len()),
            ("the output", self.output_len()),
            ("the crops", self.crops_len()),
        ] {
            let bytes = len as u64 * 4;
            if bytes > max_binding_bytes || u32::try_from(len).is_err() {
                return Err(shape_error(
                    OP,
                    format!(
                        "{what} would take {bytes} bytes, past the {max_binding_bytes} one \
                         GPU buffer binding holds ({self:?})"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One sample's drawn crop: the output is the input's S × S square from column `x` and row
/// `y`, mirrored left to right when `flip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub flip: bool,
}

impl Crop {
    /// The crops of a batch from [`Jitter::crops`] as read back: (x, y, flip, 0) per sample.
    pub fn from_words(words: &[u32]) -> Vec<Crop> {
        words
            .chunks_exact(WORDS_PER_SAMPLE)
            .map(|w| Crop {
                x: w[0],
                y: w[1],
                flip: w[2] == 1,
            })
            .collect()
    }
}

/// Where the crops come from: `random::fill`'s (seed, stream, counter[counter_index]).
#[derive(Clone, Copy)]
pub struct JitterDraw<'a> {
    pub seed: u64,
    /// `streams::jitter(k)`: one k per independently jittered batch, the same k for both
    /// images of a pair.
    pub stream: u32,
    /// u32 words; word `counter_index` is the step, read when the dispatch runs.
    pub counter: &'a wgpu::Buffer,
    pub counter_index: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct JitterParams {
    batch: u32,
    channels: u32,
    load: u32,
    crop: u32,
    flip: u32,
    len: u32,
    pad: [u32; 2],
}

/// One batch's jitter with its dispatches built.
pub struct Jitter {
    pub shape: JitterShape,
    /// [batch, 4] u32: each sample's (x, y, flip, 0) of the last dispatch.
    crops: wgpu::Buffer,
    dispatch: Dispatch,
}

impl Jitter {
    /// The jitter of `input` ([batch, channels, load, load]) into `output` ([batch, channels,
    /// crop, crop]; a distinct buffer), drawn from `draw`.
    pub fn new(
        gpu: &Gpu,
        shape: JitterShape,
        draw: JitterDraw,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<Jitter> {
        shape.check(gpu.device.limits().max_storage_buffer_binding_size)?;
        check_len(OP, "input", input, shape.input_len())?;
        check_len(OP, "output", output, shape.output_len())?;
        check_len(OP, "counter", draw.counter, draw.counter_index as usize + 1)?;
        // WebGPU refuses a buffer bound twice in one dispatch when either binding writes it.
        if input == output {
            return Err(Error::Invalid(
                "jitter: input and output are the same buffer; they must be distinct".into(),
            ));
        }
        let crops = gpu.storage("jitter crops", shape.crops_len());
        let fill = random::fill(
            gpu,
            Distribution::Bits,
            draw.seed,
            draw.stream,
            draw.counter,
            draw.counter_index,
            &crops,
            shape.crops_len(),
        )?;
        let params = JitterParams {
            batch: shape.batch,
            channels: shape.channels,
            load: shape.load,
            crop: shape.crop,
            flip: shape.flip as u32,
            // Bounded by the check above.
            len: shape.output_len() as u32,
            pad: [0; 2],
        };
        let buffers = [&crops, input, output];
        let stage = |entry, grid| Dispatch::new(gpu, &SHADER, entry, &[], &params, &buffers, grid);
        let words_to_crops = stage("draw", grid_1d(shape.batch as usize, GROUP))?;
        let mut dispatch = fill
            .then(words_to_crops)
            .then(stage("crop", grid_1d(shape.output_len(), GROUP))?);
        dispatch.label = "jitter";
        Ok(Jitter {
            shape,
            crops,
            dispatch,
        })
    }

    /// Draw the step's crops, then crop: record it once per batch, after the step's advance.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// The crops of the last dispatch, [batch, 4] u32 words; [`Crop::from_words`] reads them.
    pub fn crops(&self) -> &wgpu::Buffer {
        &self.crops
    }
}

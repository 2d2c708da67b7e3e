//! CycleGAN's image pool (`ImagePool.query` of junyanz/pytorch-CycleGAN-and-pix2pix) on
//! `shaders/image_pool.wgsl`, whose header gives the rule: D is shown, for each fake, either
//! the fake or (half the time, once the pool is full) one of up to `pool_size` earlier fakes,
//! which the new one replaces. The pool stays on the GPU; nothing is read back.
//!
//! **The step and the stream.** A query draws two Philox words per image (random.wgsl's
//! fill, keyed by seed, `streams::image_pool(k)` and step = `counter[counter_index]`), and the
//! number of images the pool holds is not a count kept on the GPU but a function of that
//! step: queries are made once per step, at consecutive counter values from `first_step`, so
//! before the query at step s the pool holds [`ImagePoolShape::stored_before`]`(s −
//! first_step)` = min(pool_size, (s − first_step) · batch) images. The counter must therefore
//! be advanced (`random::advance`) exactly once between two queries, before the second: in
//! CycleGAN's step, which advances the RNG counter first (it starts at 0), the first query
//! reads 1, so `first_step` = 1. Restoring the counter from a checkpoint restores the count;
//! the pool's contents ([`ImagePool::pool`]) must be saved and restored with it.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::random::{self, Distribution};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{error::shape_error, Error, Result};

pub const SHADER: Shader = Shader {
    name: "image_pool.wgsl",
    source: include_str!("../../shaders/image_pool.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // counter
        Access::Read,      // words
        Access::Read,      // input
        Access::ReadWrite, // pool
        Access::ReadWrite, // output
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;
const OP: &str = "image pool";

/// The largest pool: CycleGAN's is 50. The shader draws a slot with 16-bit halves of the
/// product u · pool_size, which needs pool_size < 2¹⁶; a pool past a thousand images is a
/// mistaken setting rather than a history D can use.
pub const MAX_POOL_SIZE: u32 = 1000;

/// Philox words a query draws per image: p, then the slot j.
pub const WORDS_PER_IMAGE: usize = 2;

/// A query's batch and the pool it draws from; images are f32 tensors of `image_len` elements
/// ([channels, height, width] flattened), laid out [batch, image_len].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagePoolShape {
    pub batch: u32,
    pub image_len: u32,
    /// 0 turns the pool off: a query returns its images unchanged.
    pub pool_size: u32,
}

impl ImagePoolShape {
    /// Elements of a batch of images, the query's input and output.
    pub fn images_len(&self) -> usize {
        self.batch as usize * self.image_len as usize
    }

    /// Elements of the pool: [pool_size, image_len].
    pub fn pool_len(&self) -> usize {
        self.pool_size as usize * self.image_len as usize
    }

    /// ceil(pool_size / batch): the queries after which the pool is full.
    pub fn fill_steps(&self) -> u32 {
        self.pool_size.div_ceil(self.batch.max(1))
    }

    /// Images the pool holds after `queries` queries: min(pool_size, queries · batch), as the
    /// reference's `num_imgs` counts them one image at a time.
    pub fn stored_before(&self, queries: u32) -> u32 {
        if queries >= self.fill_steps() {
            self.pool_size
        } else {
            // queries < ceil(pool_size / batch), so queries · batch < pool_size: no overflow.
            queries * self.batch
        }
    }

    /// Refuses an empty batch or image, a pool past [`MAX_POOL_SIZE`], and a batch or pool
    /// whose bytes exceed `max_binding_bytes` (one storage binding; 128 MiB in WebGPU by
    /// default), which also keeps every element index within u32.
    pub fn check(&self, max_binding_bytes: u64) -> Result<()> {
        if self.batch == 0 || self.image_len == 0 {
            return Err(shape_error(
                OP,
                format!(
                    "a batch of {} images of {} elements: both must be at least 1",
                    self.batch, self.image_len
                ),
            ));
        }
        if self.pool_size > MAX_POOL_SIZE {
            return Err(shape_error(
                OP,
                format!(
                    "a pool of {} images: at most {MAX_POOL_SIZE} (CycleGAN keeps 50)",
                    self.pool_size
                ),
            ));
        }
        for (what, len) in [
            ("the batch", self.images_len()),
            ("the pool", self.pool_len()),
        ] {
            let bytes = len as u64 * 4;
            if bytes > max_binding_bytes {
                return Err(shape_error(
                    OP,
                    format!(
                        "{what} needs {bytes} bytes, past the {max_binding_bytes} one GPU \
                         buffer binding holds ({self:?})"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Where a query's random words come from: `random::fill`'s (seed, stream,
/// counter[counter_index]), and the step of the first query.
#[derive(Clone, Copy)]
pub struct PoolDraw<'a> {
    pub seed: u64,
    /// `streams::image_pool(k)` for the k-th pool of a model (CycleGAN's fake_A and fake_B).
    pub stream: u32,
    /// u32 words; word `counter_index` is the step, advanced once between queries.
    pub counter: &'a wgpu::Buffer,
    pub counter_index: u32,
    /// The counter's value at the first query, when the pool is empty (1 in CycleGAN's step).
    pub first_step: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct PoolParams {
    batch: u32,
    image_len: u32,
    pool_size: u32,
    counter_index: u32,
    first_step: u32,
    fill_steps: u32,
    pad: [u32; 2],
}

/// One image pool with its buffer and its query built.
pub struct ImagePool {
    pub shape: ImagePoolShape,
    /// [pool_size, image_len] f32; None when pool_size is 0.
    pool: Option<wgpu::Buffer>,
    /// Where the queried batch is: the output buffer, or the input itself when pool_size is 0.
    output: wgpu::Buffer,
    /// The draw of the words, then the query; None when pool_size is 0.
    query: Option<Dispatch>,
}

impl ImagePool {
    /// A pool of `shape`, empty until the query at `draw.first_step`, whose query reads
    /// `input` and writes `output` (each [batch, image_len], distinct). With pool_size 0 the
    /// query records nothing and [`ImagePool::output`] is `input`.
    pub fn new(
        gpu: &Gpu,
        shape: ImagePoolShape,
        draw: PoolDraw,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<ImagePool> {
        shape.check(gpu.device.limits().max_storage_buffer_binding_size)?;
        let len = shape.images_len();
        check_len(OP, "input", input, len)?;
        check_len(OP, "output", output, len)?;
        check_len(OP, "counter", draw.counter, draw.counter_index as usize + 1)?;
        // WebGPU refuses a buffer bound twice in one dispatch when either binding writes it.
        if input == output {
            return Err(Error::Invalid(
                "image pool: input and output are the same buffer; they must be distinct".into(),
            ));
        }
        if shape.pool_size == 0 {
            return Ok(ImagePool {
                shape,
                pool: None,
                output: input.clone(),
                query: None,
            });
        }
        // Its contents never matter before they are written: slot k is filled by the k-th
        // image stored before any query can draw it.
        let pool = gpu.storage("image pool", shape.pool_len());
        let words_len = shape.batch as usize * WORDS_PER_IMAGE;
        let words = gpu.storage("image pool words", words_len);
        let fill = random::fill(
            gpu,
            Distribution::Bits,
            draw.seed,
            draw.stream,
            draw.counter,
            draw.counter_index,
            &words,
            words_len,
        )?;
        let params = PoolParams {
            batch: shape.batch,
            image_len: shape.image_len,
            pool_size: shape.pool_size,
            counter_index: draw.counter_index,
            first_step: draw.first_step,
            fill_steps: shape.fill_steps(),
            pad: [0; 2],
        };
        let buffers = [draw.counter, &words, input, &pool, output];
        let grid = grid_1d(shape.image_len as usize, GROUP);
        let mut query = Dispatch::new(gpu, &SHADER, "query", &[], &params, &buffers, grid)?;
        query.label = "image pool query";
        Ok(ImagePool {
            shape,
            pool: Some(pool),
            output: output.clone(),
            query: Some(fill.then(query)),
        })
    }

    /// The step's query: draw its words, then move the batch through the pool. Record it once
    /// per step, after the counter's advance; None when pool_size is 0.
    pub fn query(&self) -> Option<&Dispatch> {
        self.query.as_ref()
    }

    /// The queried batch, [batch, image_len].
    pub fn output(&self) -> &wgpu::Buffer {
        &self.output
    }

    /// The pool, [pool_size, image_len] f32, for a checkpoint to save and restore with the
    /// counter; None when pool_size is 0.
    pub fn pool(&self) -> Option<&wgpu::Buffer> {
        self.pool.as_ref()
    }
}

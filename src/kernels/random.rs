//! Random numbers on the GPU from `shaders/random.wgsl`: Philox4x32-10, keyed by a 64-bit seed,
//! counted by (element / 4, stream, step). The step lives in a GPU buffer, so a training step
//! recorded once and submitted many times draws fresh numbers each time: record [`advance`]
//! after the draws of a step and the CPU never writes a thing.
//!
//! Use one `stream` per purpose ("noise for the D step", "batch indices"): two fills that share
//! (seed, stream, step) see the same bits.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "random.wgsl",
    source: include_str!("../../shaders/random.wgsl"),
    bindings: &[Access::Uniform, Access::ReadWrite, Access::ReadWrite],
    lanes: None,
};

/// Threads per workgroup; must match GROUP in the shader. One thread makes one block of four.
const GROUP: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct RandomParams {
    len: u32,
    kind: u32,
    n: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    counter_index: u32,
    blocks: u32,
}

/// What [`fill`] writes: element i comes from word i % 4 of Philox block i / 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// The raw Philox words, as u32.
    Bits,
    /// f32 uniform in (−1, 1): (2k + 1 − 2²⁴) / 2²⁴ for the top 24 bits k, exact in f32.
    Uniform,
    /// f32 N(0, 1) by Box–Muller: words (0, 1) and (2, 3) of a block each give a cos/sin pair.
    Normal,
    /// u32 uniform in [0, n): floor(u · n / 2³²), for batches sampled with replacement.
    Indices(u32),
}

impl Distribution {
    fn kind(self) -> u32 {
        match self {
            Distribution::Bits => 0,
            Distribution::Uniform => 1,
            Distribution::Normal => 2,
            Distribution::Indices(_) => 3,
        }
    }
}

/// out[..len] = numbers of `dist` for (seed, stream, step = counter[counter_index]).
///
/// `out` holds f32 for `Uniform` and `Normal`, u32 for `Bits` and `Indices`.
#[allow(clippy::too_many_arguments)]
pub fn fill(
    gpu: &Gpu,
    dist: Distribution,
    seed: u64,
    stream: u32,
    counter: &wgpu::Buffer,
    counter_index: u32,
    out: &wgpu::Buffer,
    len: usize,
) -> Result<Dispatch> {
    let n = match dist {
        Distribution::Indices(0) => {
            return Err(Error::Invalid(
                "random indices in [0, n) need n ≥ 1: the dataset has no rows".into(),
            ))
        }
        Distribution::Indices(n) => n,
        _ => 0,
    };
    let len32 = u32::try_from(len)
        .map_err(|_| Error::Invalid(format!("random fill of {len} elements: at most 2^32 − 1")))?;
    check_len(
        "random fill",
        "counter",
        counter,
        counter_index as usize + 1,
    )?;
    check_len("random fill", "out", out, len)?;
    let blocks = len.div_ceil(4);
    let params = RandomParams {
        len: len32,
        kind: dist.kind(),
        n,
        stream,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        counter_index,
        blocks: blocks as u32,
    };
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        "fill",
        &[],
        &params,
        &[counter, out],
        grid_1d(blocks, GROUP),
    )?;
    d.label = "random fill";
    Ok(d)
}

/// counter[counter_index] += 1, on the GPU: record it once per step, after that step's fills.
pub fn advance(gpu: &Gpu, counter: &wgpu::Buffer, counter_index: u32) -> Result<Dispatch> {
    check_len(
        "random advance",
        "counter",
        counter,
        counter_index as usize + 1,
    )?;
    let params = RandomParams {
        counter_index,
        ..Default::default()
    };
    // The entry point never touches `out`, but the binding needs a buffer.
    let unused = gpu.storage("unused", 1);
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        "advance",
        &[],
        &params,
        &[counter, &unused],
        [1, 1, 1],
    )?;
    d.label = "random advance";
    Ok(d)
}

/// The bare generator, for known-answer tests: for each of `blocks` blocks b,
/// out[4b..4b + 4] = Philox4x32-10(counter = input[6b..6b + 4], key = input[6b + 4..6b + 6]).
pub fn philox_blocks(
    gpu: &Gpu,
    input: &wgpu::Buffer,
    blocks: usize,
    out: &wgpu::Buffer,
) -> Result<Dispatch> {
    check_len("philox", "input", input, blocks * 6)?;
    check_len("philox", "out", out, blocks * 4)?;
    let params = RandomParams {
        blocks: u32::try_from(blocks)
            .map_err(|_| Error::Invalid(format!("philox of {blocks} blocks: too many")))?,
        ..Default::default()
    };
    Dispatch::new(
        gpu,
        &SHADER,
        "philox_blocks",
        &[],
        &params,
        &[input, out],
        grid_1d(blocks, GROUP),
    )
}

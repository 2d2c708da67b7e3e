//! The glue kernels of `shaders/tensor.wgsl`: fill, scale, gathers by index, per-channel sums
//! and batch reductions.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_distinct, check_len, grid_1d, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "tensor.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/tensor.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
    lanes: None,
};

const GROUP: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct TensorParams {
    len: u32,
    row_len: u32,
    rows: u32,
    channels: u32,
    value: f32,
    kind: u32,
    slot: u32,
    accumulate: u32,
    src_at: u32,
    pad: [u32; 3],
}

/// What [`reduce`] computes over its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Sum = 0,
    Mean = 1,
    /// How many elements are > 0: logits a discriminator calls real.
    CountPositive = 2,
    /// How many elements are ≤ 0: logits a discriminator calls fake.
    CountNonPositive = 3,
}

fn build(
    gpu: &Gpu,
    entry: &'static str,
    params: TensorParams,
    src: Option<&wgpu::Buffer>,
    index: Option<&wgpu::Buffer>,
    dst: &wgpu::Buffer,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    // Unused bindings still need a buffer; the entry point never reads it.
    let spare_src = src.is_none().then(|| gpu.storage("unused", 1));
    let spare_index = index.is_none().then(|| gpu.storage("unused", 1));
    let src = src.or(spare_src.as_ref()).expect("one of the two is set");
    let index = index
        .or(spare_index.as_ref())
        .expect("one of the two is set");
    Dispatch::new(
        gpu,
        &SHADER,
        entry,
        &[],
        &params,
        &[src, index, dst],
        workgroups,
    )
}

/// dst[..len] = value
pub fn fill(gpu: &Gpu, dst: &wgpu::Buffer, len: usize, value: f32) -> Result<Dispatch> {
    check_len("fill", "dst", dst, len)?;
    let params = TensorParams {
        len: len as u32,
        value,
        ..Default::default()
    };
    build(gpu, "fill", params, None, None, dst, grid_1d(len, GROUP))
}

/// dst[..len] *= value
pub fn scale(gpu: &Gpu, dst: &wgpu::Buffer, len: usize, value: f32) -> Result<Dispatch> {
    check_len("scale", "dst", dst, len)?;
    let params = TensorParams {
        len: len as u32,
        value,
        ..Default::default()
    };
    build(gpu, "scale", params, None, None, dst, grid_1d(len, GROUP))
}

/// dst[b, j] = src[index[b], j] / 127.5 − 1 for u8 rows packed four to a word: a batch of
/// images in [−1, 1] from a GPU-resident dataset of `rows` images of `row_len` bytes.
pub fn gather_u8(
    gpu: &Gpu,
    src: &wgpu::Buffer,
    rows: usize,
    row_len: usize,
    index: &wgpu::Buffer,
    batch: usize,
    dst: &wgpu::Buffer,
) -> Result<Dispatch> {
    if rows == 0 || row_len == 0 {
        return Err(shape_error(
            "gather_u8",
            "the source has no rows or empty rows",
        ));
    }
    if (src.size() as usize) < rows * row_len {
        return Err(shape_error(
            "gather_u8",
            format!("src holds {} bytes, not {rows}×{row_len}", src.size()),
        ));
    }
    check_len("gather_u8", "index", index, batch)?;
    check_len("gather_u8", "dst", dst, batch * row_len)?;
    let len = batch * row_len;
    let params = TensorParams {
        len: len as u32,
        row_len: row_len as u32,
        rows: rows as u32,
        ..Default::default()
    };
    build(
        gpu,
        "gather_u8",
        params,
        Some(src),
        Some(index),
        dst,
        grid_1d(len, GROUP),
    )
}

/// dst[offset..offset + len] = src[..len]: a chunk of rows into its place in a larger tensor.
pub fn copy_at(
    gpu: &Gpu,
    src: &wgpu::Buffer,
    len: usize,
    dst: &wgpu::Buffer,
    offset: usize,
) -> Result<Dispatch> {
    copy_range(gpu, src, 0, dst, offset, len, false)
}

/// dst[dst_at..dst_at + len] = src[src_at..src_at + len], or `+=` with `accumulate`: rows
/// into their place in a larger tensor, out of it, or a slice's gradient added to another's.
pub fn copy_range(
    gpu: &Gpu,
    src: &wgpu::Buffer,
    src_at: usize,
    dst: &wgpu::Buffer,
    dst_at: usize,
    len: usize,
    accumulate: bool,
) -> Result<Dispatch> {
    let end = src_at.max(dst_at).saturating_add(len);
    if len == 0 || end > u32::MAX as usize {
        return Err(shape_error(
            "copy_at",
            format!("{len} values from {src_at} to {dst_at} do not fit a u32 index"),
        ));
    }
    check_len("copy_at", "src", src, src_at + len)?;
    check_len("copy_at", "dst", dst, dst_at + len)?;
    check_distinct("copy_at", &[("src", src), ("dst", dst)])?;
    let params = TensorParams {
        len: len as u32,
        slot: dst_at as u32,
        src_at: src_at as u32,
        accumulate: accumulate as u32,
        ..Default::default()
    };
    build(
        gpu,
        "copy_at",
        params,
        Some(src),
        None,
        dst,
        grid_1d(len, GROUP),
    )
}

/// dst[b, j] = src[index[b], j] for f32 rows.
pub fn gather_f32(
    gpu: &Gpu,
    src: &wgpu::Buffer,
    rows: usize,
    row_len: usize,
    index: &wgpu::Buffer,
    batch: usize,
    dst: &wgpu::Buffer,
) -> Result<Dispatch> {
    if rows == 0 || row_len == 0 {
        return Err(shape_error(
            "gather_f32",
            "the source has no rows or empty rows",
        ));
    }
    check_len("gather_f32", "src", src, rows * row_len)?;
    check_len("gather_f32", "index", index, batch)?;
    check_len("gather_f32", "dst", dst, batch * row_len)?;
    let len = batch * row_len;
    let params = TensorParams {
        len: len as u32,
        row_len: row_len as u32,
        rows: rows as u32,
        ..Default::default()
    };
    build(
        gpu,
        "gather_f32",
        params,
        Some(src),
        Some(index),
        dst,
        grid_1d(len, GROUP),
    )
}

/// Threads a per-channel sum aims for: each channel's (image, pixel) are cut into slices so
/// that a few thousand threads share the work, each summing one slice...
const SUM_THREADS: usize = 4096;
/// ... of at least this many elements.
const SUM_MIN_SLICE: usize = 16;

/// Slices of each channel's `count` elements for a sum over `channels` (see [`SUM_THREADS`]).
fn sum_slices(channels: usize, count: usize) -> usize {
    SUM_THREADS
        .div_ceil(channels.max(1))
        .min(count.div_ceil(SUM_MIN_SLICE))
        .max(1)
}

/// dst[c] (+)= Σ_{b, i} src[b, c, i] for src [batch, channels, pixels]: the bias gradient. One
/// thread per slice of a channel, then, where there are several slices, one per channel to add
/// their partial sums.
pub fn channel_sum(
    gpu: &Gpu,
    batch: u32,
    channels: u32,
    pixels: u32,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    // In usize: the u32 product overflows (a panic in debug, a wrapped check in release).
    let len = batch as usize * channels as usize * pixels as usize;
    check_len("channel_sum", "src", src, len)?;
    check_len("channel_sum", "dst", dst, channels as usize)?;
    let slices = sum_slices(channels as usize, batch as usize * pixels as usize);
    let run = |rows: u32, row_len: u32, slices: usize, from: &wgpu::Buffer, to, accumulate| {
        let params = TensorParams {
            row_len,
            rows,
            channels,
            slot: slices as u32,
            accumulate: accumulate as u32,
            ..Default::default()
        };
        build(
            gpu,
            "channel_sum",
            params,
            Some(from),
            None,
            to,
            grid_1d(slices * channels as usize, GROUP),
        )
    };
    let mut d = if slices == 1 {
        run(batch, pixels, 1, src, dst, accumulate)?
    } else {
        // The slices' sums, [slice][channel]: the second run's source of `slices` rows of 1.
        let partial = gpu.storage("bias gradient slices", slices * channels as usize);
        run(batch, pixels, slices, src, &partial, false)?.then(run(
            slices as u32,
            1,
            1,
            &partial,
            dst,
            accumulate,
        )?)
    };
    d.label = "bias gradient";
    Ok(d)
}

/// dst[slot] (+)= the reduction of src[..len]. One workgroup: meant for batch-sized inputs
/// (losses, logits), not for whole tensors.
pub fn reduce(
    gpu: &Gpu,
    kind: Reduction,
    src: &wgpu::Buffer,
    len: usize,
    dst: &wgpu::Buffer,
    slot: usize,
    accumulate: bool,
) -> Result<Dispatch> {
    check_len("reduce", "src", src, len)?;
    check_len("reduce", "dst", dst, slot + 1)?;
    let params = TensorParams {
        len: len as u32,
        kind: kind as u32,
        slot: slot as u32,
        accumulate: accumulate as u32,
        ..Default::default()
    };
    build(gpu, "reduce", params, Some(src), None, dst, [1, 1, 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_sums_are_sliced_for_a_few_thousand_threads_of_16_elements_or_more() {
        // CycleGAN's residual blocks: 256 channels of 256 pixels, 16 slices of 16.
        assert_eq!(sum_slices(256, 256), 16);
        // Its first layer: 64 channels of 4,096 pixels, 64 slices of 64.
        assert_eq!(sum_slices(64, 4096), 64);
        // Few elements a channel: one slice, one thread per channel.
        assert_eq!(sum_slices(65, 6), 1);
        assert_eq!(sum_slices(5000, 1 << 20), 1);
        // Three channels of 300: 19 slices of at most 16.
        assert_eq!(sum_slices(3, 300), 19);
    }
}

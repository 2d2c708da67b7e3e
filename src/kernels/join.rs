//! Joining tensors of `shaders/join.wgsl`: channel concatenation and its backward (a U-Net's
//! skip connection), and the elementwise sum and its backward (a residual block). Tensors are
//! [batch, channels, pixels]; every gradient may overwrite its destination or add into it,
//! which is how a tensor consumed twice gathers both consumers' gradients.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "join.wgsl",
    source: concat!(
        include_str!("../../shaders/join_common.wgsl"),
        include_str!("../../shaders/join.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

/// A vec4 a thread, for channels of a multiple of 4 pixels.
pub const SHADER_VEC4: Shader = Shader {
    name: "join_vec4.wgsl",
    source: concat!(
        include_str!("../../shaders/join_common.wgsl"),
        include_str!("../../shaders/join_vec4.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];

const GROUP: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct JoinParams {
    batch: u32,
    pixels: u32,
    channels: u32,
    src_channels: u32,
    dst_channels: u32,
    src_offset: u32,
    dst_offset: u32,
    accumulate: u32,
}

/// One input of a concatenation (or one gradient of its backward): its buffer, its channels,
/// and, for a gradient, whether to add into what is there.
#[derive(Clone, Copy)]
pub struct Part<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub channels: u32,
    pub accumulate: bool,
}

/// Elements of [batch, channels, pixels], refused past u32 (the shader's indices).
fn count(op: &'static str, batch: u32, channels: u32, pixels: u32) -> Result<usize> {
    let n = batch as u64 * channels as u64 * pixels as u64;
    if batch == 0 || channels == 0 || pixels == 0 || n > u32::MAX as u64 {
        return Err(shape_error(
            op,
            format!("[{batch}, {channels}, {pixels}] must be non-empty and under 2^32 elements"),
        ));
    }
    Ok(n as usize)
}

/// A flat tensor's length as the shader's u32 count.
fn elements(op: &'static str, len: usize) -> Result<u32> {
    u32::try_from(len)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| shape_error(op, format!("{len} elements: must be 1 to 2^32 − 1")))
}

fn build(
    gpu: &Gpu,
    entry: &'static str,
    params: JoinParams,
    a: &wgpu::Buffer,
    b: Option<&wgpu::Buffer>,
    dst: &wgpu::Buffer,
    len: usize,
) -> Result<Dispatch> {
    let spare = b.is_none().then(|| gpu.storage("unused", 1));
    let b = b.or(spare.as_ref()).expect("one of the two is set");
    // A vec4 a thread where no vec4 straddles two channels.
    let label = entry;
    let (shader, entry, threads) = match (entry, params.pixels.is_multiple_of(4)) {
        ("copy_channels", true) => (&SHADER_VEC4, "copy_channels4", len / 4),
        ("add", true) => (&SHADER_VEC4, "add4", len / 4),
        _ => (&SHADER, entry, len),
    };
    let mut d = Dispatch::new(
        gpu,
        shader,
        entry,
        &[],
        &params,
        &[a, b, dst],
        grid_1d(threads, GROUP),
    )?;
    // Labelled as the f32 kernel, so that benchmarks sum both under one name.
    d.label = label;
    Ok(d)
}

/// dst[n, dst_offset + c, q] (+)= src[n, src_offset + c, q] for c < `channels`: one part of a
/// concatenation or of its gradient, or (one channel of one pixel per element) a plain copy.
#[allow(clippy::too_many_arguments)]
pub fn copy_channels(
    gpu: &Gpu,
    batch: u32,
    pixels: u32,
    channels: u32,
    (src, src_channels, src_offset): (&wgpu::Buffer, u32, u32),
    (dst, dst_channels, dst_offset): (&wgpu::Buffer, u32, u32),
    accumulate: bool,
) -> Result<Dispatch> {
    let op = "copy_channels";
    let len = count(op, batch, channels, pixels)?;
    check_len(op, "src", src, count(op, batch, src_channels, pixels)?)?;
    check_len(op, "dst", dst, count(op, batch, dst_channels, pixels)?)?;
    let params = JoinParams {
        batch,
        pixels,
        channels,
        src_channels,
        dst_channels,
        src_offset,
        dst_offset,
        accumulate: accumulate as u32,
    };
    build(gpu, op, params, src, None, dst, len)
}

/// One channel copy per part, each given the part, its first channel in the joined tensor and
/// the joined tensor's channels.
fn per_part(
    parts: &[Part],
    copy: impl Fn(&Part, u32, u32) -> Result<Dispatch>,
) -> Result<Vec<Dispatch>> {
    let total: u32 = parts.iter().map(|p| p.channels).sum();
    let mut offset = 0;
    parts
        .iter()
        .map(|part| {
            let d = copy(part, offset, total);
            offset += part.channels;
            d
        })
        .collect()
}

/// out = cat(parts, dim = 1): [batch, Σ channels, pixels] (PyTorch's `torch.cat(xs, 1)`).
/// One dispatch per part, each writing its own channels of `out`.
pub fn concat(
    gpu: &Gpu,
    batch: u32,
    pixels: u32,
    parts: &[Part],
    out: &wgpu::Buffer,
) -> Result<Vec<Dispatch>> {
    per_part(parts, |part, offset, total| {
        let src = (part.buffer, part.channels, 0);
        copy_channels(
            gpu,
            batch,
            pixels,
            part.channels,
            src,
            (out, total, offset),
            false,
        )
    })
}

/// The gradients of [`concat`]: each part's gradient (+)= its channels of `doutput`.
pub fn concat_backward(
    gpu: &Gpu,
    batch: u32,
    pixels: u32,
    doutput: &wgpu::Buffer,
    dparts: &[Part],
) -> Result<Vec<Dispatch>> {
    per_part(dparts, |part, offset, total| {
        let dst = (part.buffer, part.channels, 0);
        let src = (doutput, total, offset);
        copy_channels(gpu, batch, pixels, part.channels, src, dst, part.accumulate)
    })
}

/// out (+)= a + b over `len` elements.
pub fn add(
    gpu: &Gpu,
    len: usize,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    out: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    let op = "add";
    let pixels = elements(op, len)?;
    for (what, buffer) in [("a", a), ("b", b), ("out", out)] {
        check_len(op, what, buffer, len)?;
    }
    let params = JoinParams {
        batch: 1,
        pixels,
        channels: 1,
        accumulate: accumulate as u32,
        ..Default::default()
    };
    build(gpu, op, params, a, Some(b), out, len)
}

/// The gradients of [`add`]: da (+)= doutput and db (+)= doutput, one copy each.
pub fn add_backward(
    gpu: &Gpu,
    len: usize,
    doutput: &wgpu::Buffer,
    dparts: [Part; 2],
) -> Result<Vec<Dispatch>> {
    let pixels = elements("add_backward", len)?;
    dparts
        .iter()
        .map(|d| {
            copy_channels(
                gpu,
                1,
                pixels,
                1,
                (doutput, 1, 0),
                (d.buffer, 1, 0),
                d.accumulate,
            )
        })
        .collect()
}

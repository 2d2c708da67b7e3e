//! Softmax cross-entropy of `shaders/softmax.wgsl`: one dispatch writes the mean loss over a
//! batch of class logits and the number of correctly classified rows into two slots of a small
//! stats buffer, and d(mean loss)/d logits.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::loss::LossOptions;
use crate::kernels::{check_len, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "softmax.wgsl",
    source: include_str!("../../shaders/softmax.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    lanes: None,
};

/// The largest batch whose correct count the shader sums exactly in f32.
pub const MAX_BATCH: u32 = 1 << 24;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct SoftmaxParams {
    batch: u32,
    classes: u32,
    scale: f32,
    slot: u32,
    accumulate_loss: u32,
    accumulate_grad: u32,
    _pad0: u32,
    _pad1: u32,
}

/// For logits x (batch, classes) and labels y (batch), with p = softmax(x) per row:
/// stats[slot] (+)= (1/batch) Σ_r −log p[r, y_r], stats[slot + 1] (+)= the number of rows whose
/// first argmax is y_r, and dlogits (+)= scale · (p − one_hot(y)) / batch. `options` as for
/// [`crate::kernels::loss::loss`]; `accumulate_loss` applies to both slots.
///
/// A label ≥ `classes` cannot be caught here (labels live on the GPU): the shader clamps it to
/// `classes − 1`. One workgroup: `batch` is a batch size, at most [`MAX_BATCH`].
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy(
    gpu: &Gpu,
    logits: &wgpu::Buffer,
    labels: &wgpu::Buffer,
    batch: u32,
    classes: u32,
    dlogits: &wgpu::Buffer,
    stats: &wgpu::Buffer,
    slot: u32,
    options: LossOptions,
) -> Result<Dispatch> {
    const OP: &str = "cross_entropy";
    if batch == 0 || classes == 0 {
        return Err(shape_error(
            OP,
            format!("batch = {batch}, classes = {classes}: both must be positive"),
        ));
    }
    if batch > MAX_BATCH {
        return Err(shape_error(
            OP,
            format!("batch = {batch} exceeds {MAX_BATCH}, past which an f32 count is inexact"),
        ));
    }
    let len = batch as u64 * classes as u64;
    if len > u32::MAX as u64 || slot == u32::MAX {
        return Err(shape_error(
            OP,
            format!("batch × classes = {len} or slot + 1 = {slot} + 1 exceeds u32"),
        ));
    }
    check_len(OP, "logits", logits, len as usize)?;
    check_len(OP, "labels", labels, batch as usize)?;
    check_len(OP, "dlogits", dlogits, len as usize)?;
    check_len(
        OP,
        "stats (loss and correct count)",
        stats,
        slot as usize + 2,
    )?;
    if !options.scale.is_finite() {
        return Err(Error::Invalid(format!(
            "{OP}: scale {} is not finite",
            options.scale
        )));
    }
    let params = SoftmaxParams {
        batch,
        classes,
        scale: options.scale,
        slot,
        accumulate_loss: options.accumulate_loss as u32,
        accumulate_grad: options.accumulate_grad as u32,
        _pad0: 0,
        _pad1: 0,
    };
    Dispatch::new(
        gpu,
        &SHADER,
        OP,
        &[],
        &params,
        &[logits, labels, dlogits, stats],
        [1, 1, 1],
    )
}

//! The image-sized losses of `shaders/pixel_loss.wgsl`: λ times PyTorch's `nn.L1Loss()` or
//! `nn.MSELoss()` between a prediction and a target of any length, as pix2pix's λ·L1 and
//! CycleGAN's cycle and identity losses. The mean is a split reduction (partial sums per
//! segment, then their sum), planned by [`plan`] from the length alone.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_distinct, check_len, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "pixel_loss.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/pixel_loss.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,   // params
        Access::Read,      // input
        Access::Read,      // targets
        Access::ReadWrite, // dinput
        Access::ReadWrite, // dtargets
        Access::ReadWrite, // partials
        Access::ReadWrite, // stats
    ],
    lanes: None,
};

/// Threads per workgroup, as `GROUP` in the shader.
pub const GROUP: usize = 256;
/// Workgroups of the partial sums at most: 262,144 threads fill a large GPU, and `finish`'s one
/// workgroup then sums at most 4 partials a thread.
pub const MAX_GROUPS: usize = 1024;
/// The longest tensor: segment starts and ends stay below 2³² with room to spare (and no
/// device binds 8 GiB of f32 anyway).
pub const MAX_LEN: usize = 1 << 31;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct PixelLossParams {
    len: u32,
    kind: u32,
    segment: u32,
    groups: u32,
    loss_scale: f32,
    grad_scale: f32,
    slot: u32,
    accumulate_loss: u32,
    accumulate_grad: u32,
    write_dtargets: u32,
    accumulate_dtargets: u32,
    _pad: u32,
}

/// An elementwise distance, averaged over every element as PyTorch's default `reduction='mean'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLoss {
    /// `nn.L1Loss()`: mean |x − t|. Its gradient at x = t is 0, as PyTorch's sign(0).
    L1,
    /// `nn.MSELoss()`: mean (x − t)².
    Mse,
}

impl PixelLoss {
    fn code(self) -> u32 {
        match self {
            PixelLoss::L1 => 0,
            PixelLoss::Mse => 1,
        }
    }

    fn label(self) -> &'static str {
        match self {
            PixelLoss::L1 => "L1 loss",
            PixelLoss::Mse => "MSE loss",
        }
    }
}

/// How [`pixel_loss`] weighs and writes its outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelLossOptions {
    /// λ: the loss and both gradients are λ times the mean's (pix2pix 100, CycleGAN's cycle 10
    /// and identity 5). Finite and ≥ 0.
    pub weight: f32,
    /// Add λ·loss into `stats[slot]` instead of overwriting it: G's adversarial and cycle
    /// losses summed into one slot.
    pub accumulate_loss: bool,
    /// Add into `dinput` instead of overwriting it: the adversarial loss's gradient is already
    /// there, or another loss of the same output wrote first.
    pub accumulate_grad: bool,
    /// Add into `dtargets` instead of overwriting it. Only with a `dtargets` buffer.
    pub accumulate_dtargets: bool,
}

impl Default for PixelLossOptions {
    fn default() -> Self {
        PixelLossOptions {
            weight: 1.0,
            accumulate_loss: false,
            accumulate_grad: false,
            accumulate_dtargets: false,
        }
    }
}

/// How the sum over `len` elements is split: `groups` workgroups of [`GROUP`] threads, each
/// summing `segment` consecutive elements (the last segment may be shorter), then one sum of
/// the `groups` partials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub segment: usize,
    pub groups: usize,
}

/// The split of a sum over `len` ≥ 1 elements: as many workgroups as one element a thread
/// needs, up to [`MAX_GROUPS`]; past that, segments grow by whole passes of [`GROUP`] threads
/// (so each pass reads 256 neighbours) and no segment is left empty.
pub fn plan(len: usize) -> Plan {
    let len = len.max(1);
    let groups = len.div_ceil(GROUP).min(MAX_GROUPS);
    let segment = len.div_ceil(groups).next_multiple_of(GROUP);
    Plan {
        segment,
        groups: len.div_ceil(segment),
    }
}

/// stats[slot] (+)= λ/len Σ_i l(x_i − t_i), dinput[i] (+)= λ/len l'(x_i − t_i) and, given
/// `dtargets`, dtargets[i] (+)= −λ/len l'(x_i − t_i), over input x[0..len] and target t[0..len];
/// l(d) = |d| ([`PixelLoss::L1`]) or d² ([`PixelLoss::Mse`]).
///
/// Two dispatches (the partial sums with the gradients, then the final sum) recorded as one,
/// with a partials buffer of [`plan`]`(len).groups` elements made here, once. Every buffer must
/// be distinct: WebGPU refuses a buffer bound twice where one binding writes it.
#[allow(clippy::too_many_arguments)]
pub fn pixel_loss(
    gpu: &Gpu,
    kind: PixelLoss,
    input: &wgpu::Buffer,
    targets: &wgpu::Buffer,
    len: usize,
    dinput: &wgpu::Buffer,
    dtargets: Option<&wgpu::Buffer>,
    stats: &wgpu::Buffer,
    slot: usize,
    options: PixelLossOptions,
) -> Result<Dispatch> {
    let op = kind.label();
    check_arguments(op, len, slot, dtargets.is_some(), &options)?;
    check_len(op, "input", input, len)?;
    check_len(op, "targets", targets, len)?;
    check_len(op, "dinput", dinput, len)?;
    if let Some(dtargets) = dtargets {
        check_len(op, "dtargets", dtargets, len)?;
    }
    check_len(op, "stats", stats, slot + 1)?;
    let mut named = vec![
        ("input", input),
        ("targets", targets),
        ("dinput", dinput),
        ("stats", stats),
    ];
    named.extend(dtargets.map(|b| ("dtargets", b)));
    check_distinct(op, &named)?;

    let Plan { segment, groups } = plan(len);
    // λ/len in f64, rounded once; the loss and its gradient share it.
    let scale = options.weight as f64 / len as f64;
    let grad_factor = match kind {
        PixelLoss::L1 => 1.0,
        PixelLoss::Mse => 2.0, // d(d²) = 2d
    };
    let params = PixelLossParams {
        len: len as u32,
        kind: kind.code(),
        segment: segment as u32,
        groups: groups as u32,
        loss_scale: scale as f32,
        grad_scale: (grad_factor * scale) as f32,
        slot: slot as u32,
        accumulate_loss: options.accumulate_loss as u32,
        accumulate_grad: options.accumulate_grad as u32,
        write_dtargets: dtargets.is_some() as u32,
        accumulate_dtargets: options.accumulate_dtargets as u32,
        _pad: 0,
    };
    let partials = gpu.storage("pixel loss partials", groups);
    // Without dtargets the binding still needs a buffer; the shader never touches it.
    let spare = dtargets
        .is_none()
        .then(|| gpu.storage("unused dtargets", 1));
    let dtargets = dtargets.or(spare.as_ref()).expect("one of the two is set");
    let buffers = [input, targets, dinput, dtargets, &partials, stats];
    let sums = Dispatch::new(
        gpu,
        &SHADER,
        "partial",
        &[],
        &params,
        &buffers,
        [groups as u32, 1, 1],
    )?;
    let finish = Dispatch::new(gpu, &SHADER, "finish", &[], &params, &buffers, [1, 1, 1])?;
    let mut d = sums.then(finish);
    d.label = op;
    Ok(d)
}

/// The checks that need no buffer: a length a mean and the shader can take, a slot in u32,
/// a weight λ that is finite and ≥ 0, and `accumulate_dtargets` only with a `dtargets`.
fn check_arguments(
    op: &'static str,
    len: usize,
    slot: usize,
    has_dtargets: bool,
    options: &PixelLossOptions,
) -> Result<()> {
    if len == 0 {
        return Err(shape_error(op, "the tensor is empty: a mean needs len ≥ 1"));
    }
    if len > MAX_LEN {
        return Err(shape_error(
            op,
            format!("len = {len} exceeds the {MAX_LEN} elements the kernel indexes"),
        ));
    }
    if slot >= u32::MAX as usize {
        return Err(shape_error(op, format!("slot = {slot} exceeds u32")));
    }
    let w = options.weight;
    if !(w.is_finite() && w >= 0.0) {
        return Err(Error::Invalid(format!(
            "{op}: the weight λ must be a finite number ≥ 0, not {w}"
        )));
    }
    if options.accumulate_dtargets && !has_dtargets {
        return Err(Error::Invalid(format!(
            "{op}: accumulate_dtargets is set but no dtargets buffer was given"
        )));
    }
    Ok(())
}

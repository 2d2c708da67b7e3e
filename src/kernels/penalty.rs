//! A gradient penalty's kernels (`shaders/penalty.wgsl`): WGAN-GP's interpolates of real and
//! fake images; the head, from a critic's input gradient g, each sample's norm, its term of
//! WGAN-GP's λ·mean (‖g‖ − 1)² or R1's γ/2·mean ‖g‖², and u = ∂P/∂g, which the penalty's
//! second pass carries through the critic (`graph::penalty`); the total into D's loss. The f64
//! specification is `reference::penalty`.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_distinct, check_len, grid_1d, Dispatch};
use crate::reference::penalty::Penalty;
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "penalty.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/penalty.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,   // params
        Access::Read,      // g (interpolate: real)
        Access::Read,      // fake
        Access::ReadWrite, // u (interpolate: x̂)
        Access::ReadWrite, // norms
        Access::ReadWrite, // terms
        Access::Read,      // mix
        Access::ReadWrite, // stats
    ],
    lanes: None,
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct PenaltyParams {
    per_sample: u32,
    batch: u32,
    kind: u32,
    weight: f32,
    slot: u32,
    _pad: [u32; 3],
}

/// Threads per workgroup, as `GROUP` in the shader.
const GROUP: u32 = 256;

/// The buffers of one entry point by binding, in the shader's order (g, fake, u, norms,
/// terms, mix, stats); the ones it does not use get one-element spares.
fn dispatch(
    gpu: &Gpu,
    entry: &'static str,
    params: &PenaltyParams,
    bound: [Option<&wgpu::Buffer>; 7],
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let spares: Vec<wgpu::Buffer> = bound
        .iter()
        .filter(|b| b.is_none())
        .map(|_| gpu.storage("unused", 1))
        .collect();
    let mut spare = spares.iter();
    let buffers: Vec<&wgpu::Buffer> = bound
        .iter()
        .map(|b| b.unwrap_or_else(|| spare.next().expect("one spare per unused binding")))
        .collect();
    Dispatch::new(gpu, &SHADER, entry, &[], params, &buffers, workgroups)
}

/// norms[b] = ‖g_b‖, terms[b] = the penalty's term for sample b (their sum is the penalty),
/// u = ∂P/∂g, for g of `batch` samples of `per_sample` values. One workgroup per sample.
#[allow(clippy::too_many_arguments)]
pub fn head(
    gpu: &Gpu,
    penalty: Penalty,
    g: &wgpu::Buffer,
    u: &wgpu::Buffer,
    norms: &wgpu::Buffer,
    terms: &wgpu::Buffer,
    batch: u32,
    per_sample: usize,
) -> Result<Dispatch> {
    const OP: &str = "penalty";
    let (kind, weight) = match penalty {
        Penalty::Gp { lambda } => (0, lambda),
        Penalty::R1 { gamma } => (1, gamma),
    };
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(shape_error(
            OP,
            format!("the penalty's weight must be a number ≥ 0, not {weight}"),
        ));
    }
    if batch == 0 || per_sample == 0 || per_sample > u32::MAX as usize {
        return Err(shape_error(
            OP,
            format!("{batch} samples of {per_sample} values is no batch to penalise"),
        ));
    }
    let len = batch as usize * per_sample;
    check_len(OP, "g", g, len)?;
    check_len(OP, "u", u, len)?;
    check_len(OP, "norms", norms, batch as usize)?;
    check_len(OP, "terms", terms, batch as usize)?;
    check_distinct(
        OP,
        &[("g", g), ("u", u), ("norms", norms), ("terms", terms)],
    )?;
    let params = PenaltyParams {
        per_sample: per_sample as u32,
        batch,
        kind,
        weight: weight as f32,
        ..Default::default()
    };
    let bound = [Some(g), None, Some(u), Some(norms), Some(terms), None, None];
    dispatch(gpu, "head", &params, bound, [batch, 1, 1])
}

/// x̂_b = t_b·real_b + (1 − t_b)·fake_b with t_b = (e_b + 1)/2 from `mix` (e_b uniform in
/// (−1, 1), one per sample), for `batch` samples of `per_sample` values.
pub fn interpolate(
    gpu: &Gpu,
    real: &wgpu::Buffer,
    fake: &wgpu::Buffer,
    mix: &wgpu::Buffer,
    out: &wgpu::Buffer,
    batch: u32,
    per_sample: usize,
) -> Result<Dispatch> {
    const OP: &str = "penalty interpolates";
    let len = batch as usize * per_sample;
    if len == 0 || len > u32::MAX as usize {
        return Err(shape_error(OP, format!("{batch} × {per_sample} values")));
    }
    check_len(OP, "real", real, len)?;
    check_len(OP, "fake", fake, len)?;
    check_len(OP, "mix", mix, batch as usize)?;
    check_len(OP, "out", out, len)?;
    check_distinct(OP, &[("real", real), ("fake", fake), ("out", out)])?;
    let params = PenaltyParams {
        per_sample: per_sample as u32,
        batch,
        ..Default::default()
    };
    let bound = [
        Some(real),
        Some(fake),
        Some(out),
        None,
        None,
        Some(mix),
        None,
    ];
    dispatch(gpu, "interpolate", &params, bound, grid_1d(len, GROUP))
}

/// stats[slot] += Σ_b terms[b]: the penalty added to D's loss.
pub fn total(
    gpu: &Gpu,
    terms: &wgpu::Buffer,
    batch: u32,
    stats: &wgpu::Buffer,
    slot: usize,
) -> Result<Dispatch> {
    const OP: &str = "penalty total";
    check_len(OP, "terms", terms, batch as usize)?;
    check_len(OP, "stats", stats, slot + 1)?;
    let params = PenaltyParams {
        batch,
        slot: slot as u32,
        ..Default::default()
    };
    let bound = [None, None, None, None, Some(terms), None, Some(stats)];
    dispatch(gpu, "total", &params, bound, [1, 1, 1])
}

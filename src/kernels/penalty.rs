//! The head of a gradient penalty (`shaders/penalty.wgsl`): from a critic's input gradient g,
//! each sample's norm, its term of WGAN-GP's λ·mean (‖g‖ − 1)² or R1's γ/2·mean ‖g‖², and
//! u = ∂P/∂g, which the penalty's second pass carries through the critic (`graph::penalty`).
//! The f64 specification is `reference::penalty`.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_distinct, check_len, Dispatch};
use crate::reference::penalty::Penalty;
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "penalty.wgsl",
    source: include_str!("../../shaders/penalty.wgsl"),
    bindings: &[
        Access::Uniform,   // params
        Access::Read,      // g
        Access::ReadWrite, // u
        Access::ReadWrite, // norms
        Access::ReadWrite, // terms
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
    };
    Dispatch::new(
        gpu,
        &SHADER,
        "head",
        &[],
        &params,
        &[g, u, norms, terms],
        [batch, 1, 1],
    )
}

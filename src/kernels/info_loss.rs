//! InfoGAN's mutual-information term (`shaders/info_loss.wgsl`): from Q's output on a batch of
//! fakes and the codes G was given, the gradient of weight · mean(cross-entropy of the
//! categorical code + ½ squared error of the continuous ones) into `dq`, and the two unweighted
//! means into the stats. The f64 specification is `reference::info_loss`.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_distinct, check_len, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "info_loss.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/info_loss.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,   // params
        Access::Read,      // q
        Access::Read,      // labels
        Access::Read,      // codes
        Access::ReadWrite, // dq
        Access::ReadWrite, // stats
    ],
    lanes: None,
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct InfoParams {
    n: u32,
    k: u32,
    m: u32,
    weight: f32,
    slot_cat: u32,
    slot_cont: u32,
    _pad: [u32; 2],
}

/// A batch's codes: `categorical` values of one categorical code (0: none) and `continuous`
/// codes, per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoShape {
    pub batch: u32,
    pub categorical: u32,
    pub continuous: u32,
}

impl InfoShape {
    /// Q's values per sample.
    pub fn row(&self) -> usize {
        (self.categorical + self.continuous) as usize
    }
}

/// dq = ∂(weight · mean loss)/∂q; stats[slots.0] = mean categorical cross-entropy,
/// stats[slots.1] = mean continuous ½ squared error. `labels` (u32, [batch]) is read when there
/// is a categorical code, `codes` ([batch, continuous]) when there are continuous ones.
#[allow(clippy::too_many_arguments)]
pub fn info_loss(
    gpu: &Gpu,
    s: InfoShape,
    weight: f32,
    q: &wgpu::Buffer,
    labels: &wgpu::Buffer,
    codes: &wgpu::Buffer,
    dq: &wgpu::Buffer,
    stats: &wgpu::Buffer,
    slots: (usize, usize),
) -> Result<Dispatch> {
    const OP: &str = "info_loss";
    if s.batch == 0 || s.row() == 0 || s.categorical == 1 {
        return Err(shape_error(
            OP,
            format!("a batch of {} with codes {s:?}", s.batch),
        ));
    }
    let b = s.batch as usize;
    check_len(OP, "q", q, b * s.row())?;
    check_len(OP, "dq", dq, b * s.row())?;
    if s.categorical > 0 {
        check_len(OP, "labels", labels, b)?;
    }
    if s.continuous > 0 {
        check_len(OP, "codes", codes, b * s.continuous as usize)?;
    }
    check_len(OP, "stats", stats, slots.0.max(slots.1) + 1)?;
    check_distinct(OP, &[("q", q), ("dq", dq), ("stats", stats)])?;
    let params = InfoParams {
        n: s.batch,
        k: s.categorical,
        m: s.continuous,
        weight,
        slot_cat: slots.0 as u32,
        slot_cont: slots.1 as u32,
        _pad: [0; 2],
    };
    Dispatch::new(
        gpu,
        &SHADER,
        "info_loss",
        &[],
        &params,
        &[q, labels, codes, dq, stats],
        [1, 1, 1],
    )
}

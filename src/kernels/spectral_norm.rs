//! Spectral normalisation of `shaders/spectral_norm.wgsl`: one power iteration and W / σ before
//! a layer's forward, and the gradient through σ after its weight gradient. See
//! [`crate::reference::spectral_norm`] for the maths.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
pub use crate::reference::spectral_norm::SpectralLayout;
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "spectral_norm.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/spectral_norm.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::Read,
        Access::ReadWrite,
    ],
    lanes: None,
};

const GROUP: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct SpectralNormParams {
    rows: u32,
    cols: u32,
    inner: u32,
    len: u32,
    accumulate: u32,
    eval: u32,
    _pad0: u32,
    _pad1: u32,
}

/// Elements of the scratch buffer one pass needs: [σ, ⟨G, W_sn⟩, -, -, u, v, t, s, ⟨G, W_sn⟩
/// per row].
pub fn scratch_len(l: SpectralLayout) -> usize {
    4 + 3 * l.rows + 2 * l.cols
}

/// The buffers of one use (one pass) of a spectrally normalised weight. `weight_u` and
/// `weight_v` are the persisted vectors (the network's); `scratch` and `weight_sn` belong to
/// the pass, so its backward sees its own σ, u and v.
pub struct SpectralBuffers<'a> {
    pub weight: &'a wgpu::Buffer,
    pub weight_u: &'a wgpu::Buffer,
    pub weight_v: &'a wgpu::Buffer,
    pub scratch: &'a wgpu::Buffer,
    pub weight_sn: &'a wgpu::Buffer,
}

fn params(l: SpectralLayout, accumulate: bool, eval: bool) -> Result<SpectralNormParams> {
    const OP: &str = "spectral_norm";
    if l.is_empty() || l.inner == 0 || !l.cols.is_multiple_of(l.inner) {
        return Err(shape_error(
            OP,
            format!(
                "rows {} × cols {} (inner {}): both must be positive, cols a multiple of inner",
                l.rows, l.cols, l.inner
            ),
        ));
    }
    let big = |n: usize| n > u32::MAX as usize;
    if big(l.len()) || big(scratch_len(l)) {
        return Err(shape_error(
            OP,
            format!("a weight of {} elements exceeds u32", l.len()),
        ));
    }
    Ok(SpectralNormParams {
        rows: l.rows as u32,
        cols: l.cols as u32,
        inner: l.inner as u32,
        len: l.len() as u32,
        accumulate: accumulate as u32,
        eval: eval as u32,
        ..Default::default()
    })
}

fn check(l: SpectralLayout, b: &SpectralBuffers) -> Result<()> {
    const OP: &str = "spectral_norm";
    check_len(OP, "weight", b.weight, l.len())?;
    check_len(OP, "weight_u", b.weight_u, l.rows)?;
    check_len(OP, "weight_v", b.weight_v, l.cols)?;
    check_len(OP, "scratch", b.scratch, scratch_len(l))?;
    check_len(OP, "weight_sn", b.weight_sn, l.len())
}

fn dispatch(
    gpu: &Gpu,
    entry: &'static str,
    p: SpectralNormParams,
    b: &SpectralBuffers,
    grads: [&wgpu::Buffer; 2],
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let buffers = [
        b.weight,
        b.weight_u,
        b.weight_v,
        b.scratch,
        b.weight_sn,
        grads[0],
        grads[1],
    ];
    Dispatch::new(gpu, &SHADER, entry, &[], &p, &buffers, workgroups)
}

/// W_sn = W / σ. Train: one power iteration first (v = normalize(Wᵀu), u = normalize(Wv), both
/// stored back), σ = uᵀWv. Eval: σ from the stored u and v, which stay. Four dispatches in
/// train mode, three in eval.
pub fn forward(gpu: &Gpu, l: SpectralLayout, b: &SpectralBuffers, train: bool) -> Result<Dispatch> {
    check(l, b)?;
    let p = params(l, false, !train)?;
    // Unused gradient bindings still need buffers; these entry points never touch them.
    let spares = [gpu.storage("unused", 1), gpu.storage("unused", 1)];
    let spares = [&spares[0], &spares[1]];
    let one = [1, 1, 1];
    let mut d = dispatch(gpu, "power_u", p, b, spares, grid_1d(l.rows, 1))?;
    if train {
        d = dispatch(gpu, "power_v", p, b, spares, grid_1d(l.cols, 1))?.then(d);
    }
    Ok(d.then(dispatch(gpu, "normalize", p, b, spares, one)?)
        .then(dispatch(
            gpu,
            "scale",
            p,
            b,
            spares,
            grid_1d(l.len(), GROUP),
        )?))
}

/// dweight (+)= (G − ⟨G, W_sn⟩ u vᵀ) / σ with G = `dweight_sn` and the σ, u, v of this pass's
/// [`forward`]. Three dispatches.
pub fn backward(
    gpu: &Gpu,
    l: SpectralLayout,
    b: &SpectralBuffers,
    dweight_sn: &wgpu::Buffer,
    dweight: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    check(l, b)?;
    check_len("spectral_norm", "dweight_sn", dweight_sn, l.len())?;
    check_len("spectral_norm", "dweight", dweight, l.len())?;
    let p = params(l, accumulate, false)?;
    let grads = [dweight_sn, dweight];
    let rows = dispatch(gpu, "grad_dot_rows", p, b, grads, grid_1d(l.rows, 1))?;
    let total = dispatch(gpu, "grad_dot", p, b, grads, [1, 1, 1])?;
    let transform = dispatch(gpu, "grad_transform", p, b, grads, grid_1d(l.len(), GROUP))?;
    Ok(rows.then(total).then(transform))
}

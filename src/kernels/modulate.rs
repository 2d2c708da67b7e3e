//! Per-sample channel vectors on `shaders/modulate.wgsl` (whose header gives the maths): a class
//! embedding of one-hot planes, the modulation y = γ·x + β that conditional batch norm applies
//! after normalising, and a projection discriminator's inner product of a class embedding with
//! pooled features; each forward and backward.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "modulate.wgsl",
    source: include_str!("../../shaders/modulate.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // a
        Access::Read,      // b
        Access::ReadWrite, // out
    ],
    lanes: None,
};

/// `batch` samples of `channels` maps of `pixels`; for the embedding, `channels` are the
/// classes and `width` the length of the vectors it gives (unused elsewhere).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct ModulateShape {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
    pub width: u32,
}

impl ModulateShape {
    /// Elements of the maps over the batch.
    pub fn map_len(&self) -> usize {
        self.batch as usize * self.channels as usize * self.pixels as usize
    }
    /// Elements of one vector per channel over the batch.
    pub fn vector_len(&self) -> usize {
        self.batch as usize * self.channels as usize
    }
    fn check(&self, op: &'static str, needs_width: bool) -> Result<()> {
        let sizes = [self.batch, self.channels, self.pixels];
        if sizes.contains(&0) || (needs_width && self.width == 0) {
            return Err(shape_error(
                op,
                format!("every size must be positive: {self:?}"),
            ));
        }
        let widest = self
            .map_len()
            .max(self.batch as usize * self.width as usize);
        if widest > u32::MAX as usize
            || self.channels as usize * self.width as usize > u32::MAX as usize
        {
            return Err(shape_error(op, format!("{self:?} is past 2^32 elements")));
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    gpu: &Gpu,
    entry: &'static str,
    s: &ModulateShape,
    a: &wgpu::Buffer,
    b: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    accumulate: bool,
    threads: usize,
) -> Result<Dispatch> {
    let spare;
    let b = match b {
        Some(b) => b,
        None => {
            spare = gpu.storage("unused", 1);
            &spare
        }
    };
    let constants = [("ACCUMULATE", accumulate as u32)];
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        entry,
        &constants,
        s,
        &[a, b, out],
        grid_1d(threads, 256),
    )?;
    d.label = entry;
    Ok(d)
}

/// The embedding's shape: `batch` one-hot planes of `classes` × `pixels`, vectors of `width`.
pub fn embedding(batch: u32, classes: u32, pixels: u32, width: u32) -> ModulateShape {
    ModulateShape {
        batch,
        channels: classes,
        pixels,
        width,
    }
}

/// pooled [batch, classes] = the mean over pixels of x [batch, classes, pixels].
pub fn pool(
    gpu: &Gpu,
    s: &ModulateShape,
    x: &wgpu::Buffer,
    pooled: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("pool", false)?;
    check_len("pool", "x", x, s.map_len())?;
    check_len("pool", "pooled", pooled, s.vector_len())?;
    let n = s.vector_len();
    dispatch(gpu, "pool", s, x, None, pooled, false, n)
}

/// y [batch, width] = pooled [batch, classes] · W [classes, width].
pub fn embed_forward(
    gpu: &Gpu,
    s: &ModulateShape,
    pooled: &wgpu::Buffer,
    w: &wgpu::Buffer,
    y: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("embed_forward", true)?;
    let out = s.batch as usize * s.width as usize;
    check_len("embed_forward", "pooled", pooled, s.vector_len())?;
    check_len("embed_forward", "w", w, (s.channels * s.width) as usize)?;
    check_len("embed_forward", "y", y, out)?;
    dispatch(gpu, "embed_forward", s, pooled, Some(w), y, false, out)
}

/// dW [classes, width] (+)= pooledᵀ · dy.
pub fn embed_weight_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    pooled: &wgpu::Buffer,
    dy: &wgpu::Buffer,
    dw: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("embed_weight_grad", true)?;
    let len = (s.channels * s.width) as usize;
    check_len("embed_weight_grad", "pooled", pooled, s.vector_len())?;
    check_len(
        "embed_weight_grad",
        "dy",
        dy,
        s.batch as usize * s.width as usize,
    )?;
    check_len("embed_weight_grad", "dw", dw, len)?;
    let entry = "embed_weight_grad";
    dispatch(gpu, entry, s, pooled, Some(dy), dw, accumulate, len)
}

/// dx [batch, classes, pixels] (+)= (dy · Wᵀ) / pixels, spread over each plane.
pub fn embed_input_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    w: &wgpu::Buffer,
    dy: &wgpu::Buffer,
    dx: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("embed_input_grad", true)?;
    check_len("embed_input_grad", "w", w, (s.channels * s.width) as usize)?;
    check_len(
        "embed_input_grad",
        "dy",
        dy,
        s.batch as usize * s.width as usize,
    )?;
    check_len("embed_input_grad", "dx", dx, s.map_len())?;
    let entry = "embed_input_grad";
    dispatch(gpu, entry, s, w, Some(dy), dx, accumulate, s.vector_len())
}

/// y = s[:, :C] · x + s[:, C:] per sample and channel, s [batch, 2C].
pub fn modulate_forward(
    gpu: &Gpu,
    s: &ModulateShape,
    x: &wgpu::Buffer,
    scale: &wgpu::Buffer,
    y: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("modulate_forward", false)?;
    check_len("modulate_forward", "x", x, s.map_len())?;
    check_len("modulate_forward", "scale", scale, 2 * s.vector_len())?;
    check_len("modulate_forward", "y", y, s.map_len())?;
    let entry = "modulate_forward";
    dispatch(gpu, entry, s, x, Some(scale), y, false, s.map_len())
}

/// dx (+)= γ · dy.
pub fn modulate_input_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    dy: &wgpu::Buffer,
    scale: &wgpu::Buffer,
    dx: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("modulate_input_grad", false)?;
    check_len("modulate_input_grad", "dy", dy, s.map_len())?;
    check_len("modulate_input_grad", "scale", scale, 2 * s.vector_len())?;
    check_len("modulate_input_grad", "dx", dx, s.map_len())?;
    let entry = "modulate_input_grad";
    dispatch(gpu, entry, s, dy, Some(scale), dx, accumulate, s.map_len())
}

/// d[γ; β] (+)= [Σ dy·x; Σ dy] over each map's pixels.
pub fn modulate_scale_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    dy: &wgpu::Buffer,
    x: &wgpu::Buffer,
    dscale: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("modulate_scale_grad", false)?;
    check_len("modulate_scale_grad", "dy", dy, s.map_len())?;
    check_len("modulate_scale_grad", "x", x, s.map_len())?;
    check_len("modulate_scale_grad", "dscale", dscale, 2 * s.vector_len())?;
    let entry = "modulate_scale_grad";
    dispatch(
        gpu,
        entry,
        s,
        dy,
        Some(x),
        dscale,
        accumulate,
        2 * s.vector_len(),
    )
}

/// y [batch] = Σ_c e[n, c] Σ_px h[n, c, px].
pub fn project_forward(
    gpu: &Gpu,
    s: &ModulateShape,
    h: &wgpu::Buffer,
    e: &wgpu::Buffer,
    y: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("project_forward", false)?;
    check_len("project_forward", "h", h, s.map_len())?;
    check_len("project_forward", "e", e, s.vector_len())?;
    check_len("project_forward", "y", y, s.batch as usize)?;
    let entry = "project_forward";
    dispatch(gpu, entry, s, h, Some(e), y, false, s.batch as usize)
}

/// dh (+)= dy[n] · e[n, c] on every pixel.
pub fn project_map_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    dy: &wgpu::Buffer,
    e: &wgpu::Buffer,
    dh: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("project_map_grad", false)?;
    check_len("project_map_grad", "dy", dy, s.batch as usize)?;
    check_len("project_map_grad", "e", e, s.vector_len())?;
    check_len("project_map_grad", "dh", dh, s.map_len())?;
    let entry = "project_map_grad";
    dispatch(gpu, entry, s, dy, Some(e), dh, accumulate, s.map_len())
}

/// de (+)= dy[n] · Σ_px h[n, c, px].
pub fn project_vector_grad(
    gpu: &Gpu,
    s: &ModulateShape,
    dy: &wgpu::Buffer,
    h: &wgpu::Buffer,
    de: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    s.check("project_vector_grad", false)?;
    check_len("project_vector_grad", "dy", dy, s.batch as usize)?;
    check_len("project_vector_grad", "h", h, s.map_len())?;
    check_len("project_vector_grad", "de", de, s.vector_len())?;
    let entry = "project_vector_grad";
    dispatch(gpu, entry, s, dy, Some(h), de, accumulate, s.vector_len())
}

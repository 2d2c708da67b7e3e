//! The implicit-GEMM engine of `shaders/conv.wgsl`, shared by dense, conv2d and transposed
//! conv2d. The op modules map their shapes onto a [`Geometry`] and one of three [`Mode`]s.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "conv.wgsl",
    source: include_str!("../../shaders/conv.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

/// Output tile of one workgroup; must match TILE_M / TILE_N in the shader.
const TILE_M: u32 = 64;
const TILE_N: u32 = 64;

/// Which gather the engine performs (see the header of `conv.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// out[b, m, oy, ox] = Σ a[m, c, ky, kx] · x[b, c, oy·s − p + ky, ox·s − p + kx]
    Gather = 0,
    /// out[b, m, oy, ox] = Σ a[c, m, ky, kx] · x[b, c, iy, ix] over oy = iy·s − p + ky
    Transposed = 1,
    /// out[m, c, ky, kx] = Σ a[b, m, oy, ox] · x[b, c, oy·s − p + ky, ox·s − p + kx]
    Weight = 2,
}

/// Sizes of one convolution as the engine sees it. "small" is the image on the strided side
/// (oy), "large" the image indexed by oy·s − p + ky.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub batch: u32,
    /// Channels of `a` that are not reduced: rows of the GEMM.
    pub m: u32,
    /// Channels of `x`.
    pub channels: u32,
    pub small_h: u32,
    pub small_w: u32,
    pub large_h: u32,
    pub large_w: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub pad_y: u32,
    pub pad_x: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvParams {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    channels: u32,
    small_h: u32,
    small_w: u32,
    large_h: u32,
    large_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    pad_y: u32,
    pad_x: u32,
    flags: u32,
    _pad: u32,
}

const FLAG_BIAS: u32 = 1;
const FLAG_ACCUMULATE: u32 = 2;

impl Geometry {
    fn small(&self) -> usize {
        (self.small_h * self.small_w) as usize
    }
    fn large(&self) -> usize {
        (self.large_h * self.large_w) as usize
    }
    fn taps(&self) -> usize {
        (self.kernel_h * self.kernel_w) as usize
    }

    /// Elements of (a, x, out) for `mode`.
    fn lengths(&self, mode: Mode) -> (usize, usize, usize) {
        let (b, m, c) = (self.batch as usize, self.m as usize, self.channels as usize);
        match mode {
            Mode::Gather => (
                m * c * self.taps(),
                b * c * self.large(),
                b * m * self.small(),
            ),
            Mode::Transposed => (
                c * m * self.taps(),
                b * c * self.small(),
                b * m * self.large(),
            ),
            Mode::Weight => (
                b * m * self.small(),
                b * c * self.large(),
                m * c * self.taps(),
            ),
        }
    }

    /// (n, k) of the GEMM for `mode`.
    fn gemm(&self, mode: Mode) -> (usize, usize) {
        let (b, c) = (self.batch as usize, self.channels as usize);
        match mode {
            Mode::Gather => (b * self.small(), c * self.taps()),
            Mode::Transposed => (b * self.large(), c * self.taps()),
            Mode::Weight => (c * self.taps(), b * self.small()),
        }
    }

    /// Floating-point operations of one run in `mode` (2 per multiply-add), for benchmarks.
    pub fn flops(&self, mode: Mode) -> f64 {
        let (n, k) = self.gemm(mode);
        2.0 * self.m as f64 * n as f64 * k as f64
    }
}

/// Builds one run of the engine. `bias` (length m) is added when given; `accumulate` adds the
/// result into `out` instead of overwriting it, as every backward pass here does.
#[allow(clippy::too_many_arguments)]
pub fn dispatch(
    gpu: &Gpu,
    op: &'static str,
    mode: Mode,
    g: &Geometry,
    a: &wgpu::Buffer,
    x: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    let (a_len, x_len, out_len) = g.lengths(mode);
    check_len(op, "the first operand", a, a_len)?;
    check_len(op, "the second operand", x, x_len)?;
    check_len(op, "the output", out, out_len)?;
    if let Some(bias) = bias {
        check_len(op, "the bias", bias, g.m as usize)?;
    }
    let (n, k) = g.gemm(mode);
    if n > u32::MAX as usize || k > u32::MAX as usize || out_len > u32::MAX as usize {
        return Err(crate::error::shape_error(op, "more than 2^32 elements"));
    }
    let params = ConvParams {
        m: g.m,
        n: n as u32,
        k: k as u32,
        batch: g.batch,
        channels: g.channels,
        small_h: g.small_h,
        small_w: g.small_w,
        large_h: g.large_h,
        large_w: g.large_w,
        kernel_h: g.kernel_h,
        kernel_w: g.kernel_w,
        stride: g.stride,
        pad_y: g.pad_y,
        pad_x: g.pad_x,
        flags: if bias.is_some() { FLAG_BIAS } else { 0 }
            | if accumulate { FLAG_ACCUMULATE } else { 0 },
        _pad: 0,
    };
    // A binding must exist even when the bias is off; the shader never reads it then.
    let unused;
    let bias = match bias {
        Some(b) => b,
        None => {
            unused = gpu.storage("no bias", 1);
            &unused
        }
    };
    let workgroups = [(n as u32).div_ceil(TILE_N), g.m.div_ceil(TILE_M), 1];
    Dispatch::new(
        gpu,
        &SHADER,
        "main",
        &[("MODE", mode as u32)],
        &params,
        &[a, x, bias, out],
        workgroups,
    )
}

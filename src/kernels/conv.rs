//! The implicit-GEMM engine of `shaders/conv.wgsl`, shared by dense, conv2d and transposed
//! conv2d. The op modules map their shapes onto a [`Geometry`] and one of three [`Mode`]s.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
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
        Access::ReadWrite,
    ],
};

/// TILE_M × TILE_N = 4096 outputs per workgroup (256 threads × 4 × 4), as in the shader.
const TILE_OUTPUTS: u32 = 4096;
/// Split a reduction only when it is at least this long and the output has few tiles.
const SPLIT_MIN_K: usize = 2048;
const SPLIT_TARGET_WORKGROUPS: usize = 256;
/// Partial sums of a split reduction stay far below the 128 MiB binding limit.
const SPLIT_MAX_FLOATS: usize = 8 << 20;

/// (TILE_M, TILE_K) candidates, tallest first: 64 × 64 tiles reuse loads best, flat ones keep
/// threads busy on layers with one or three output channels.
const TILES: [(u32, u32); 3] = [(64, 16), (16, 8), (4, 2)];

/// The tile that wastes the least of its area on an m × n output (ties go to the taller).
fn tile_for(m: u32, n: usize) -> (u32, u32) {
    let waste = |&(tile_m, _): &(u32, u32)| {
        let tile_n = (TILE_OUTPUTS / tile_m) as usize;
        m.div_ceil(tile_m) as usize * tile_m as usize * n.div_ceil(tile_n) * tile_n
    };
    *TILES
        .iter()
        .min_by_key(|t| waste(t))
        .expect("TILES is not empty")
}

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
    splits: u32,
    out_len: u32,
    _pad: [u32; 3],
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

    /// Phases of the grid, and (n, k) of the largest phase's GEMM: a transposed gather runs one
    /// GEMM per output phase (oy mod stride), each over its own taps only.
    fn phases(&self, mode: Mode) -> (u32, usize, usize) {
        if mode != Mode::Transposed {
            let (n, k) = self.gemm(mode);
            return (1, n, k);
        }
        let s = self.stride as usize;
        let per = |len: u32| (len as usize).div_ceil(s);
        let n = self.batch as usize * per(self.large_h) * per(self.large_w);
        let k = self.channels as usize * per(self.kernel_h) * per(self.kernel_w);
        (self.stride * self.stride, n, k)
    }

    /// (n, k) of the GEMM for `mode`, before any split into phases.
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
    let (phases, phase_n, phase_k) = g.phases(mode);
    let (tile_m, tile_k) = tile_for(g.m, phase_n);
    let tile_n = TILE_OUTPUTS / tile_m;
    let tiles = phase_n.div_ceil(tile_n as usize) * g.m.div_ceil(tile_m) as usize * phases as usize;
    let splits = if tiles < SPLIT_TARGET_WORKGROUPS && phase_k >= SPLIT_MIN_K {
        (phase_k / (SPLIT_MIN_K / 2))
            .min(SPLIT_TARGET_WORKGROUPS.div_ceil(tiles))
            .min(SPLIT_MAX_FLOATS / out_len.max(1))
            .clamp(1, 64)
    } else {
        1
    };
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
        splits: splits as u32,
        out_len: out_len as u32,
        _pad: [0; 3],
    };
    // Bindings must exist even when unused; the shader never touches them then.
    let spare_bias = bias.is_none().then(|| gpu.storage("no bias", 1));
    let bias = bias.or(spare_bias.as_ref()).expect("one of the two is set");
    let partial = gpu.storage(
        "conv partial sums",
        if splits > 1 { splits * out_len } else { 1 },
    );
    let constants = [
        ("MODE", mode as u32),
        ("TILE_M", tile_m),
        ("TILE_K", tile_k),
    ];
    let buffers = [a, x, bias, out, &partial];
    let workgroups = [
        (phase_n as u32).div_ceil(tile_n),
        g.m.div_ceil(tile_m),
        phases * splits as u32,
    ];
    let mut d = Dispatch::new(
        gpu, &SHADER, "main", &constants, &params, &buffers, workgroups,
    )?;
    if splits > 1 {
        let sum = Dispatch::new(
            gpu,
            &SHADER,
            "reduce_splits",
            &constants,
            &params,
            &buffers,
            grid_1d(out_len, 256),
        )?;
        d = d.then(sum);
    }
    d.label = op;
    Ok(d)
}

//! The implicit-GEMM engine of `shaders/conv.wgsl`, shared by dense, conv2d and transposed
//! conv2d. The op modules map their shapes onto a [`Geometry`] and one of three [`Mode`]s.

use crate::gpu::{Access, Gpu, Lanes, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::Result;

mod winograd;

pub const SHADER: Shader = Shader {
    name: "conv.wgsl",
    source: concat!(
        include_str!("../../shaders/conv.wgsl"),
        include_str!("../../shaders/conv_winograd.wgsl"),
        include_str!("../../shaders/conv_out.wgsl")
    ),
    bindings: BINDINGS,
    lanes: Some(LANES),
};

/// The engine with its output as vec4s, for GEMMs whose runs of 4 columns are whole vec4s of
/// out (see [`vec4_out`]).
pub const SHADER_VEC4_OUT: Shader = Shader {
    name: "conv.wgsl+conv_out_vec4.wgsl",
    source: concat!(
        include_str!("../../shaders/conv.wgsl"),
        include_str!("../../shaders/conv_winograd.wgsl"),
        include_str!("../../shaders/conv_out_vec4.wgsl")
    ),
    bindings: BINDINGS,
    lanes: Some(LANES),
};

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
    Access::ReadWrite,
    Access::ReadWrite,
    Access::ReadWrite,
    Access::Texture,
    Access::WriteTexture,
    Access::Texture,
];

const LANES: Lanes = Lanes {
    on: include_str!("../../shaders/conv_subgroups.wgsl"),
    off: include_str!("../../shaders/conv_no_subgroups.wgsl"),
};

/// Each GEMM thread computes an 8 × 8 block of the output; a workgroup is 8 × 8 threads.
const BLOCK: usize = 8;
const GROUP: usize = 8;
/// Split a reduction only when the output has fewer blocks than this (per phase).
const SPLIT_TARGET_BLOCKS: usize = 1024;
/// ... and only into slices of at least this many vec4 steps of k.
const SPLIT_MIN_K4: usize = 64;
/// Partial sums of a split reduction stay far below the 128 MiB binding limit.
const SPLIT_MAX_FLOATS: usize = 8 << 20;
/// Floats of the two scratch textures every conv of a device packs its operands into, to start
/// with (16 MiB and 32 MiB): small enough for any device. Larger batches are cut into chunks of
/// images; a layer whose weights or single image need more makes them grow.
pub const SCRATCH_A_FLOATS: usize = 4 << 20;
pub const SCRATCH_B_FLOATS: usize = 8 << 20;

/// Transposed gathers with at most this many output channels go through columns (MODE 3).
const COLUMNS_MAX_M: usize = 4;
/// The shader's MODE for them: not a [`Mode`] of its own, since callers ask for
/// [`Mode::Transposed`] and get the same result.
const COLUMNS: u32 = 3;
/// The shader's MODE for a plain product of two operands that are read as they lie.
const PLAIN: u32 = 4;
/// Floats of the columns of one chunk of images, at most (16 MiB), unless one image needs more.
const COLUMNS_MAX_FLOATS: usize = 4 << 20;

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
    /// The rectifier's slope for negative results (FLAG_RECTIFY), which `engine_step` hands
    /// the shader as the constant SLOPE_BITS; the shader's struct leaves the slot unused.
    slope: f32,
    splits: u32,
    out_len: u32,
    batch0: u32,
    phases: u32,
    rows: u32,
    a_row4: u32,
    b_row4: u32,
    a_phase4: u32,
    b_phase4: u32,
    /// Gathers: the first of x's channels this run reduces over, and how many (see [`Cut`]).
    channel0: u32,
    group_channels: u32,
    /// Weight gradients: the first pixel of the image this run reduces over.
    pixel0: u32,
    unused: u32,
}

impl ConvParams {
    /// What `g` fixes; the packing and chunk fields are the caller's.
    fn of(g: &Geometry, mode: Mode, batch: u32, out_len: usize) -> ConvParams {
        let (n, k) = Geometry { batch, ..*g }.gemm(mode);
        ConvParams {
            m: g.m,
            n: n as u32,
            k: k as u32,
            batch,
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
            slope: 0.0,
            splits: 1,
            out_len: out_len as u32,
            batch0: 0,
            phases: 1,
            rows: 0,
            a_row4: 0,
            b_row4: 0,
            a_phase4: 0,
            b_phase4: 0,
            channel0: 0,
            group_channels: g.channels,
            pixel0: 0,
            unused: 0,
        }
    }
}

/// The shader's FLAGS, an override constant of the entries that write results.
const FLAG_BIAS: u32 = 1;
const FLAG_ACCUMULATE: u32 = 2;
/// Store the GEMM's result in `partial` as it is, for a second entry to finish.
const FLAG_PARTIAL: u32 = 4;
/// Rectify the result: max(v, 0) + slope · min(v, 0).
const FLAG_RECTIFY: u32 = 8;

/// FLAGS for a run's result: the bias added, and added into out rather than overwriting it.
fn result_flags(bias: bool, store: Store) -> u32 {
    (if bias { FLAG_BIAS } else { 0 })
        | if store.accumulate { FLAG_ACCUMULATE } else { 0 }
        | if store.slope.is_some() {
            FLAG_RECTIFY
        } else {
            0
        }
}

/// How a run writes its result: added into out (every backward pass) or over it, and through
/// a ReLU or leaky ReLU of this slope (a layer's activation done in its epilogue: a forward
/// pass over the output less).
#[derive(Clone, Copy, Debug, Default)]
pub struct Store {
    pub accumulate: bool,
    pub slope: Option<f32>,
}

impl Store {
    /// Added into out, or over it, as it is.
    pub fn plain(accumulate: bool) -> Store {
        Store {
            accumulate,
            slope: None,
        }
    }
}

/// The shader's DIRECT, for a GEMM that reads an operand in place: A (a weight gradient's a),
/// B (the columns' x).
const DIRECT_A: u32 = 1;
const DIRECT_B: u32 = 2;
/// A gathered from the weights in place, 4 floats per vec4 (see the shader's `a_row`).
const DIRECT_A_GATHERED: u32 = 4;
/// A from the weights in place at stride 1, 4 taps in a row per vec4 (the shader's DIRECT
/// bit 3).
const DIRECT_A_TAPS: u32 = 8;

/// Whether a transposed gather at stride 1 can read A from the weights in place (DIRECT bit
/// 3): one phase whose k = (c, tap) runs along each channel's kernel, in whole vec4s
/// (kh · kw % 4 == 0: the PatchGAN's 4 × 4 stride-1 layers), and whole blocks of rows.
fn taps_a(g: &Geometry) -> bool {
    g.stride == 1 && g.taps().is_multiple_of(4) && g.m.is_multiple_of(BLOCK as u32)
}

/// The most columns (per phase and chunk, padded) of a GEMM that reads A from the weights in
/// place, 4 floats a vec4, rather than packed: every thread loads its rows of A once per vec4
/// of k, so that the gather's extra cost grows with the threads, the columns, while the pack
/// it saves does not. On lavapipe the two cross near 170 columns: pix2pix64's convT 1024→512
/// (8 columns) 47.5 → 15.4 ms, dcgan64's convT 512→256 at batch 128 (2048 columns) 387 →
/// 505 ms.
const GATHER_MAX_COLUMNS: usize = 64;

/// Whether a transposed gather's GEMM can read A from the weights in place (the shader's
/// DIRECT bit 2): 2 × 2 taps in every phase (kernel = 2 · stride both ways: 4 × 4 stride 2,
/// the DCGAN and U-Net up-sampling and their convs' input gradients), so that a vec4 of A is
/// one channel's taps, and whole blocks of rows (m % 8 == 0), so that no row past m is read.
fn gathered_a(g: &Geometry) -> bool {
    g.kernel_h == 2 * g.stride && g.kernel_w == 2 * g.stride && g.m.is_multiple_of(BLOCK as u32)
}

/// One dispatch of the engine: `mode` for the shader's MODE, FLAGS for the entries that write
/// results (the packs take none, so that they share pipelines across flags), and the GEMM's
/// other constants (see [`gemm_constants`]).
#[allow(clippy::too_many_arguments)]
fn engine_step(
    gpu: &Gpu,
    entry: &'static str,
    mode: u32,
    flags: Option<u32>,
    extra: &[(&'static str, u32)],
    params: &ConvParams,
    buffers: &[&wgpu::Buffer],
    packed: Option<(&wgpu::TextureView, &wgpu::TextureView)>,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    // The GEMM reads packed A and B, the packs write them, and none may do both.
    let textures = match packed {
        Some((a, b)) if entry == "main" => [Some(b), None, Some(a)],
        Some((a, _)) if entry == "pack_a" => [None, Some(a), None],
        Some((_, b)) => [None, Some(b), None],
        None => [None, None, None],
    };
    engine_step_textures(
        gpu, entry, mode, flags, extra, params, buffers, textures, workgroups,
    )
}

/// [`engine_step`] with the textures to bind: packed B's for reading, the one for writing, and
/// packed A's for reading (a spare where `None`).
#[allow(clippy::too_many_arguments)]
fn engine_step_textures(
    gpu: &Gpu,
    entry: &'static str,
    mode: u32,
    flags: Option<u32>,
    extra: &[(&'static str, u32)],
    params: &ConvParams,
    buffers: &[&wgpu::Buffer],
    textures: [Option<&wgpu::TextureView>; 3],
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let [read, write] = gpu.spare_textures();
    let textures = [
        textures[0].unwrap_or(read),
        textures[1].unwrap_or(write),
        textures[2].unwrap_or(read),
    ];
    let mut constants = vec![("MODE", mode)];
    if let Some(f) = flags {
        constants.push(("FLAGS", f));
        if f & FLAG_RECTIFY != 0 {
            constants.push(("SLOPE_BITS", params.slope.to_bits()));
        }
    }
    constants.extend_from_slice(extra);
    let constant = |name: &str| {
        extra
            .iter()
            .find(|c| c.0 == name)
            .map_or(GROUP as u32, |c| c.1)
    };
    // Lanes share A along a row of blocks: 4 of them side by side need GROUP_X % 4 == 0. A
    // subgroup of 8 lanes spans 2 rows of blocks as well and shares B down them too.
    let group_x = constant("GROUP_X");
    if entry == "main" && gpu.subgroups && group_x % 4 == 0 {
        let two_rows = gpu.subgroup_size == 8 && constant("GROUP_Y") % 2 == 0;
        constants.push(("LANES", if two_rows { 8 } else { 4 }));
    }
    let runs = extra.contains(&("RUNS", 1));
    let shader = if entry == "main" && vec4_out(mode, flags, runs, params, buffers[3]) {
        &SHADER_VEC4_OUT
    } else {
        &SHADER
    };
    Dispatch::with_textures(
        gpu, shader, entry, &constants, params, buffers, &textures, workgroups,
    )
}

/// Whether a GEMM may write out as vec4s (conv_out_vec4.wgsl): it stores runs of 4 columns
/// (RUNS), each 4 neighbours in out from a multiple of 4, into an out of whole vec4s, and no
/// partial sums. RUNS means 4 | n, and for a gather 4 | its output pixels (or images of one
/// pixel, whose runs are `m` apart: left out); a weight gradient's and a plain product's rows
/// are rows of out. A transposed gather's runs are `stride` or `m` apart.
fn vec4_out(
    mode: u32,
    flags: Option<u32>,
    runs: bool,
    params: &ConvParams,
    out: &wgpu::Buffer,
) -> bool {
    let neighbours = match mode {
        m if m == Mode::Gather as u32 => params.small_h * params.small_w != 1,
        m if m == Mode::Weight as u32 => true,
        PLAIN => true,
        _ => false,
    };
    runs && neighbours
        && flags.is_some_and(|f| f & FLAG_PARTIAL == 0)
        && out.size().is_multiple_of(16)
}

/// The GEMM's constants besides MODE and FLAGS, for `direct` (DIRECT_A, DIRECT_B or 0),
/// `runs` (see [`runs`]) and an output of `col_blocks` × `row_blocks` 8 × 8 blocks, with the
/// grid that covers it. Defaults are left out, so that most runs share pipelines.
fn gemm_constants(
    direct: u32,
    runs: bool,
    col_blocks: usize,
    row_blocks: usize,
) -> (Vec<(&'static str, u32)>, [usize; 2]) {
    let mut c = Vec::new();
    if direct != 0 {
        c.push(("DIRECT", direct));
    }
    if runs {
        c.push(("RUNS", 1));
    }
    // An output two blocks narrow leaves 6 threads in 8 of an 8 × 8 workgroup idle (a
    // weight gradient of 16 columns, 16 taps of columns): there the workgroup is 2 × 32 or
    // 32 × 2 threads (SwiftShader: dcgan28's d weights from and to one channel 15 → 8.5 ms),
    // and one block narrow, 1 × 64 or 64 × 1 (a generator's first layer at batch 8: its input
    // gradient's GEMM 6.6 → 3.7 ms). Four shapes only, to keep the pipelines few.
    let (gx, gy) = if col_blocks == 1 && row_blocks > 1 {
        (1, 64)
    } else if row_blocks == 1 && col_blocks > 1 {
        (64, 1)
    } else if col_blocks <= 2 && row_blocks > 2 {
        (2, 32)
    } else if row_blocks <= 2 && col_blocks > 2 {
        (32, 2)
    } else if narrower(col_blocks) {
        // Threads past the end of a row of blocks still run the loop when lanes share A:
        // CycleGAN's residual blocks' input gradients, 41 blocks wide (18² pixels), ran 48
        // columns of threads; with 4-wide workgroups 44 (lavapipe: 134 → 124 ms).
        (4, 16)
    } else {
        (GROUP, GROUP)
    };
    if (gx, gy) != (GROUP, GROUP) {
        c.push(("GROUP_X", gx as u32));
        c.push(("GROUP_Y", gy as u32));
    }
    (c, [col_blocks.div_ceil(gx), row_blocks.div_ceil(gy)])
}

/// Whether a row of `col_blocks` blocks leaves more than a tenth of them again in 8-wide
/// workgroups' threads past its end, and 4-wide ones fewer. Never for a width of a multiple
/// of 8 blocks (every GEMM of the DCGAN presets at their batch sizes).
fn narrower(col_blocks: usize) -> bool {
    let past = |w: usize| col_blocks.div_ceil(w) * w - col_blocks;
    past(GROUP) * 10 > col_blocks && past(4) < past(GROUP)
}

/// Whether every group of 4 of the GEMM's columns (from a multiple of 4) lies evenly spaced
/// in out, and the columns (`n`, per phase) are a multiple of 4: then the shader's RUNS drops
/// its element-by-element stores. A gather's columns are images × output pixels (a dense
/// layer's, images alone: one row of m apart); a weight gradient's and the columns' are rows
/// of their own. The phased transposed gather is left out (its rows of a phase are rarely a
/// multiple of 4 wide) unless its output is one pixel.
fn runs(mode: Mode, g: &Geometry, n: usize) -> bool {
    let whole = n.is_multiple_of(4);
    match mode {
        Mode::Gather => whole && (g.small() == 1 || g.small().is_multiple_of(4)),
        Mode::Transposed => whole && g.large() == 1,
        Mode::Weight => whole,
    }
}

/// Whether a transposed gather's phases can share one packed B (the shader's SHIFTS): each
/// phase takes 2 × 2 taps (kernel = 2 · stride, as DCGAN's 4 × 4 stride-2 layers) and the
/// phases' output grids are one size (large % stride == 0). B is then x at 3 × 3 shifts, 9
/// rows per channel, where each phase packs its own 4 (16 per channel in all).
fn shared_shifts(g: &Geometry) -> bool {
    let s = g.stride;
    s >= 2
        && g.kernel_h == 2 * s
        && g.kernel_w == 2 * s
        && g.large_h.is_multiple_of(s)
        && g.large_w.is_multiple_of(s)
}

/// The grid of `pack_b` for a B of `rows` × `np` (np a multiple of the block) in the shader's
/// `mode`: a thread per 8 columns of a row, or of 4 rows in MODE 1 (see the shader).
fn pack_b_grid(mode: u32, rows: usize, np: usize) -> [u32; 3] {
    let per = if mode == Mode::Transposed as u32 {
        4
    } else {
        1
    };
    grid_1d(rows.div_ceil(per) * np / BLOCK, 256)
}

/// The buffer of a split reduction's partial sums: `splits` × `out_len` floats, or a spare
/// where the reduction is not split and the slot goes unused.
fn partial_sums(gpu: &Gpu, splits: usize, out_len: usize) -> wgpu::Buffer {
    if splits > 1 {
        gpu.storage("conv partial sums", splits * out_len)
    } else {
        gpu.spare_write(0).clone()
    }
}

/// `steps` recorded after `run`, as one.
fn chain(run: Option<Dispatch>, steps: Vec<Dispatch>) -> Option<Dispatch> {
    steps.into_iter().fold(run, |run, next| {
        Some(match run {
            None => next,
            Some(r) => r.then(next),
        })
    })
}

/// A shape error when one image's scratch (`floats`, the largest of its packs or columns)
/// exceeds what the device binds at once: chunking cannot help it.
fn check_one_image(gpu: &Gpu, op: &'static str, floats: usize) -> Result<()> {
    check_binding(gpu, op, "one image needs", floats)
}

/// A shape error when `floats` of packed operands, which `what` needs, exceed one binding.
fn check_binding(gpu: &Gpu, op: &'static str, what: &str, floats: usize) -> Result<()> {
    let limit = gpu.conv_binding_floats();
    if floats > limit {
        return Err(crate::error::shape_error(
            op,
            format!(
                "{what} {} MiB of packed operands, more than this device binds at once ({} MiB)",
                (floats * 4) >> 20,
                (limit * 4) >> 20
            ),
        ));
    }
    Ok(())
}

impl Geometry {
    /// From a single pixel with no padding to an image the size of the kernel: each tap reaches
    /// one output pixel, so that the gather is a plain product (a generator's first layer,
    /// 1×1 → 4×4; any dense layer).
    fn one_pixel_to_kernel(&self) -> bool {
        self.small() == 1
            && self.pad_y == 0
            && self.pad_x == 0
            && self.large_h == self.kernel_h
            && self.large_w == self.kernel_w
    }

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

/// Slices to split a reduction of `kp` (a multiple of 4) into, for an output of `rows` × `np`
/// (multiples of the block) that is `out_len` long: long reductions into few blocks only.
fn splits(kp: usize, np: usize, rows: usize, out_len: usize) -> usize {
    let blocks = (np / BLOCK * rows / BLOCK).max(1);
    let k4s = kp / 4;
    if blocks < SPLIT_TARGET_BLOCKS && k4s >= 2 * SPLIT_MIN_K4 {
        (k4s / SPLIT_MIN_K4)
            .min(SPLIT_TARGET_BLOCKS.div_ceil(blocks))
            .min(SPLIT_MAX_FLOATS / out_len.max(1))
            .clamp(1, 64)
    } else {
        1
    }
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// How a run is cut so that each of its packs fits one binding: chunks of whole images, and
/// where one image is too much, x's channels in groups (gathers: each group's sum is added
/// into out by the next run, in order: no atomics) or an image's pixels in bands (a weight
/// gradient: its reduction summed band by band, as it is over chunks of images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Images per chunk: 1 when an image is cut.
    pub images: usize,
    /// x's channels per group (gathers): all of them unless an image is cut.
    pub channels: usize,
    /// Pixels of the small side per band (weight gradients): all of them unless an image is
    /// cut, and then a multiple of 4.
    pub pixels: usize,
}

/// (k, n) of the packs of one piece of a run, padded for vec4 rows and 8-wide blocks: a
/// gather's k over the piece's channels and n over its images' output pixels, a weight
/// gradient's k over its images' (or band's) pixels and n over x's channels and taps.
fn packed(g: &Geometry, mode: Mode, piece: Cut) -> (usize, usize) {
    let group = Geometry {
        channels: piece.channels as u32,
        ..*g
    };
    let (_, phase_n, phase_k) = group.phases(mode);
    match mode {
        Mode::Weight => (
            round_up(piece.images * piece.pixels, 4),
            round_up(phase_n, BLOCK),
        ),
        _ => (
            round_up(phase_k, 4),
            round_up(piece.images * (phase_n / g.batch as usize), BLOCK),
        ),
    }
}

/// Floats of (packed A, packed B) for one piece. A transposed gather packs A per phase and
/// B per phase, or once for all phases as 9 shifts per channel (see [`shared_shifts`]).
fn pack_floats(g: &Geometry, mode: Mode, piece: Cut) -> (usize, usize) {
    let (kp, np) = packed(g, mode, piece);
    let (phases, _, _) = g.phases(mode);
    let phases = phases as usize;
    let rows = round_up(g.m as usize, BLOCK);
    let b_rows = if mode == Mode::Transposed && shared_shifts(g) {
        9 * piece.channels
    } else {
        phases * kp
    };
    (phases * rows * kp, b_rows * np)
}

/// Cuts a run of `g` in `mode` for scratch textures of `room` floats (A, B) and bindings of
/// `limit` floats. Chunks of images fill the room; one image's packs must fit whole, and the
/// scratch grows for them, up to the limit. Past it the image is cut into as few even pieces
/// as fit the limit. Err holds the floats of the smallest piece (one channel, four pixels)
/// when even that is too much.
pub fn cut(
    g: &Geometry,
    mode: Mode,
    room: (usize, usize),
    limit: usize,
) -> std::result::Result<Cut, usize> {
    let (batch, channels, pixels) = (g.batch as usize, g.channels as usize, g.small());
    let whole = |images| Cut {
        images,
        channels,
        pixels,
    };
    let floats = |piece| {
        let (a, b) = pack_floats(g, mode, piece);
        a.max(b)
    };
    let (one_a, one_b) = pack_floats(g, mode, whole(1));
    if one_a.max(one_b) <= limit {
        let (room_a, room_b) = (room.0.max(one_a), room.1.max(one_b));
        let images = (1..=batch)
            .rev()
            .find(|&images| {
                let (a, b) = pack_floats(g, mode, whole(images));
                a <= room_a && b <= room_b
            })
            .unwrap_or(1);
        return Ok(whole(images));
    }
    // Pieces of `unit`s (channels, or 4 pixels), the largest that fits, then evened out.
    let (units, piece): (usize, &dyn Fn(usize) -> Cut) = if mode == Mode::Weight {
        (pixels.div_ceil(4), &|quads| Cut {
            images: 1,
            channels,
            pixels: 4 * quads,
        })
    } else {
        (channels, &|group| Cut {
            images: 1,
            channels: group,
            pixels,
        })
    };
    if floats(piece(1)) > limit {
        return Err(floats(piece(1)));
    }
    // Floats grow with the units: bisect for the most that fit.
    let (mut fit, mut over) = (1, units);
    while over - fit > 1 {
        let mid = (fit + over) / 2;
        if floats(piece(mid)) <= limit {
            fit = mid;
        } else {
            over = mid;
        }
    }
    let pieces = units.div_ceil(fit);
    Ok(piece(units.div_ceil(pieces)))
}

/// Builds one run of the engine. `bias` (length m) is added when given; `store` says whether
/// the result is added into `out` (as every backward pass here does) or written over it, and
/// through which rectifier: only a gather or a transposed gather (a forward pass) can rectify,
/// and only over out.
///
/// A run is, per chunk of images: pack A, pack B, the GEMM, and the sum of split reductions
/// when there is one. The packs go to the device's shared scratch textures, which is safe
/// because dispatches run in order.
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
    store: Store,
) -> Result<Dispatch> {
    if let Some(slope) = store.slope {
        if mode == Mode::Weight || store.accumulate || !(slope >= 0.0 && slope.is_finite()) {
            return Err(crate::Error::Invalid(format!(
                "{op}: only a forward pass over its output can rectify, with a finite slope ≥ 0 (slope {slope})"
            )));
        }
    }
    let accumulate = store.accumulate;
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
    let phases = phases as usize;
    // From a single pixel (a generator's first layer, 1×1 → 4×4), each output pixel meets one
    // tap of the phase's k = c · kh · kw: the phased GEMM would multiply 15 zeros in 16 at
    // kernel 4, where the columns hold exactly the output. Not for few channels (the input
    // gradient of a discriminator's 1-logit conv): there k is short anyway, and col2im's
    // extra pass over the output costs more (SwiftShader, dcgan64 b128: 22 → 114 ms).
    let from_one_pixel = g.small() == 1 && g.taps() > 1 && g.channels >= 16;
    if mode == Mode::Transposed && g.one_pixel_to_kernel() && bias.is_none() {
        let (rows, cols) = (g.batch as usize, g.m as usize * g.taps());
        if cols.is_multiple_of(4) && g.channels.is_multiple_of(4) {
            return plain(
                gpu,
                op,
                rows,
                cols,
                g.channels as usize,
                x,
                PlainB::AsItLies(a),
                None,
                out,
                store,
            );
        }
    }
    // A dense layer of fewer outputs than images (a discriminator's 1-logit layer): packing
    // its weights transposed is smaller than packing the images transposed, and the images
    // are A as they lie (dcgan28's D dense 6272→1 forward: SwiftShader 10 → 1.9 ms, lavapipe
    // 2.4 either way).
    let dense = g.small() == 1 && g.large() == 1 && g.taps() == 1;
    if mode == Mode::Gather
        && dense
        && g.channels.is_multiple_of(4)
        && round_up(g.m as usize, BLOCK) < round_up(g.batch as usize, BLOCK)
    {
        return plain(
            gpu,
            op,
            g.batch as usize,
            g.m as usize,
            g.channels as usize,
            x,
            PlainB::Transposed(a),
            bias,
            out,
            store,
        );
    }
    if let Some(plan) = winograd::plan(g, mode, gpu.conv_binding_floats()) {
        return winograd::dispatch(gpu, op, g, &plan, a, x, bias, out, store);
    }
    if mode == Mode::Weight && weight_few(g) {
        return few_rows(gpu, op, g, a, x, out, store);
    }
    if mode == Mode::Transposed && ((g.m as usize) <= COLUMNS_MAX_M || from_one_pixel) {
        return columns(gpu, op, g, a, x, bias, out, store, false);
    }
    if mode == Mode::Gather && gather_columns(g, gpu.conv_binding_floats()) {
        // The columns' GEMM runs over x's pixels: small and large swap.
        let swapped = Geometry {
            small_h: g.large_h,
            small_w: g.large_w,
            large_h: g.small_h,
            large_w: g.small_w,
            ..*g
        };
        return columns(gpu, op, &swapped, a, x, bias, out, store, true);
    }
    let batch = g.batch as usize;
    let (channels, pixels) = (g.channels as usize, g.small());
    let rows = round_up(g.m as usize, BLOCK);
    let shifts = mode == Mode::Transposed && shared_shifts(g);
    let cut =
        cut(g, mode, gpu.conv_scratch_room(), gpu.conv_binding_floats()).map_err(|floats| {
            let what = if mode == Mode::Weight {
                "four pixels of one image need"
            } else {
                "one channel of one image needs"
            };
            check_binding(gpu, op, what, floats).expect_err("the piece exceeds the binding")
        })?;
    let (need_a, need_b) = pack_floats(g, mode, cut);
    let (scratch_a, packed_b) = gpu.conv_scratch(need_a, need_b);
    // B is packed into a texture; its buffer slot serves a B read in place.
    let unbound_b = gpu.spare_write(2);
    let chunks = batch.div_ceil(cut.images);
    // The pieces of a chunk: (first channel, channels, first pixel, pixels).
    let parts: Vec<(usize, usize, usize, usize)> = if mode == Mode::Weight {
        (0..pixels)
            .step_by(cut.pixels)
            .map(|p0| (0, channels, p0, cut.pixels.min(pixels - p0)))
            .collect()
    } else {
        (0..channels)
            .step_by(cut.channels)
            .map(|c0| (c0, cut.channels.min(channels - c0), 0, pixels))
            .collect()
    };
    let whole_image = parts.len() == 1;
    // Splitting k needs an output that is whole in every chunk: weights, or a single chunk.
    let split_for = |kp: usize, np: usize| {
        if chunks == 1 || mode == Mode::Weight {
            splits(kp, np, rows, out_len)
        } else {
            1
        }
    };
    let (kp, np) = packed(g, mode, cut);
    let most_splits = split_for(kp, np);
    // Bindings must exist even when unused; the shader never touches them then.
    let bias_buffer = bias.unwrap_or(gpu.spare_read());
    let partial = partial_sums(gpu, most_splits, out_len);
    // Packed A and B lie in textures; their buffer slots serve operands read in place.
    let buffers = [
        a,
        x,
        bias_buffer,
        out,
        &partial,
        gpu.spare_write(1),
        unbound_b,
    ];
    // A weight gradient's a (the small side's gradient, [b][m][hw]) is already A, k-major per
    // image, when hw is a multiple of 4: the GEMM reads it in place of its pack (SwiftShader:
    // the pack moved 0.8 M floats in 7 of dcgan28's D conv 1→64 d weight's 22 ms).
    // A gather's a (the weights, [m][k]) is A as it lies when k is a multiple of 4. A weight
    // gradient from one pixel to a whole kernel with no padding (a generator's first layer, a
    // dense layer) has x ([b][c · kh · kw]) as its B, k-major.
    // Read in place, an operand is read whole: not for an image cut into pieces.
    let direct = match mode {
        Mode::Weight if g.small().is_multiple_of(4) && whole_image => DIRECT_A,
        Mode::Gather if phase_k.is_multiple_of(4) && whole_image => DIRECT_A,
        Mode::Transposed if np <= GATHER_MAX_COLUMNS && gathered_a(g) => DIRECT_A_GATHERED,
        Mode::Transposed if np <= GATHER_MAX_COLUMNS && taps_a(g) => DIRECT_A_TAPS,
        _ => 0,
    } | if mode == Mode::Weight
        && g.one_pixel_to_kernel()
        && phase_n.is_multiple_of(4)
        && whole_image
    {
        DIRECT_B
    } else {
        0
    };
    let spare = (direct != 0).then(|| gpu.spare_read());
    let main_buffers = match spare {
        // Read-write in the pack's slot, so it may not also be bound read-only: the GEMM
        // reads neither a nor x itself, but for a gathered A, from a in its own slot.
        Some(spare) => [
            if direct & (DIRECT_A_GATHERED | DIRECT_A_TAPS) != 0 {
                a
            } else {
                spare
            },
            spare,
            bias_buffer,
            out,
            &partial,
            if direct & DIRECT_A != 0 {
                a
            } else {
                gpu.spare_write(1)
            },
            if direct & DIRECT_B != 0 { x } else { unbound_b },
        ],
        None => buffers,
    };
    let mut run: Option<Dispatch> = None;
    let pieces = (0..chunks).flat_map(|c| parts.iter().enumerate().map(move |(i, &p)| (c, i, p)));
    for (c, part, (channel0, group_channels, pixel0, band)) in pieces {
        let batch0 = c * cut.images;
        let images = cut.images.min(batch - batch0);
        let piece = Cut {
            images,
            channels: group_channels,
            pixels: band,
        };
        let (kp, np) = packed(g, mode, piece);
        let splits = split_for(kp, np);
        let first = c == 0 && part == 0;
        let last_part = part + 1 == parts.len();
        // A weight gradient sums over chunks and bands; gathers write disjoint images, each
        // the sum of its channel groups: the first group writes (with the bias), the others
        // add, and the last rectifies the whole sum.
        let add = accumulate || part > 0 || (mode == Mode::Weight && c > 0);
        let with_bias = bias.is_some() && part == 0 && (mode != Mode::Weight || c == 0);
        let flags = result_flags(
            with_bias,
            Store {
                accumulate: add,
                slope: if last_part { store.slope } else { None },
            },
        );
        let group = Geometry {
            batch: images as u32,
            channels: group_channels as u32,
            ..*g
        };
        let params = ConvParams {
            k: match mode {
                Mode::Weight => images * band,
                _ => group.gemm(mode).1,
            } as u32,
            splits: splits as u32,
            batch0: batch0 as u32,
            phases: phases as u32,
            rows: rows as u32,
            a_row4: (kp / 4) as u32,
            b_row4: (np / 4) as u32,
            a_phase4: (rows * kp / 4) as u32,
            // With shared shifts, B's only "phase" is the whole of it.
            b_phase4: (if shifts { 9 * group_channels } else { kp } * np / 4) as u32,
            slope: store.slope.unwrap_or(0.0),
            channel0: channel0 as u32,
            group_channels: group_channels as u32,
            pixel0: pixel0 as u32,
            ..ConvParams::of(g, mode, images as u32, out_len)
        };
        // A split GEMM leaves its flags to the sum of its slices.
        let main_flags = if splits > 1 { FLAG_PARTIAL } else { flags };
        let chunk_n = match mode {
            Mode::Weight => phase_n,
            _ => images * (phase_n / batch),
        };
        let (mut gemm, grid) =
            gemm_constants(direct, runs(mode, g, chunk_n), np / BLOCK, rows / BLOCK);
        let pack_b = if shifts { vec![("SHIFTS", 1)] } else { vec![] };
        gemm.extend_from_slice(&pack_b);
        let step = |entry: &'static str, flags: Option<u32>, workgroups: [u32; 3]| {
            let (extra, buffers) = match entry {
                "main" => (&gemm[..], &main_buffers),
                "pack_b" => (&pack_b[..], &buffers),
                _ => (&[][..], &buffers),
            };
            engine_step(
                gpu,
                entry,
                mode as u32,
                flags,
                extra,
                &params,
                buffers,
                Some((&scratch_a, &packed_b)),
                workgroups,
            )
        };
        let with_z = |mut grid: [u32; 3], z: usize| {
            grid[2] = z as u32;
            grid
        };
        let mut d = Vec::with_capacity(4);
        // A of a gather does not depend on the images: pack it once, or once per group of
        // channels.
        if (first || mode == Mode::Weight || !whole_image)
            && direct & (DIRECT_A | DIRECT_A_GATHERED | DIRECT_A_TAPS) == 0
        {
            d.push(step(
                "pack_a",
                None,
                with_z(grid_1d(rows * kp / 4, 256), phases),
            )?);
        }
        if direct & DIRECT_B == 0 {
            d.push(step(
                "pack_b",
                None,
                if shifts {
                    pack_b_grid(mode as u32, 9 * group_channels, np)
                } else {
                    with_z(pack_b_grid(mode as u32, kp, np), phases)
                },
            )?);
        }
        d.push(step(
            "main",
            Some(main_flags),
            [grid[0] as u32, grid[1] as u32, (phases * splits) as u32],
        )?);
        if splits > 1 {
            d.push(step("reduce_splits", Some(flags), grid_1d(out_len, 256))?);
        }
        run = chain(run, d);
    }
    let mut d = run.expect("a batch has at least one chunk");
    d.label = op;
    Ok(d)
}

/// The second operand of a plain product: b[k][cols] as it lies, or bᵀ ([cols][k]) to be
/// packed into it first.
enum PlainB<'a> {
    AsItLies(&'a wgpu::Buffer),
    Transposed(&'a wgpu::Buffer),
}

/// out[rows][cols] (+)= a[rows][k] · b[k][cols] (+ bias[col]), a read as it lies (MODE 4):
/// `k` is a multiple of 4, and so is `cols` when b is read as it lies. One GEMM, after packing
/// b when it comes transposed, split when k is long and the output small.
#[allow(clippy::too_many_arguments)]
fn plain(
    gpu: &Gpu,
    op: &'static str,
    rows: usize,
    cols: usize,
    k: usize,
    a: &wgpu::Buffer,
    b: PlainB,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    store: Store,
) -> Result<Dispatch> {
    let out_len = rows * cols;
    let (row_blocks, np) = (round_up(rows, BLOCK), round_up(cols, BLOCK));
    let splits = splits(k, np, row_blocks, out_len);
    let partial = partial_sums(gpu, splits, out_len);
    let spare = gpu.spare_read();
    let params = ConvParams {
        m: rows as u32,
        n: cols as u32,
        k: k as u32,
        batch: 1,
        splits: splits as u32,
        out_len: out_len as u32,
        phases: 1,
        b_row4: (np / 4) as u32,
        b_phase4: (k * np / 4) as u32,
        slope: store.slope.unwrap_or(0.0),
        ..bytemuck::Zeroable::zeroed()
    };
    let flags = result_flags(bias.is_some(), store);
    let bias = bias.unwrap_or(spare);
    // (the GEMM's DIRECT, its B, and bᵀ with the scratch to pack it into when it comes so)
    let scratch;
    // Packed B goes to the scratch texture, leaving the GEMM's B slot to a buffer of its own
    // (`spare` is bound read-only in other slots).
    let unbound_b = gpu.spare_write(2);
    let (direct, b, transposed) = match b {
        PlainB::AsItLies(b) => (DIRECT_A | DIRECT_B, b, None),
        PlainB::Transposed(bt) => {
            check_one_image(gpu, op, k * np)?;
            scratch = gpu.conv_scratch(4, k * np);
            (DIRECT_A, unbound_b, Some((bt, (&scratch.0, &scratch.1))))
        }
    };
    let packed = transposed.map(|(_, ab)| ab);
    let (gemm, grid) = gemm_constants(
        direct,
        cols.is_multiple_of(4),
        np / BLOCK,
        row_blocks / BLOCK,
    );
    let step = |entry: &'static str,
                flags: Option<u32>,
                extra: &[(&'static str, u32)],
                buffers: &[&wgpu::Buffer],
                workgroups: [u32; 3]| {
        engine_step(
            gpu, entry, PLAIN, flags, extra, &params, buffers, packed, workgroups,
        )
    };
    let main = [spare, spare, bias, out, &partial, a, b];
    let mut steps = Vec::with_capacity(3);
    if let Some((bt, _)) = transposed {
        // bᵀ is read through the x binding; nothing read-write aliases it.
        let buffers = [
            spare,
            bt,
            spare,
            out,
            &partial,
            gpu.spare_write(1),
            unbound_b,
        ];
        steps.push(step(
            "pack_b",
            None,
            &[],
            &buffers,
            pack_b_grid(PLAIN, k, np),
        )?);
    }
    steps.push(step(
        "main",
        Some(if splits > 1 { FLAG_PARTIAL } else { flags }),
        &gemm,
        &main,
        [grid[0] as u32, grid[1] as u32, splits as u32],
    )?);
    if splits > 1 {
        // The same bindings: the spare may not be bound read-write where it is read-only.
        steps.push(step(
            "reduce_splits",
            Some(flags),
            &[],
            &main,
            grid_1d(out_len, 256),
        )?);
    }
    let mut d = chain(None, steps).expect("a plain product has its GEMM");
    d.label = op;
    Ok(d)
}

/// Whether a gather goes through columns (MODE 3 with GATHER_COLUMNS): few output channels
/// (m ≤ 4), a kernel of several taps over many channels, and x not much larger than the output
/// (stride 1). There the GEMM would use one row in 8 of its blocks and pack x once per tap:
/// CycleGAN's last layer, 64 → 3 channels 7 × 7 over 70², packs 12.8 M floats of B for a GEMM
/// of 77 MFLOP. Through columns it packs none (x is B as it lies) and computes 147 rows of
/// taps at x's 4,900 pixels from 64 channels, 20% more multiply-adds, all of them in whole
/// blocks. Not where x is much larger than the output (a strided conv, or a 4 × 4 kernel to a
/// single pixel: every tap of every pixel of x would be computed to use one), nor where one
/// image's columns or packed x exceed a binding of `limit` floats: the packed GEMM cuts such
/// an image into groups of channels, the columns do not.
fn gather_columns(g: &Geometry, limit: usize) -> bool {
    let (channels, pixels) = (g.channels as usize, g.large());
    let columns = g.m as usize * g.taps() * pixels;
    let packed_x = round_up(channels, 4) * round_up(pixels, BLOCK);
    (g.m as usize) <= COLUMNS_MAX_M
        && g.taps() > 1
        && channels >= 16
        && pixels <= 2 * g.small()
        && columns.max(packed_x) <= limit
}

/// Threads `weight_few` aims for, spreading a short list of (channel, kernel row) over slices
/// of output rows.
const FEW_THREADS: usize = 4096;

/// Whether a weight gradient is summed directly by the shader's `weight_few`: a conv to a few
/// channels (m ≤ 4) at stride 1 with kernels up to 8 wide and rows at least as wide
/// (CycleGAN's last 7 × 7 layer, the PatchGAN's 1-logit layer), whose GEMM would use 1 row in
/// 8 and pack x once per tap for it. Not for 1 × 1 kernels (dense layers), whose GEMM reads
/// both operands in place.
fn weight_few(g: &Geometry) -> bool {
    (g.m as usize) <= COLUMNS_MAX_M
        && g.taps() > 1
        && g.stride == 1
        && g.kernel_w <= 8
        && g.small_w >= g.kernel_w
}

/// A weight gradient to a few rows summed directly (see [`weight_few`]): one thread per (x's
/// channel, kernel row) and slice of the output rows, the slices' partial sums added by
/// `reduce_splits` when there are several.
fn few_rows(
    gpu: &Gpu,
    op: &'static str,
    g: &Geometry,
    a: &wgpu::Buffer,
    x: &wgpu::Buffer,
    out: &wgpu::Buffer,
    store: Store,
) -> Result<Dispatch> {
    let (_, _, out_len) = g.lengths(Mode::Weight);
    let threads = g.channels as usize * g.kernel_h as usize;
    let rows = g.batch as usize * g.small_h as usize;
    let slices = FEW_THREADS
        .div_ceil(threads)
        .min(rows)
        .min(SPLIT_MAX_FLOATS / out_len.max(1))
        .clamp(1, 64);
    let params = ConvParams {
        splits: slices as u32,
        ..ConvParams::of(g, Mode::Weight, g.batch, out_len)
    };
    let flags = result_flags(false, store);
    let partial = partial_sums(gpu, slices, out_len);
    let buffers = [
        a,
        x,
        gpu.spare_read(),
        out,
        &partial,
        gpu.spare_write(1),
        gpu.spare_write(2),
    ];
    let step = |entry: &'static str, flags: u32, workgroups: [u32; 3]| {
        engine_step(
            gpu,
            entry,
            Mode::Weight as u32,
            Some(flags),
            &[],
            &params,
            &buffers,
            None,
            workgroups,
        )
    };
    let main_flags = if slices > 1 { FLAG_PARTIAL } else { flags };
    let mut d = step(
        "weight_few",
        main_flags,
        [threads.div_ceil(64) as u32, 1, slices as u32],
    )?;
    if slices > 1 {
        d = d.then(step("reduce_splits", flags, grid_1d(out_len, 256))?);
    }
    d.label = op;
    Ok(d)
}

/// A transposed gather with few output channels (m ≤ 4) in two steps (MODE 3 of the shader):
/// a 1×1 GEMM puts every tap's product at every input pixel into columns (m · kh · kw rows,
/// x packed once), then `col2im` sums the taps that reach each output pixel. Per phase, the
/// plain GEMM would use one row in 8 and pack x once per tap for it.
///
/// With `gather`, a gather (see [`gather_columns`]) the same way: `g` comes with small and
/// large swapped, so that x's pixels are the small side and the output the large one, and
/// `col_gather` sums the taps that each output pixel reads.
#[allow(clippy::too_many_arguments)]
fn columns(
    gpu: &Gpu,
    op: &'static str,
    g: &Geometry,
    a: &wgpu::Buffer,
    x: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    store: Store,
    gather: bool,
) -> Result<Dispatch> {
    let (_, _, out_len) = g.lengths(Mode::Transposed);
    let (batch, small) = (g.batch as usize, g.small());
    let col_rows = g.m as usize * g.taps();
    let rows = round_up(col_rows, BLOCK);
    let kp = round_up(g.channels as usize, 4);
    // (packed A, packed B, columns) for a chunk of `images`.
    let need = |images: usize| {
        (
            rows * kp,
            kp * round_up(images * small, BLOCK),
            col_rows * images * small,
        )
    };
    let (one_a, one_b, one_col) = need(1);
    check_one_image(gpu, op, one_a.max(one_b).max(one_col))?;
    let (room_a, room_b) = gpu.conv_scratch_room();
    let (room_a, room_b) = (room_a.max(one_a), room_b.max(one_b));
    let room_col = COLUMNS_MAX_FLOATS.max(one_col);
    let chunk = (1..=batch)
        .rev()
        .find(|&images| {
            let (a, b, col) = need(images);
            a <= room_a && b <= room_b && col <= room_col
        })
        .unwrap_or(1);
    let (need_a, need_b, need_col) = need(chunk);
    let (scratch_a, packed_b) = gpu.conv_scratch(need_a, need_b);
    // B is packed into the texture; its buffer slot serves x read in place.
    let unbound_b = gpu.spare_write(2);
    let col = gpu.storage("conv columns", need_col);
    let bias_buffer = bias.unwrap_or(gpu.spare_read());
    let buffers = [a, x, bias_buffer, out, &col, gpu.spare_write(1), unbound_b];
    // x ([b][c][hw]) is already B, a vec4 of one image per 4 columns, when hw and c are
    // multiples of 4: the GEMM reads it in place of its pack, bound read-write in the pack's
    // slot and so not read-only too (SwiftShader: the pack was 4 of 17 ms for dcgan28's
    // convT 64→1).
    let direct = g.small().is_multiple_of(4) && g.channels.is_multiple_of(4);
    // The weights ([c][m · kh · kw]) are A transposed: whole vec4s of k (c % 4 == 0) and
    // whole blocks of rows are read in place, 4 floats a vec4, for few columns (pix2pix64's
    // U-Net at 1 × 1: the pack was 12.4 of 16 ms; see GATHER_MAX_COLUMNS).
    let gathered = !gather
        && g.channels.is_multiple_of(4)
        && col_rows.is_multiple_of(BLOCK)
        && round_up(chunk * small, BLOCK) <= GATHER_MAX_COLUMNS;
    let spare = gpu.spare_read();
    let main_buffers = [
        if gathered { a } else { spare },
        spare,
        bias_buffer,
        out,
        &col,
        gpu.spare_write(1),
        if direct { x } else { unbound_b },
    ];
    let flags = result_flags(bias.is_some(), store);
    let mut run: Option<Dispatch> = None;
    for batch0 in (0..batch).step_by(chunk) {
        let images = chunk.min(batch - batch0);
        let n = images * small;
        let np = round_up(n, BLOCK);
        let params = ConvParams {
            m: col_rows as u32,
            n: n as u32,
            k: g.channels,
            splits: 1,
            batch0: batch0 as u32,
            phases: 1,
            rows: rows as u32,
            a_row4: (kp / 4) as u32,
            b_row4: (np / 4) as u32,
            a_phase4: (rows * kp / 4) as u32,
            b_phase4: (kp * np / 4) as u32,
            slope: store.slope.unwrap_or(0.0),
            ..ConvParams::of(g, Mode::Transposed, images as u32, out_len)
        };
        let (gemm, grid) = gemm_constants(
            (if direct { DIRECT_B } else { 0 }) | (if gathered { DIRECT_A_GATHERED } else { 0 }),
            n.is_multiple_of(4),
            np / BLOCK,
            rows / BLOCK,
        );
        let step = |entry: &'static str, flags: Option<u32>, workgroups: [u32; 3]| {
            let (extra, buffers) = match entry {
                "main" => (
                    &gemm[..],
                    if direct || gathered {
                        &main_buffers
                    } else {
                        &buffers
                    },
                ),
                "pack_a" if gather => (&[("GATHER_COLUMNS", 1)][..], &buffers),
                _ => (&[][..], &buffers),
            };
            engine_step(
                gpu,
                entry,
                COLUMNS,
                flags,
                extra,
                &params,
                buffers,
                Some((&scratch_a, &packed_b)),
                workgroups,
            )
        };
        let mut d = Vec::with_capacity(4);
        // The weights do not depend on the images: pack them once.
        if batch0 == 0 && !gathered {
            d.push(step("pack_a", None, grid_1d(rows * kp / 4, 256))?);
        }
        if !direct {
            d.push(step("pack_b", None, pack_b_grid(COLUMNS, kp, np))?);
        }
        // The columns go to `partial` whole; col2im adds the bias and accumulates.
        d.push(step(
            "main",
            Some(FLAG_PARTIAL),
            [grid[0] as u32, grid[1] as u32, 1],
        )?);
        d.push(if gather {
            // One thread per output pixel.
            step(
                "col_gather",
                Some(flags),
                grid_1d(images * g.m as usize * g.large(), 256),
            )?
        } else {
            step(
                "col2im",
                Some(flags),
                // One thread per run of 8 pixels of an output row.
                grid_1d(
                    images * g.m as usize * g.large_h as usize * (g.large_w as usize).div_ceil(8),
                    256,
                ),
            )?
        });
        run = chain(run, d);
    }
    let mut d = run.expect("a batch has at least one chunk");
    d.label = op;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WebGPU's default binding, 128 MiB, in floats.
    const LIMIT: usize = 32 << 20;
    const ROOM: (usize, usize) = (SCRATCH_A_FLOATS, SCRATCH_B_FLOATS);

    /// CycleGAN's last generator layer at 128: a 7 × 7 conv from 64 channels to 3 over the
    /// 134 × 134 reflection-padded image.
    fn last_layer(batch: u32) -> Geometry {
        Geometry {
            batch,
            m: 3,
            channels: 64,
            small_h: 128,
            small_w: 128,
            large_h: 134,
            large_w: 134,
            kernel_h: 7,
            kernel_w: 7,
            stride: 1,
            pad_y: 0,
            pad_x: 0,
        }
    }

    #[test]
    fn an_image_past_the_binding_is_cut_into_even_pieces_that_fit() {
        let g = last_layer(2);
        // 64 · 49 × 128² floats (196 MiB) per image: two groups of 32 channels.
        let forward = cut(&g, Mode::Gather, ROOM, LIMIT).unwrap();
        assert_eq!(
            forward,
            Cut {
                images: 1,
                channels: 32,
                pixels: 128 * 128
            }
        );
        // The weight gradient's B is 128² × 64 · 49 per image: two bands of 64 rows.
        let weight = Geometry { m: 3, ..g };
        let dweight = cut(&weight, Mode::Weight, ROOM, LIMIT).unwrap();
        assert_eq!(
            dweight,
            Cut {
                images: 1,
                channels: 64,
                pixels: 64 * 128
            }
        );
        for (mode, piece) in [(Mode::Gather, forward), (Mode::Weight, dweight)] {
            let (a, b) = pack_floats(&g, mode, piece);
            assert!(a <= LIMIT && b <= LIMIT, "{mode:?}: {a}, {b}");
        }
    }

    #[test]
    fn rows_of_blocks_that_leave_many_threads_idle_take_narrower_workgroups() {
        // 18² output pixels: 41 blocks, 7 idle columns of threads in 8-wide groups, 3 in
        // 4-wide ones. 16² (32 blocks) and 9 blocks of 4-wide groups stay.
        assert!(narrower(41));
        assert!(narrower(9));
        for blocks in [32, 128, 392, 784, 5, 81] {
            assert!(!narrower(blocks), "{blocks}");
        }
    }

    #[test]
    fn images_that_fit_are_chunked_as_before() {
        // A DCGAN layer: 64 images of 14 × 14 from 64 channels, 4 × 4 stride 2.
        let g = Geometry {
            batch: 64,
            m: 128,
            channels: 64,
            small_h: 7,
            small_w: 7,
            large_h: 14,
            large_w: 14,
            kernel_h: 4,
            kernel_w: 4,
            stride: 2,
            pad_y: 1,
            pad_x: 1,
        };
        for mode in [Mode::Gather, Mode::Transposed, Mode::Weight] {
            let piece = cut(&g, mode, ROOM, LIMIT).unwrap();
            assert_eq!((piece.channels, piece.pixels), (64, 49), "{mode:?}");
            let (a, b) = pack_floats(&g, mode, piece);
            assert!(a <= ROOM.0 && b <= ROOM.1, "{mode:?}");
        }
        // A room too small for one image grows to it, within the limit.
        let piece = cut(&g, Mode::Gather, (16, 16), LIMIT).unwrap();
        assert_eq!(piece.images, 1);
        assert_eq!(piece.channels, 64);
    }

    #[test]
    fn a_transposed_gather_cuts_its_shared_shifts_by_channel() {
        // A 4 × 4 stride-2 up-sampling from 256 channels at 128² to 256²: its phases share B,
        // 9 shifts per channel of 128² pixels (144 MiB per image).
        let g = Geometry {
            batch: 1,
            m: 64,
            channels: 256,
            small_h: 128,
            small_w: 128,
            large_h: 256,
            large_w: 256,
            kernel_h: 4,
            kernel_w: 4,
            stride: 2,
            pad_y: 1,
            pad_x: 1,
        };
        let piece = cut(&g, Mode::Transposed, ROOM, LIMIT).unwrap();
        assert_eq!(piece.channels, 128);
        let (_, b) = pack_floats(&g, Mode::Transposed, piece);
        assert_eq!(b, 9 * 128 * 128 * 128);
    }

    #[test]
    fn a_single_channel_past_the_binding_is_refused() {
        // 81 taps (84 with a vec4's padding) at 720² pixels: 44 M floats for one channel.
        let g = Geometry {
            batch: 1,
            m: 1,
            channels: 1,
            small_h: 720,
            small_w: 720,
            large_h: 728,
            large_w: 728,
            kernel_h: 9,
            kernel_w: 9,
            stride: 1,
            pad_y: 0,
            pad_x: 0,
        };
        assert_eq!(cut(&g, Mode::Gather, ROOM, LIMIT), Err(84 * 720 * 720));
        // Its weight gradient is cut into bands of pixels instead: 81 columns each.
        let piece = cut(&g, Mode::Weight, ROOM, LIMIT).unwrap();
        assert_eq!(piece.channels, 1);
        assert!(piece.pixels.is_multiple_of(4) && piece.pixels < 720 * 720);
    }
}

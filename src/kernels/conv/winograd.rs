//! Winograd's F(2 × 2, 3 × 3) for 3 × 3 convolutions at stride 1 (the shader's MODE 5, in
//! `shaders/conv_winograd.wgsl`): every 2 × 2 tile of the output from 16 products of
//! transformed weights and a transformed 4 × 4 patch of x, where the direct GEMM makes 36
//! multiply-adds. Four passes: the weights' transforms (packed A), the patches' (packed B), the
//! engine's GEMM once per position of the 4 × 4 transforms, and the output's transform. The
//! weight gradient is F(3 × 3, 2 × 2) the same way: dy's 2 × 2 tiles transformed as A, the
//! patches as B, and a GEMM per position that sums over the tiles.
//!
//! CycleGAN's residual blocks (256 → 256 channels, 3 × 3, on 18² padded images) spend most of
//! its step in these convolutions' forward passes and input gradients, each already at the
//! GEMM's speed: fewer multiplies is what is left to win.

use super::{
    chain, engine_step_textures, gemm_constants, result_flags, round_up, ConvParams, Geometry,
    Mode, Store, BLOCK, FLAG_PARTIAL,
};
use crate::gpu::Gpu;
use crate::kernels::{grid_1d, Dispatch};
use crate::Result;

/// The shader's MODE.
const WINOGRAD: u32 = 5;
/// Positions of the 4 × 4 transforms: one GEMM each.
const POSITIONS: usize = 16;
/// Channels on both sides at least: the transforms are passes over x, the weights and the
/// output of their own, which few channels' multiplies do not pay for.
const MIN_CHANNELS: u32 = 32;

/// A 3 × 3 stride-1 run seen as a gather of out (`out_h` × `out_w`) from x (`in_h` × `in_w`)
/// padded by `pad_y`, `pad_x`: a gather as it is; a transposed gather (a conv's input
/// gradient) as the gather of its x with the kernel turned by 180° (`flipped`) and padded by
/// 2 − p; a weight gradient (`weight`) over the tiles of that gather, out being dy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    pub out_h: u32,
    pub out_w: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub pad_y: u32,
    pub pad_x: u32,
    pub flipped: bool,
    pub weight: bool,
    /// Columns of each GEMM: images × 2 × 2 tiles of out, or a weight gradient's channels of
    /// x; and its reduction: the channels, or the tiles.
    pub n: usize,
    pub k: usize,
    /// Packed sizes: rows (m to the block), k (channels to 4), n (to the block).
    pub rows: usize,
    pub kp: usize,
    pub np: usize,
}

impl Plan {
    /// Floats of (packed A, packed B, the GEMMs' products). The products are rows of `np`,
    /// so that each run of 4 columns is one texel.
    pub fn floats(&self, m: u32) -> (usize, usize, usize) {
        (
            POSITIONS * self.rows * self.kp,
            POSITIONS * self.kp * self.np,
            POSITIONS * m as usize * self.np,
        )
    }
}

/// The plan for `g` in `mode` when Winograd applies: 3 × 3 at stride 1, at least
/// [`MIN_CHANNELS`] on both sides, a transposed gather's padding at most 2 (beyond, its output
/// starts past x's reach), and all of the batch's packs and products within a binding of
/// `limit` floats (else the packed GEMM, which cuts the batch in chunks).
pub(super) fn plan(g: &Geometry, mode: Mode, limit: usize) -> Option<Plan> {
    if (g.kernel_h, g.kernel_w, g.stride) != (3, 3, 1)
        || g.m < MIN_CHANNELS
        || g.channels < MIN_CHANNELS
    {
        return None;
    }
    let (out_h, out_w, in_h, in_w, pad_y, pad_x, flipped) = match mode {
        Mode::Gather | Mode::Weight => (
            g.small_h, g.small_w, g.large_h, g.large_w, g.pad_y, g.pad_x, false,
        ),
        _ if g.pad_y > 2 || g.pad_x > 2 => return None,
        _ => (
            g.large_h,
            g.large_w,
            g.small_h,
            g.small_w,
            2 - g.pad_y,
            2 - g.pad_x,
            true,
        ),
    };
    let tiles = g.batch as usize * out_h.div_ceil(2) as usize * out_w.div_ceil(2) as usize;
    let weight = mode == Mode::Weight;
    let (n, k) = if weight {
        (g.channels as usize, tiles)
    } else {
        (tiles, g.channels as usize)
    };
    let plan = Plan {
        out_h,
        out_w,
        in_h,
        in_w,
        pad_y,
        pad_x,
        flipped,
        weight,
        n,
        k,
        rows: round_up(g.m as usize, BLOCK),
        kp: round_up(k, 4),
        np: round_up(n, BLOCK),
    };
    let (a, b, products) = plan.floats(g.m);
    (a.max(b).max(products) <= limit && tiles <= u32::MAX as usize).then_some(plan)
}

/// Builds the four passes of `plan` for `g` (see the module's header); `bias` and `store` as
/// for [`super::dispatch`].
#[allow(clippy::too_many_arguments)]
pub(super) fn dispatch(
    gpu: &Gpu,
    op: &'static str,
    g: &Geometry,
    plan: &Plan,
    a: &wgpu::Buffer,
    x: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    store: Store,
) -> Result<Dispatch> {
    let out_len = if plan.weight {
        g.m as usize * g.channels as usize * 9
    } else {
        (g.batch * g.m * plan.out_h * plan.out_w) as usize
    };
    let (need_a, need_b, products) = plan.floats(g.m);
    let (packed_a, packed_b) = gpu.conv_scratch(need_a, need_b);
    let products = gpu.conv_products(products);
    let bias_buffer = bias.unwrap_or(gpu.spare_read());
    let buffers = [
        a,
        x,
        bias_buffer,
        out,
        gpu.spare_write(0),
        gpu.spare_write(1),
        gpu.spare_write(2),
    ];
    let params = ConvParams {
        m: g.m,
        n: plan.n as u32,
        k: plan.k as u32,
        batch: g.batch,
        channels: g.channels,
        small_h: plan.out_h,
        small_w: plan.out_w,
        large_h: plan.in_h,
        large_w: plan.in_w,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        pad_y: plan.pad_y,
        pad_x: plan.pad_x,
        slope: store.slope.unwrap_or(0.0),
        splits: 1,
        out_len: out_len as u32,
        phases: POSITIONS as u32,
        rows: plan.rows as u32,
        a_row4: (plan.kp / 4) as u32,
        b_row4: (plan.np / 4) as u32,
        a_phase4: (plan.rows * plan.kp / 4) as u32,
        b_phase4: (plan.kp * plan.np / 4) as u32,
        group_channels: g.channels,
        ..bytemuck::Zeroable::zeroed()
    };
    let (gemm, grid) = gemm_constants(
        0,
        plan.n.is_multiple_of(4),
        plan.np / BLOCK,
        plan.rows / BLOCK,
    );
    let flipped = [("FLIPPED", 1)];
    // (pack A, pack B, the products' transform)
    let (pack_a, pack_b, finish) = if plan.weight {
        ("wino_dy", "wino_xt", "wino_dw")
    } else {
        ("wino_a", "wino_b", "wino_out")
    };
    // (texture read, texture written, packed A read): the packs write packed A and B, the
    // GEMM reads them and writes the products, which the finishing pass reads.
    let step = |entry: &'static str,
                flags: Option<u32>,
                extra: &[(&'static str, u32)],
                textures: [Option<&wgpu::TextureView>; 3],
                workgroups: [u32; 3]| {
        engine_step_textures(
            gpu, entry, WINOGRAD, flags, extra, &params, &buffers, textures, workgroups,
        )
    };
    let steps = vec![
        step(
            pack_a,
            None,
            if plan.flipped { &flipped[..] } else { &[] },
            [None, Some(&packed_a), None],
            grid_1d(plan.rows * plan.kp / 4, 256),
        )?,
        step(
            pack_b,
            None,
            &[],
            [None, Some(&packed_b), None],
            grid_1d(plan.kp * plan.np / 4, 256),
        )?,
        step(
            "main",
            Some(FLAG_PARTIAL),
            &gemm,
            [Some(&packed_b), Some(&products), Some(&packed_a)],
            [grid[0] as u32, grid[1] as u32, POSITIONS as u32],
        )?,
        step(
            finish,
            Some(result_flags(bias.is_some(), store)),
            &[],
            [Some(&products), None, None],
            grid_1d(g.m as usize * plan.np / 4, 256),
        )?,
    ];
    let mut d = chain(None, steps).expect("four passes");
    d.label = op;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn residual(batch: u32, size: u32, pad: u32) -> Geometry {
        Geometry {
            batch,
            m: 256,
            channels: 256,
            small_h: size + 2 * pad - 2,
            small_w: size + 2 * pad - 2,
            large_h: size,
            large_w: size,
            kernel_h: 3,
            kernel_w: 3,
            stride: 1,
            pad_y: pad,
            pad_x: pad,
        }
    }

    #[test]
    fn a_residual_conv_and_its_input_gradient_are_tiled_over_their_outputs() {
        // CycleGAN's residual conv at 64: 18² reflection-padded → 16², no padding of its own.
        let g = residual(1, 18, 0);
        let fwd = plan(&g, Mode::Gather, 1 << 25).expect("forward");
        assert_eq!(
            (fwd.out_h, fwd.in_h, fwd.pad_y, fwd.flipped),
            (16, 18, 0, false)
        );
        assert_eq!((fwd.n, fwd.np, fwd.rows, fwd.kp), (64, 64, 256, 256));
        // Its input gradient: dy (16²) to 18², the kernel turned and padded by 2.
        let back = plan(&g, Mode::Transposed, 1 << 25).expect("input gradient");
        assert_eq!(
            (back.out_h, back.in_h, back.pad_y, back.flipped),
            (18, 16, 2, true)
        );
        assert_eq!((back.n, back.np), (81, 88));
        // Its weight gradient: a GEMM per position over dy's 64 tiles, x's channels as columns.
        let dw = plan(&g, Mode::Weight, 1 << 25).expect("weight gradient");
        assert_eq!((dw.out_h, dw.in_h, dw.weight), (16, 18, true));
        assert_eq!((dw.n, dw.k, dw.kp, dw.np), (256, 64, 64, 256));
        // Odd outputs take a last tile that is half used.
        let odd = plan(&residual(3, 7, 1), Mode::Gather, 1 << 25).expect("odd");
        assert_eq!((odd.out_h, odd.n, odd.np), (7, 3 * 16, 48));
    }

    #[test]
    fn only_wide_3x3_stride_1_runs_that_fit_go_through_winograd() {
        let g = residual(1, 18, 0);
        let narrow = Geometry { m: 16, ..g };
        assert_eq!(plan(&narrow, Mode::Gather, 1 << 25), None, "few channels");
        let strided = Geometry { stride: 2, ..g };
        assert_eq!(plan(&strided, Mode::Gather, 1 << 25), None, "stride 2");
        let wide = Geometry {
            kernel_h: 4,
            kernel_w: 4,
            ..g
        };
        assert_eq!(plan(&wide, Mode::Gather, 1 << 25), None, "4 × 4");
        let padded = Geometry {
            pad_y: 3,
            pad_x: 3,
            ..g
        };
        assert_eq!(plan(&padded, Mode::Transposed, 1 << 25), None, "padding 3");
        // The weights' transforms, 16 · 256 · 256 floats, the largest of the three: one float
        // less to a binding, and the packed GEMM takes the run.
        assert!(plan(&g, Mode::Gather, 16 * 256 * 256).is_some());
        assert_eq!(plan(&g, Mode::Gather, 16 * 256 * 256 - 1), None);
    }
}

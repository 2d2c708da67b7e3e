//! SAGAN's self-attention past its 1×1 convolutions, on `shaders/attention.wgsl` (whose header
//! gives the maths): a batched matrix product with transpose options, the attention map's row
//! softmax and the residual scaled by the learned γ, each forward and backward.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Lanes, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "attention.wgsl",
    source: include_str!("../../shaders/attention.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // a
        Access::Read,      // b
        Access::Read,      // a4: a as vec4s
        Access::Read,      // b4: b as vec4s
        Access::Read,      // gamma
        Access::ReadWrite, // out
    ],
    // The matmul and softmax entry points, with subgroups (4 lanes share A's loads; a
    // subgroup's lanes read a softmax row together) and without.
    lanes: Some(Lanes {
        on: include_str!("../../shaders/attention_subgroups.wgsl"),
        off: include_str!("../../shaders/attention_no_subgroups.wgsl"),
    }),
};

/// Threads a side of a matmul workgroup (8 × 8, laid out as 64 in a row), each with an 8 × 8
/// block.
const TILE: u32 = 8;
/// Rows and columns of out per matmul thread.
const BLOCK: u32 = 8;
/// Threads of the elementwise entries (GROUP in the shader).
const GROUP: u32 = 256;
/// Threads of the softmax entries (ROW_GROUP in the shader).
const ROW_GROUP: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct AttentionParams {
    m: u32,
    n: u32,
    k: u32,
    a_stride: u32,
    b_stride: u32,
    out_stride: u32,
    scale: f32,
    unused: u32,
}

/// One operand of [`matmul`]: its buffer, whether it lies transposed, and whether every image
/// reads the same matrix.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub transposed: bool,
}

/// Sizes of a batched product: `batch` images of out [m, n] = A [m, k] · B [k, n].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    pub batch: u32,
    pub m: u32,
    pub n: u32,
    pub k: u32,
}

impl MatmulShape {
    const OP: &'static str = "batched matmul";

    /// Elements of (A, B, out) over the batch.
    pub fn lengths(&self) -> (usize, usize, usize) {
        let (b, m, n, k) = (
            self.batch as usize,
            self.m as usize,
            self.n as usize,
            self.k as usize,
        );
        (b * m * k, b * k * n, b * m * n)
    }

    /// Multiply-adds × 2.
    pub fn flops(&self) -> f64 {
        2.0 * self.batch as f64 * self.m as f64 * self.n as f64 * self.k as f64
    }

    fn check(&self) -> Result<()> {
        if [self.batch, self.m, self.n, self.k].contains(&0) {
            return Err(shape_error(
                Self::OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        let (a, b, out) = self.lengths();
        if a.max(b).max(out) > u32::MAX as usize {
            return Err(shape_error(Self::OP, "more than 2^32 − 1 elements"));
        }
        Ok(())
    }
}

/// out[z] (+)= scale · op(A[z]) · op(B[z]) for each image z, where op transposes an operand
/// stored transposed (A as [k, m], B as [n, k]).
pub fn matmul(
    gpu: &Gpu,
    shape: MatmulShape,
    a: Operand,
    b: Operand,
    out: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    const OP: &str = MatmulShape::OP;
    shape.check()?;
    let (a_len, b_len, out_len) = shape.lengths();
    check_len(OP, "A", a.buffer, a_len)?;
    check_len(OP, "B", b.buffer, b_len)?;
    check_len(OP, "out", out, out_len)?;
    if out == a.buffer || out == b.buffer {
        return Err(crate::Error::Invalid(format!(
            "{OP}: out must be a buffer of its own, not one of its operands"
        )));
    }
    let MatmulShape { batch, m, n, k } = shape;
    // Whole vec4s everywhere: every row the shader loads as vec4s starts at a multiple of 4.
    let vec4 = m % 4 == 0 && n % 4 == 0 && k % 4 == 0;
    let params = AttentionParams {
        m,
        n,
        k,
        a_stride: m * k,
        b_stride: k * n,
        out_stride: m * n,
        scale: 1.0,
        unused: 0,
    };
    let mut constants = vec![
        ("A_T", a.transposed as u32),
        ("B_T", b.transposed as u32),
        ("VEC4", vec4 as u32),
        ("ACCUMULATE", accumulate as u32),
    ];
    if gpu.subgroups {
        constants.push(("LANES", 4));
    }
    // The scalar path binds one-element spares as the vec4 views, which it never reads.
    let spare = gpu.storage("unused", 4);
    let (a4, b4) = if vec4 {
        (a.buffer, b.buffer)
    } else {
        (&spare, &spare)
    };
    let gamma = gpu.storage("unused", 1);
    let grid = [n.div_ceil(BLOCK * TILE), m.div_ceil(BLOCK * TILE), batch];
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        "matmul",
        &constants,
        &params,
        &[a.buffer, b.buffer, a4, b4, &gamma, out],
        grid,
    )?;
    d.label = "attention matmul";
    Ok(d)
}

/// One dispatch of a row-wise or elementwise entry over `items` rows or elements.
#[allow(clippy::too_many_arguments)]
fn rows(
    gpu: &Gpu,
    entry: &'static str,
    (m, n): (u32, u32),
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    gamma: &wgpu::Buffer,
    out: &wgpu::Buffer,
    accumulate: bool,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let params = AttentionParams {
        m,
        n,
        ..Default::default()
    };
    let spare = gpu.storage("unused", 4);
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        entry,
        &[("ACCUMULATE", accumulate as u32)],
        &params,
        &[a, b, &spare, &spare, gamma, out],
        workgroups,
    )?;
    d.label = entry;
    Ok(d)
}

/// Each of `rows` rows of `n` in `map` replaced by its softmax.
pub fn softmax_forward(gpu: &Gpu, rows_: u32, n: u32, map: &wgpu::Buffer) -> Result<Dispatch> {
    check_len("softmax", "map", map, rows_ as usize * n as usize)?;
    let spare = gpu.storage("unused", 1);
    let grid = grid_1d(rows_ as usize, ROW_GROUP);
    rows(
        gpu,
        "softmax_forward",
        (rows_, n),
        &spare,
        &spare,
        &spare,
        map,
        false,
        grid,
    )
}

/// d softmax of each row, in place: `dmap` holds d attn and is left holding d energy.
pub fn softmax_backward(
    gpu: &Gpu,
    rows_: u32,
    n: u32,
    attn: &wgpu::Buffer,
    dmap: &wgpu::Buffer,
) -> Result<Dispatch> {
    let len = rows_ as usize * n as usize;
    check_len("softmax", "attn", attn, len)?;
    check_len("softmax", "d map", dmap, len)?;
    let spare = gpu.storage("unused", 1);
    let grid = grid_1d(rows_ as usize, ROW_GROUP);
    rows(
        gpu,
        "softmax_backward",
        (rows_, n),
        attn,
        &spare,
        &spare,
        dmap,
        false,
        grid,
    )
}

/// The scaled residual y = γ·o + x over `len` elements, with γ a one-element buffer.
pub struct Residual<'a> {
    pub len: u32,
    pub gamma: &'a wgpu::Buffer,
    pub o: &'a wgpu::Buffer,
}

impl Residual<'_> {
    fn check(&self, what: &str, buffer: &wgpu::Buffer) -> Result<()> {
        check_len("scaled residual", "gamma", self.gamma, 1)?;
        check_len("scaled residual", what, buffer, self.len as usize)
    }

    /// y = γ·o + x.
    pub fn forward(&self, gpu: &Gpu, x: &wgpu::Buffer, y: &wgpu::Buffer) -> Result<Dispatch> {
        self.check("x", x)?;
        self.check("o", self.o)?;
        self.check("y", y)?;
        let grid = grid_1d(self.len as usize, GROUP);
        let d = (self.len, 0);
        rows(
            gpu,
            "residual_forward",
            d,
            self.o,
            x,
            self.gamma,
            y,
            false,
            grid,
        )
    }

    /// d o (+)= γ·dy.
    pub fn backward(
        &self,
        gpu: &Gpu,
        dy: &wgpu::Buffer,
        (d_o, accumulate): (&wgpu::Buffer, bool),
    ) -> Result<Dispatch> {
        self.check("dy", dy)?;
        self.check("d o", d_o)?;
        let spare = gpu.storage("unused", 1);
        let grid = grid_1d(self.len as usize, GROUP);
        let d = (self.len, 0);
        rows(
            gpu,
            "residual_backward",
            d,
            dy,
            &spare,
            self.gamma,
            d_o,
            accumulate,
            grid,
        )
    }

    /// d γ (+)= Σ dy·o, in one workgroup.
    pub fn gamma_grad(
        &self,
        gpu: &Gpu,
        dy: &wgpu::Buffer,
        (dgamma, accumulate): (&wgpu::Buffer, bool),
    ) -> Result<Dispatch> {
        self.check("dy", dy)?;
        check_len("scaled residual", "d gamma", dgamma, 1)?;
        let spare = gpu.storage("unused", 1);
        let d = (self.len, 0);
        rows(
            gpu,
            "gamma_grad",
            d,
            dy,
            self.o,
            &spare,
            dgamma,
            accumulate,
            [1, 1, 1],
        )
    }
}

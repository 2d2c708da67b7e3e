//! Upsampling by an integer factor (PyTorch's `Upsample(scale_factor=s)`, modes 'nearest' and
//! 'bilinear' with align_corners=False) and its backward on `shaders/upsample.wgsl`, whose
//! header gives the taps. Tensors are NCHW: input [batch, channels, height, width], output
//! [batch, channels, s·height, s·width].

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{grid_1d, tensor_pass, Dispatch, Pass};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "upsample.wgsl",
    source: include_str!("../../shaders/upsample.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // input
        Access::Read,      // doutput
        Access::ReadWrite, // output
        Access::ReadWrite, // dinput
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;
const OP: &str = "upsample";

/// How an output pixel is made from the input, as PyTorch's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsampleMode {
    /// The input pixel the output pixel falls in.
    Nearest,
    /// The four nearest input pixels weighted by distance, align_corners=False (pixel centres
    /// at half-integers, edges clamped).
    Bilinear,
}

/// input [batch, channels, height, width], grown `scale` times along each axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpsampleShape {
    pub batch: u32,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    pub scale: u32,
}

impl UpsampleShape {
    /// (height, width) of the output.
    pub fn out_size(&self) -> (usize, usize) {
        let s = self.scale as usize;
        (self.height as usize * s, self.width as usize * s)
    }

    /// Elements of input and dinput.
    pub fn input_len(&self) -> usize {
        self.planes() * self.height as usize * self.width as usize
    }

    /// Elements of output and doutput.
    pub fn output_len(&self) -> usize {
        let (h, w) = self.out_size();
        self.planes() * h * w
    }

    fn planes(&self) -> usize {
        self.batch as usize * self.channels as usize
    }

    pub fn check(&self) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.height == 0 || self.width == 0 {
            return Err(shape_error(
                OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        if self.scale == 0 {
            return Err(shape_error(
                OP,
                "the scale factor must be a whole number ≥ 1",
            ));
        }
        // The shader indexes the upsampled tensor with u32.
        if self.output_len() > u32::MAX as usize {
            return Err(shape_error(OP, "more than 2^32 elements once upsampled"));
        }
        Ok(())
    }

    fn params(&self, mode: UpsampleMode, accumulate: bool) -> UpsampleParams {
        UpsampleParams {
            planes: self.planes() as u32,
            height: self.height,
            width: self.width,
            scale: self.scale,
            bilinear: (mode == UpsampleMode::Bilinear) as u32,
            accumulate: accumulate as u32,
            pad: [0; 2],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct UpsampleParams {
    planes: u32,
    height: u32,
    width: u32,
    scale: u32,
    bilinear: u32,
    accumulate: u32,
    pad: [u32; 2],
}

/// output = Upsample(scale_factor = scale, mode)(input).
pub fn forward(
    gpu: &Gpu,
    shape: &UpsampleShape,
    mode: UpsampleMode,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
) -> Result<Dispatch> {
    shape.check()?;
    let (len_in, len_out) = (shape.input_len(), shape.output_len());
    tensor_pass(
        gpu,
        (OP, &SHADER),
        Pass::Forward,
        &shape.params(mode, false),
        (input, len_in),
        (output, len_out),
        grid_1d(len_out, GROUP),
    )
}

/// dinput (+)= the gradient of [`forward`]: each input pixel gathers the outputs that read it,
/// weighted as they read it. `accumulate` adds into dinput, for a tensor with two consumers.
pub fn backward(
    gpu: &Gpu,
    shape: &UpsampleShape,
    mode: UpsampleMode,
    doutput: &wgpu::Buffer,
    dinput: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    shape.check()?;
    let (len_in, len_out) = (shape.input_len(), shape.output_len());
    // Gather, not scatter: WGSL has no f32 atomics. One thread per input pixel.
    tensor_pass(
        gpu,
        (OP, &SHADER),
        Pass::Backward,
        &shape.params(mode, accumulate),
        (doutput, len_out),
        (dinput, len_in),
        grid_1d(len_in, GROUP),
    )
}

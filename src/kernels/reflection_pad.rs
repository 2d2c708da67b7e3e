//! Reflection padding (PyTorch's `ReflectionPad2d(p)`, p on every side) and its backward on
//! `shaders/reflection_pad.wgsl`, whose header gives the index maths. Tensors are NCHW:
//! input [batch, channels, height, width], output [batch, channels, height + 2p, width + 2p].

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{grid_1d, tensor_pass, Dispatch, Pass};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "reflection_pad.wgsl",
    source: include_str!("../../shaders/reflection_pad.wgsl"),
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
const OP: &str = "reflection_pad";

/// input [batch, channels, height, width], padded by `padding` on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReflectionPadShape {
    pub batch: u32,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    pub padding: u32,
}

impl ReflectionPadShape {
    /// (height, width) of the output: each side grown by `padding` twice.
    pub fn out_size(&self) -> (usize, usize) {
        let grow = 2 * self.padding as usize;
        (self.height as usize + grow, self.width as usize + grow)
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
        // A reflection of p pixels mirrors the p pixels next to the edge, which must exist
        // (PyTorch refuses the same).
        if self.padding >= self.height || self.padding >= self.width {
            return Err(shape_error(
                OP,
                format!(
                    "padding {} must be less than the height {} and the width {}",
                    self.padding, self.height, self.width
                ),
            ));
        }
        // The shader indexes the padded tensor with u32.
        if self.output_len() > u32::MAX as usize {
            return Err(shape_error(OP, "more than 2^32 elements once padded"));
        }
        Ok(())
    }

    fn params(&self, accumulate: bool) -> PadParams {
        PadParams {
            planes: self.planes() as u32,
            height: self.height,
            width: self.width,
            padding: self.padding,
            accumulate: accumulate as u32,
            pad: [0; 3],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct PadParams {
    planes: u32,
    height: u32,
    width: u32,
    padding: u32,
    accumulate: u32,
    pad: [u32; 3],
}

/// output = ReflectionPad2d(padding)(input).
pub fn forward(
    gpu: &Gpu,
    shape: &ReflectionPadShape,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
) -> Result<Dispatch> {
    shape.check()?;
    let (len_in, len_out) = (shape.input_len(), shape.output_len());
    tensor_pass(
        gpu,
        (OP, &SHADER),
        Pass::Forward,
        &shape.params(false),
        (input, len_in),
        (output, len_out),
        grid_1d(len_out, GROUP),
    )
}

/// dinput (+)= the gradient of [`forward`]: each input pixel gathers the (up to 3×3) padded
/// pixels that reflect to it. `accumulate` adds into dinput, for a tensor with two consumers.
pub fn backward(
    gpu: &Gpu,
    shape: &ReflectionPadShape,
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
        &shape.params(accumulate),
        (doutput, len_out),
        (dinput, len_in),
        grid_1d(len_in, GROUP),
    )
}

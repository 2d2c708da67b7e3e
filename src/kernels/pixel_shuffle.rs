//! Pixel shuffle (PyTorch's `PixelShuffle(r)`, sub-pixel convolution) and its backward on
//! `shaders/pixel_shuffle.wgsl`: [batch, C·r², height, width] → [batch, C, r·height, r·width],
//! channel c·r² + i·r + j of the input becoming sub-pixel (i, j) of output channel c.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{grid_1d, tensor_pass, Dispatch, Pass};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "pixel_shuffle.wgsl",
    source: include_str!("../../shaders/pixel_shuffle.wgsl"),
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
const OP: &str = "pixel_shuffle";

/// input [batch, in_channels, height, width], in_channels = C·factor².
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelShuffleShape {
    pub batch: u32,
    pub in_channels: u32,
    pub height: u32,
    pub width: u32,
    pub factor: u32,
}

impl PixelShuffleShape {
    /// C = in_channels / factor²: the output's channels.
    pub fn out_channels(&self) -> u32 {
        // In u64: a factor past 2^16 squares past u32 (and is then refused by the checks).
        (self.in_channels as u64 / (self.factor.max(1) as u64).pow(2)) as u32
    }

    /// Elements of every tensor of the op: input and output hold the same values.
    pub fn tensor_len(&self) -> usize {
        self.batch as usize * self.in_channels as usize * self.height as usize * self.width as usize
    }

    pub fn check(&self) -> Result<()> {
        if self.batch == 0 || self.in_channels == 0 || self.height == 0 || self.width == 0 {
            return Err(shape_error(
                OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        let square = (self.factor as u64).pow(2);
        if self.factor == 0 || !(self.in_channels as u64).is_multiple_of(square) {
            return Err(shape_error(
                OP,
                format!(
                    "the input's {} channels must be a positive multiple of the factor {} \
                     squared",
                    self.in_channels, self.factor
                ),
            ));
        }
        // The shader indexes with u32, the output's r·height·r·width per channel included.
        if self.tensor_len() > u32::MAX as usize {
            return Err(shape_error(OP, "more than 2^32 elements"));
        }
        Ok(())
    }

    fn params(&self, accumulate: bool) -> PixelShuffleParams {
        PixelShuffleParams {
            batch: self.batch,
            channels: self.out_channels(),
            height: self.height,
            width: self.width,
            factor: self.factor,
            accumulate: accumulate as u32,
            pad: [0; 2],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct PixelShuffleParams {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    factor: u32,
    accumulate: u32,
    pad: [u32; 2],
}

/// output = PixelShuffle(factor)(input).
pub fn forward(
    gpu: &Gpu,
    shape: &PixelShuffleShape,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
) -> Result<Dispatch> {
    shape.check()?;
    let len = shape.tensor_len();
    tensor_pass(
        gpu,
        (OP, &SHADER),
        Pass::Forward,
        &shape.params(false),
        (input, len),
        (output, len),
        grid_1d(len, GROUP),
    )
}

/// dinput (+)= the gradient of [`forward`], the inverse permutation (PixelUnshuffle) of
/// doutput. `accumulate` adds into dinput, for a tensor with two consumers.
pub fn backward(
    gpu: &Gpu,
    shape: &PixelShuffleShape,
    doutput: &wgpu::Buffer,
    dinput: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    shape.check()?;
    let len = shape.tensor_len();
    tensor_pass(
        gpu,
        (OP, &SHADER),
        Pass::Backward,
        &shape.params(accumulate),
        (doutput, len),
        (dinput, len),
        grid_1d(len, GROUP),
    )
}

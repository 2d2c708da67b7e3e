//! conv2d with stride and padding (PyTorch semantics, or TensorFlow's `same`), weight
//! [out, in, kh, kw]: forward, d input, d weight, d bias.

use crate::error::shape_error;
use crate::gpu::Gpu;
use crate::kernels::conv::{self, Geometry, Mode};
use crate::kernels::{tensor, Dispatch};
use crate::Result;

/// How the input is padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// PyTorch's `padding`: this many zeros on every side.
    Explicit(u32),
    /// TensorFlow's `same`: output = ceil(input / stride); the odd extra row/column of padding
    /// goes to the bottom/right.
    Same,
}

/// input [batch, in_channels, height, width] → output [batch, out_channels, out_h, out_w].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    pub batch: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub height: u32,
    pub width: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub padding: Padding,
}

/// Output size and top/left padding of one dimension.
fn output_and_pad(
    op: &'static str,
    input: u32,
    kernel: u32,
    stride: u32,
    padding: Padding,
) -> Result<(u32, u32)> {
    match padding {
        Padding::Explicit(p) => {
            if input + 2 * p < kernel {
                return Err(shape_error(
                    op,
                    format!("kernel {kernel} is larger than the padded input {input} + 2·{p}"),
                ));
            }
            Ok(((input + 2 * p - kernel) / stride + 1, p))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(input);
            Ok((out, total / 2))
        }
    }
}

impl Conv2dShape {
    const OP: &'static str = "conv2d";

    /// (out_h, out_w, pad_top, pad_left), after checking the shape makes sense.
    pub fn output(&self) -> Result<(u32, u32, u32, u32)> {
        let dims = [
            self.batch,
            self.in_channels,
            self.out_channels,
            self.height,
            self.width,
            self.kernel_h,
            self.kernel_w,
            self.stride,
        ];
        if dims.contains(&0) {
            return Err(shape_error(
                Self::OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        let (oh, pt) = output_and_pad(
            Self::OP,
            self.height,
            self.kernel_h,
            self.stride,
            self.padding,
        )?;
        let (ow, pl) = output_and_pad(
            Self::OP,
            self.width,
            self.kernel_w,
            self.stride,
            self.padding,
        )?;
        Ok((oh, ow, pt, pl))
    }

    pub fn output_len(&self) -> Result<usize> {
        let (oh, ow, _, _) = self.output()?;
        Ok((self.batch * self.out_channels * oh * ow) as usize)
    }

    pub fn weight_len(&self) -> usize {
        (self.out_channels * self.in_channels * self.kernel_h * self.kernel_w) as usize
    }

    pub fn input_len(&self) -> usize {
        (self.batch * self.in_channels * self.height * self.width) as usize
    }

    /// The engine's view: the output is the small image, the input the large one.
    fn geometry(&self, m: u32, channels: u32) -> Result<Geometry> {
        let (oh, ow, pt, pl) = self.output()?;
        Ok(Geometry {
            batch: self.batch,
            m,
            channels,
            small_h: oh,
            small_w: ow,
            large_h: self.height,
            large_w: self.width,
            kernel_h: self.kernel_h,
            kernel_w: self.kernel_w,
            stride: self.stride,
            pad_y: pt,
            pad_x: pl,
        })
    }

    pub fn flops(&self) -> Result<f64> {
        Ok(self
            .geometry(self.out_channels, self.in_channels)?
            .flops(Mode::Gather))
    }

    /// output = conv(input, weight) + bias; with a `slope` (≥ 0), then a ReLU (slope 0) or
    /// leaky ReLU, applied as the result is written.
    pub fn forward(
        &self,
        gpu: &Gpu,
        input: &wgpu::Buffer,
        weight: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        output: &wgpu::Buffer,
        slope: Option<f32>,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.out_channels, self.in_channels)?;
        let store = conv::Store {
            accumulate: false,
            slope,
        };
        let mut d = conv::dispatch(
            gpu,
            "conv2d forward",
            Mode::Gather,
            &g,
            weight,
            input,
            bias,
            output,
            store,
        )?;
        d.label = "conv2d forward";
        Ok(d)
    }

    /// dinput (+)= the transposed convolution of doutput with weight.
    pub fn backward_input(
        &self,
        gpu: &Gpu,
        doutput: &wgpu::Buffer,
        weight: &wgpu::Buffer,
        dinput: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.in_channels, self.out_channels)?;
        let mut d = conv::dispatch(
            gpu,
            "conv2d backward_input",
            Mode::Transposed,
            &g,
            weight,
            doutput,
            None,
            dinput,
            conv::Store::plain(accumulate),
        )?;
        d.label = "conv2d backward_input";
        Ok(d)
    }

    /// dweight (+)= Σ over batch and pixels of doutput ⊗ input patches.
    pub fn backward_weight(
        &self,
        gpu: &Gpu,
        input: &wgpu::Buffer,
        doutput: &wgpu::Buffer,
        dweight: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.out_channels, self.in_channels)?;
        let mut d = conv::dispatch(
            gpu,
            "conv2d backward_weight",
            Mode::Weight,
            &g,
            doutput,
            input,
            None,
            dweight,
            conv::Store::plain(accumulate),
        )?;
        d.label = "conv2d backward_weight";
        Ok(d)
    }

    /// dbias (+)= Σ over batch and pixels of doutput.
    pub fn backward_bias(
        &self,
        gpu: &Gpu,
        doutput: &wgpu::Buffer,
        dbias: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let (oh, ow, _, _) = self.output()?;
        tensor::channel_sum(
            gpu,
            self.batch,
            self.out_channels,
            oh * ow,
            doutput,
            dbias,
            accumulate,
        )
    }
}

//! Transposed conv2d (stride, padding, output padding), weight [in, out, kh, kw] as PyTorch
//! lays it out. Its forward is conv2d's d input and its d input is conv2d's forward, so it runs
//! on the same gathering engine: no scatter, since WGSL has no f32 atomics.

use crate::error::shape_error;
use crate::gpu::Gpu;
use crate::kernels::conv::{self, Geometry, Mode};
use crate::kernels::{tensor, Dispatch};
use crate::Result;

/// input [batch, in_channels, height, width] → output [batch, out_channels, out_h, out_w],
/// out = (in − 1)·stride − 2·padding + kernel + output_padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dShape {
    pub batch: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub height: u32,
    pub width: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub padding: u32,
    pub output_padding: u32,
}

impl ConvTranspose2dShape {
    const OP: &'static str = "conv_transpose2d";

    pub fn output(&self) -> Result<(u32, u32)> {
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
        if self.output_padding >= self.stride {
            return Err(shape_error(
                Self::OP,
                format!(
                    "output_padding {} must be smaller than stride {}",
                    self.output_padding, self.stride
                ),
            ));
        }
        let size = |input: u32, kernel: u32| -> Result<u32> {
            let full = (input - 1) * self.stride + kernel + self.output_padding;
            full.checked_sub(2 * self.padding)
                .filter(|&o| o > 0)
                .ok_or_else(|| {
                    shape_error(
                        Self::OP,
                        format!(
                            "padding {} leaves no output from {input} pixels",
                            self.padding
                        ),
                    )
                })
        };
        Ok((
            size(self.height, self.kernel_h)?,
            size(self.width, self.kernel_w)?,
        ))
    }

    pub fn output_len(&self) -> Result<usize> {
        let (oh, ow) = self.output()?;
        Ok((self.batch * self.out_channels * oh * ow) as usize)
    }

    pub fn weight_len(&self) -> usize {
        (self.in_channels * self.out_channels * self.kernel_h * self.kernel_w) as usize
    }

    pub fn input_len(&self) -> usize {
        (self.batch * self.in_channels * self.height * self.width) as usize
    }

    /// The engine's view: the input is the small image, the output the large one.
    fn geometry(&self, m: u32, channels: u32) -> Result<Geometry> {
        let (oh, ow) = self.output()?;
        Ok(Geometry {
            batch: self.batch,
            m,
            channels,
            small_h: self.height,
            small_w: self.width,
            large_h: oh,
            large_w: ow,
            kernel_h: self.kernel_h,
            kernel_w: self.kernel_w,
            stride: self.stride,
            pad_y: self.padding,
            pad_x: self.padding,
        })
    }

    /// Useful work only: the multiply-adds of the definition, not the zero taps a gather skips.
    pub fn flops(&self) -> Result<f64> {
        Ok(self
            .geometry(self.in_channels, self.out_channels)?
            .flops(Mode::Gather))
    }

    /// output = conv_transpose(input, weight) + bias; with a `slope` (≥ 0), then a ReLU
    /// (slope 0) or leaky ReLU, applied as the result is written.
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
            "conv_transpose2d forward",
            Mode::Transposed,
            &g,
            weight,
            input,
            bias,
            output,
            store,
        )?;
        d.label = "conv_transpose2d forward";
        Ok(d)
    }

    /// dinput (+)= conv(doutput, weight): a strided convolution of the output gradient.
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
            "conv_transpose2d backward_input",
            Mode::Gather,
            &g,
            weight,
            doutput,
            None,
            dinput,
            conv::Store::plain(accumulate),
        )?;
        d.label = "conv_transpose2d backward_input";
        Ok(d)
    }

    /// dweight[i, o, ky, kx] (+)= Σ input[b, i, y, x] · doutput[b, o, y·s − p + ky, x·s − p + kx]
    pub fn backward_weight(
        &self,
        gpu: &Gpu,
        input: &wgpu::Buffer,
        doutput: &wgpu::Buffer,
        dweight: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.in_channels, self.out_channels)?;
        let mut d = conv::dispatch(
            gpu,
            "conv_transpose2d backward_weight",
            Mode::Weight,
            &g,
            input,
            doutput,
            None,
            dweight,
            conv::Store::plain(accumulate),
        )?;
        d.label = "conv_transpose2d backward_weight";
        Ok(d)
    }

    pub fn backward_bias(
        &self,
        gpu: &Gpu,
        doutput: &wgpu::Buffer,
        dbias: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let (oh, ow) = self.output()?;
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

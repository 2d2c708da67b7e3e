//! dense (matmul + bias), weight [out, in] as PyTorch's `nn.Linear`: forward, d input,
//! d weight, d bias. A dense layer is a 1×1 convolution of 1×1 images, so it runs on the
//! convolution engine with all spatial sizes 1.

use crate::error::shape_error;
use crate::gpu::Gpu;
use crate::kernels::conv::{self, Geometry, Mode};
use crate::kernels::{tensor, Dispatch};
use crate::Result;

/// input [batch, in_features] → output [batch, out_features].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseShape {
    pub batch: u32,
    pub in_features: u32,
    pub out_features: u32,
}

impl DenseShape {
    fn geometry(&self, m: u32, channels: u32) -> Result<Geometry> {
        if self.batch == 0 || self.in_features == 0 || self.out_features == 0 {
            return Err(shape_error(
                "dense",
                format!("every size must be positive: {self:?}"),
            ));
        }
        Ok(Geometry {
            batch: self.batch,
            m,
            channels,
            small_h: 1,
            small_w: 1,
            large_h: 1,
            large_w: 1,
            kernel_h: 1,
            kernel_w: 1,
            stride: 1,
            pad_y: 0,
            pad_x: 0,
        })
    }

    pub fn flops(&self) -> f64 {
        2.0 * self.batch as f64 * self.in_features as f64 * self.out_features as f64
    }

    /// output = input · weightᵀ + bias; with a `slope` (≥ 0), then a ReLU (slope 0) or
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
        let g = self.geometry(self.out_features, self.in_features)?;
        let store = conv::Store {
            accumulate: false,
            slope,
        };
        let mut d = conv::dispatch(
            gpu,
            "dense forward",
            Mode::Gather,
            &g,
            weight,
            input,
            bias,
            output,
            store,
        )?;
        d.label = "dense forward";
        Ok(d)
    }

    /// dinput (+)= doutput · weight
    pub fn backward_input(
        &self,
        gpu: &Gpu,
        doutput: &wgpu::Buffer,
        weight: &wgpu::Buffer,
        dinput: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.in_features, self.out_features)?;
        let mut d = conv::dispatch(
            gpu,
            "dense backward_input",
            Mode::Transposed,
            &g,
            weight,
            doutput,
            None,
            dinput,
            conv::Store::plain(accumulate),
        )?;
        d.label = "dense backward_input";
        Ok(d)
    }

    /// dweight (+)= doutputᵀ · input
    pub fn backward_weight(
        &self,
        gpu: &Gpu,
        input: &wgpu::Buffer,
        doutput: &wgpu::Buffer,
        dweight: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        let g = self.geometry(self.out_features, self.in_features)?;
        let mut d = conv::dispatch(
            gpu,
            "dense backward_weight",
            Mode::Weight,
            &g,
            doutput,
            input,
            None,
            dweight,
            conv::Store::plain(accumulate),
        )?;
        d.label = "dense backward_weight";
        Ok(d)
    }

    /// dbias (+)= Σ over the batch of doutput
    pub fn backward_bias(
        &self,
        gpu: &Gpu,
        doutput: &wgpu::Buffer,
        dbias: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch> {
        tensor::channel_sum(
            gpu,
            self.batch,
            self.out_features,
            1,
            doutput,
            dbias,
            accumulate,
        )
    }
}

//! Ops that move pixels without weights: reflection padding (CycleGAN's ResNet generator),
//! upsampling (nearest or bilinear) and pixel shuffle (sub-pixel convolution, SRGAN). Each
//! backward is a gather on the GPU.

use crate::export::onnx::{int_attr, string_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Mode, Op, Reference};
use crate::graph::Shape3;
use crate::kernels::pixel_shuffle::{self, PixelShuffleShape};
use crate::kernels::reflection_pad::{self, ReflectionPadShape};
use crate::kernels::upsample::{self, UpsampleMode, UpsampleShape};
use crate::reference;
use crate::Result;

/// `nn.ReflectionPad2d(p)`: p pixels mirrored on every side (p below the height and width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReflectionPad2d(pub u32);

/// `nn.Upsample(scale_factor=scale, mode=...)`, align_corners=False for bilinear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsample {
    pub scale: u32,
    pub mode: UpsampleMode,
}

/// `nn.PixelShuffle(r)`: [C·r², H, W] → [C, H·r, W·r].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelShuffle(pub u32);

impl ReflectionPad2d {
    fn shape(&self, batch: u32, s: Shape3) -> ReflectionPadShape {
        ReflectionPadShape {
            batch,
            channels: s.c,
            height: s.h,
            width: s.w,
            padding: self.0,
        }
    }
}

impl Upsample {
    fn shape(&self, batch: u32, s: Shape3) -> UpsampleShape {
        UpsampleShape {
            batch,
            channels: s.c,
            height: s.h,
            width: s.w,
            scale: self.scale,
        }
    }
}

impl PixelShuffle {
    fn shape(&self, batch: u32, s: Shape3) -> PixelShuffleShape {
        PixelShuffleShape {
            batch,
            in_channels: s.c,
            height: s.h,
            width: s.w,
            factor: self.0,
        }
    }
}

/// A weightless op's one forward and one input gradient.
fn build(
    ctx: &BuildCtx,
    forward: impl FnOnce(&wgpu::Buffer, &wgpu::Buffer) -> Result<crate::kernels::Dispatch>,
    backward: impl FnOnce(&wgpu::Buffer, &wgpu::Buffer, bool) -> Result<crate::kernels::Dispatch>,
) -> Result<Built> {
    let mut built = Built::default();
    if ctx.forward {
        built.forward.push(forward(ctx.x[0], ctx.y)?);
    }
    if let (Some(dy), Some((dx, accumulate))) = (ctx.dy, ctx.dx[0]) {
        built.backward.push(backward(dy, dx, accumulate)?);
    }
    Ok(built)
}

impl Op for ReflectionPad2d {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let s = inputs[0];
        self.shape(1, s).check().map_err(|e| e.to_string())?;
        Ok(Shape3::new(s.c, s.h + 2 * self.0, s.w + 2 * self.0))
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        reference::reflection_pad::forward(&s, r.x[0])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        (vec![reference::reflection_pad::backward(&s, dy)], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = self.shape(ctx.shapes.batch, ctx.shapes.input());
        build(
            ctx,
            |x, y| reflection_pad::forward(gpu, &s, x, y),
            |dy, dx, acc| reflection_pad::backward(gpu, &s, dy, dx, acc),
        )
    }
    /// ONNX's `reflect` mirrors without repeating the edge, as PyTorch's ReflectionPad2d.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let p = self.0 as i64;
        // [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over N, C, H, W.
        let pads = n.ints("pads", &[0, 0, p, p, 0, 0, p, p]);
        let mode = vec![string_attr("mode", "reflect")];
        n.node("Pad", &[n.input(), &pads], n.output, mode);
        Ok(())
    }
}

impl Op for Upsample {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let s = inputs[0];
        self.shape(1, s).check().map_err(|e| e.to_string())?;
        Ok(Shape3::new(s.c, s.h * self.scale, s.w * self.scale))
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        reference::upsample::forward(&s, self.mode, r.x[0])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        (
            vec![reference::upsample::backward(&s, self.mode, dy)],
            vec![],
        )
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = self.shape(ctx.shapes.batch, ctx.shapes.input());
        build(
            ctx,
            |x, y| upsample::forward(gpu, &s, self.mode, x, y),
            |dy, dx, acc| upsample::backward(gpu, &s, self.mode, dy, dx, acc),
        )
    }
    /// As PyTorch exports nn.Upsample: nearest takes floor(y / scale); bilinear puts pixel
    /// centres at half-integers (align_corners=False).
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let s = self.scale as f32;
        let scales = n.weight("scales", &[4], &[1.0, 1.0, s, s]);
        let attributes = match self.mode {
            UpsampleMode::Nearest => vec![
                string_attr("mode", "nearest"),
                string_attr("coordinate_transformation_mode", "asymmetric"),
                string_attr("nearest_mode", "floor"),
            ],
            UpsampleMode::Bilinear => vec![
                string_attr("mode", "linear"),
                string_attr("coordinate_transformation_mode", "pytorch_half_pixel"),
            ],
        };
        // The empty name: no region of interest.
        n.node("Resize", &[n.input(), "", &scales], n.output, attributes);
        Ok(())
    }
}

impl Op for PixelShuffle {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let s = inputs[0];
        let shape = self.shape(1, s);
        shape.check().map_err(|e| e.to_string())?;
        Ok(Shape3::new(
            shape.out_channels(),
            s.h * self.0,
            s.w * self.0,
        ))
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        reference::pixel_shuffle::forward(&s, r.x[0])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = self.shape(r.shapes.batch, r.shapes.input());
        (vec![reference::pixel_shuffle::backward(&s, dy)], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = self.shape(ctx.shapes.batch, ctx.shapes.input());
        build(
            ctx,
            |x, y| pixel_shuffle::forward(gpu, &s, x, y),
            |dy, dx, acc| pixel_shuffle::backward(gpu, &s, dy, dx, acc),
        )
    }
    /// DepthToSpace's CRD order is PixelShuffle's: channel c·r² + i·r + j goes to (i, j).
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let attributes = vec![
            int_attr("blocksize", self.0 as i64),
            string_attr("mode", "CRD"),
        ];
        n.node("DepthToSpace", &[n.input()], n.output, attributes);
        Ok(())
    }
}

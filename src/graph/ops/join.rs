//! Joins of two or more tensors: channel concatenation (a U-Net's skip) and the elementwise
//! sum (a residual block), on `join.wgsl`.

use crate::export::onnx::{int_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Mode, Op, Reference};
use crate::graph::Shape3;
use crate::kernels::join::{self, Part};
use crate::reference;
use crate::Result;

/// `torch.cat(xs, 1)`: inputs of one height and width, their channels one after another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cat;

/// `x.narrow(1, start, channels)`: a run of channels, the way a split (`torch.split` along
/// channels, InfoGAN's Q codes beside D's logit) takes its parts: one `Narrow` per part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Narrow {
    pub start: u32,
    pub channels: u32,
}

/// `a + b`, of one shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Add;

impl Op for Cat {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let first = inputs[0];
        if let Some(bad) = inputs.iter().find(|s| (s.h, s.w) != (first.h, first.w)) {
            return Err(format!(
                "cannot concatenate {first:?} and {bad:?}: their heights and widths differ"
            ));
        }
        Ok(Shape3::new(
            inputs.iter().map(|s| s.c).sum(),
            first.h,
            first.w,
        ))
    }
    fn arity(&self) -> Option<usize> {
        None
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let parts: Vec<(&[f64], usize)> =
            r.x.iter()
                .zip(r.shapes.inputs)
                .map(|(x, s)| (*x, s.c as usize))
                .collect();
        let pixels = r.shapes.output.pixels() as usize;
        reference::join::concat(&parts, r.shapes.batch as usize, pixels)
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let channels: Vec<usize> = r.shapes.inputs.iter().map(|s| s.c as usize).collect();
        let pixels = r.shapes.output.pixels() as usize;
        let dx = reference::join::concat_backward(dy, &channels, r.shapes.batch as usize, pixels);
        (dx, vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let (batch, pixels) = (ctx.shapes.batch, ctx.shapes.output.pixels());
        let total = ctx.shapes.output.c;
        let mut built = Built::default();
        if ctx.forward {
            let parts: Vec<Part> = ctx
                .x
                .iter()
                .zip(ctx.shapes.inputs)
                .map(|(x, s)| Part {
                    buffer: x,
                    channels: s.c,
                    accumulate: false,
                })
                .collect();
            built
                .forward
                .extend(join::concat(gpu, batch, pixels, &parts, ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            // Each needed input gradient takes its channels of dy; the others are skipped.
            let mut offset = 0;
            for (dx, s) in ctx.dx.iter().zip(ctx.shapes.inputs) {
                if let Some((dx, accumulate)) = dx {
                    built.backward.push(join::copy_channels(
                        gpu,
                        batch,
                        pixels,
                        s.c,
                        (dy, total, offset),
                        (dx, s.c, 0),
                        *accumulate,
                    )?);
                }
                offset += s.c;
            }
        }
        Ok(built)
    }
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let inputs: Vec<&str> = n.inputs.iter().map(String::as_str).collect();
        n.node("Concat", &inputs, n.output, vec![int_attr("axis", 1)]);
        Ok(())
    }
}

impl Op for Add {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        if inputs[0] != inputs[1] {
            return Err(format!(
                "cannot add {:?} and {:?}: their shapes differ",
                inputs[0], inputs[1]
            ));
        }
        Ok(inputs[0])
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        reference::join::add(r.x[0], r.x[1])
    }
    fn reference_backward(&self, _: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        (reference::join::add_backward(dy).to_vec(), vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let len = ctx.shapes.output_len();
        let mut built = Built::default();
        if ctx.forward {
            built
                .forward
                .push(join::add(gpu, len, ctx.x[0], ctx.x[1], ctx.y, false)?);
        }
        if let Some(dy) = ctx.dy {
            for (dx, accumulate) in ctx.dx.iter().flatten() {
                built
                    .backward
                    .push(super::copy(gpu, len, dy, dx, *accumulate)?);
            }
        }
        Ok(built)
    }
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        n.node("Add", &[&n.inputs[0], &n.inputs[1]], n.output, vec![]);
        Ok(())
    }
}

impl Op for Narrow {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let x = inputs[0];
        let end = self.start as u64 + self.channels as u64;
        if self.channels == 0 || end > x.c as u64 {
            return Err(format!(
                "cannot take channels {}..{end} of {x:?}: a narrow takes at least one channel, within the input's {}",
                self.start, x.c
            ));
        }
        Ok(Shape3::new(self.channels, x.h, x.w))
    }
    fn arity(&self) -> Option<usize> {
        Some(1)
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = r.shapes;
        reference::join::narrow(
            r.x[0],
            s.inputs[0].c as usize,
            self.start as usize,
            self.channels as usize,
            s.batch as usize,
            s.output.pixels() as usize,
        )
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = r.shapes;
        let dx = reference::join::narrow_backward(
            dy,
            s.inputs[0].c as usize,
            self.start as usize,
            self.channels as usize,
            s.batch as usize,
            s.output.pixels() as usize,
        );
        (vec![dx], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let (batch, pixels) = (ctx.shapes.batch, ctx.shapes.output.pixels());
        let total = ctx.shapes.inputs[0].c;
        let mut built = Built::default();
        if ctx.forward {
            built.forward.push(join::copy_channels(
                gpu,
                batch,
                pixels,
                self.channels,
                (ctx.x[0], total, self.start),
                (ctx.y, self.channels, 0),
                false,
            )?);
        }
        if let (Some(dy), Some(Some((dx, accumulate)))) = (ctx.dy, ctx.dx.first()) {
            // Written, the other channels' gradient is zero; added, they gain nothing.
            if !*accumulate {
                let len = (batch * total * pixels) as usize;
                built
                    .backward
                    .push(crate::kernels::tensor::fill(gpu, dx, len, 0.0)?);
            }
            built.backward.push(join::copy_channels(
                gpu,
                batch,
                pixels,
                self.channels,
                (dy, self.channels, 0),
                (dx, total, self.start),
                *accumulate,
            )?);
        }
        Ok(built)
    }
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let (start, end) = (self.start as i64, (self.start + self.channels) as i64);
        let starts = n.ints("starts", &[start]);
        let ends = n.ints("ends", &[end]);
        let axes = n.ints("axes", &[1]);
        n.node(
            "Slice",
            &[n.input(), &starts, &ends, &axes],
            n.output,
            vec![],
        );
        Ok(())
    }
}

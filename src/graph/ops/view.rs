//! Views: the same values seen with another shape. No forward pass; the gradient is shared
//! with the input's unless the input has other readers, when it is added in.

use crate::export::onnx::OnnxNode;
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Fusion, Mode, Op, Reference};
use crate::graph::Shape3;
use crate::Result;

/// PyTorch's `Unflatten` or `Flatten`: [C, H, W] seen as `to`, with as many values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reshape(pub Shape3);

impl Op for Reshape {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (from, to) = (inputs[0], self.0);
        if from.len() != to.len() {
            return Err(format!(
                "cannot view {from:?} ({} values) as {to:?}",
                from.len()
            ));
        }
        Ok(to)
    }
    fn fusion(&self) -> Fusion {
        Fusion::View
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        r.x[0].to_vec()
    }
    fn reference_backward(&self, _: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        (vec![dy.to_vec()], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let mut built = Built::default();
        if let (Some(dy), Some((dx, accumulate))) = (ctx.dy, ctx.dx[0]) {
            let len = ctx.shapes.output_len();
            built
                .backward
                .push(super::copy(gpu, len, dy, dx, accumulate)?);
        }
        Ok(built)
    }
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        n.reshape_to_output(n.input());
        Ok(())
    }
}

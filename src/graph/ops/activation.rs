//! Elementwise activations. After a batch norm, or after a dense or conv layer, a ReLU or leaky
//! ReLU is done by that op (see `Fusion`); the plan then leaves this one without a forward pass
//! (and, after batch norm, without a backward one).

use crate::export::onnx::{float_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Fusion, Mode, Op, Reference, TangentCtx};
use crate::graph::Shape3;
use crate::kernels::activation::{self, Activation};
use crate::reference;
use crate::Result;

impl Op for Activation {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        Ok(inputs[0])
    }
    fn fusion(&self) -> Fusion {
        Fusion::Activation(*self)
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        reference::activation::forward(*self, r.x[0])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        (
            vec![reference::activation::backward(*self, r.x[0], dy)],
            vec![],
        )
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let len = ctx.shapes.output_len();
        let mut built = Built::default();
        if ctx.forward {
            built
                .forward
                .push(activation::forward(gpu, *self, ctx.x[0], ctx.y, len)?);
        }
        if let (Some(dy), Some((dx, accumulate))) = (ctx.dy, ctx.dx[0]) {
            built.backward.push(activation::backward(
                gpu, *self, ctx.x[0], dy, dx, len, accumulate,
            )?);
        }
        Ok(built)
    }
    /// (Leaky) ReLU's Jacobian is a diagonal mask fixed by its input: J·u = Jᵀ·u, its backward
    /// of u.
    fn build_tangent(
        &self,
        gpu: &Gpu,
        ctx: &TangentCtx,
    ) -> Result<std::result::Result<Built, String>> {
        if !matches!(self, Activation::Relu | Activation::LeakyRelu(_)) {
            return Ok(Err(
                "its derivative depends on its input (only (leaky) ReLU's does not)".into(),
            ));
        }
        let len = ctx.shapes.output_len();
        let mask = activation::backward(gpu, *self, ctx.x[0], ctx.u, ctx.u_out, len, false)?;
        Ok(Ok(Built {
            forward: vec![mask],
            backward: vec![],
        }))
    }
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let (op_type, attributes) = match *self {
            Activation::Relu => ("Relu", vec![]),
            Activation::LeakyRelu(slope) => ("LeakyRelu", vec![float_attr("alpha", slope)]),
            // ONNX's defaults are these constants rounded to f32; say them anyway.
            Activation::Selu => (
                "Selu",
                vec![
                    float_attr("alpha", Activation::SELU_ALPHA as f32),
                    float_attr("gamma", Activation::SELU_SCALE as f32),
                ],
            ),
            Activation::Tanh => ("Tanh", vec![]),
            Activation::Sigmoid => ("Sigmoid", vec![]),
        };
        n.node(op_type, &[n.input()], n.output, attributes);
        Ok(())
    }
}

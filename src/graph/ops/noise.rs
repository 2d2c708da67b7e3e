//! Dropout (`nn.Dropout(p)`): in train mode each element is kept with probability 1 − p and
//! scaled by 1 / (1 − p), the mask drawn on the GPU from the step's counter with a stream of
//! the layer's own; in eval mode it passes its input on, unless `at_test` keeps it random (the
//! pix2pix generator's noise, as its reference samples without `--eval`).

use crate::export::onnx::OnnxNode;
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Mode, Op, Reference};
use crate::graph::Shape3;
use crate::kernels::dropout::{Dropout as DropoutKernel, DropoutBuffers, DropoutDraw};
use crate::reference;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    pub p: f32,
    pub at_test: bool,
}

impl Dropout {
    fn active(&self, mode: Mode) -> bool {
        mode.train || self.at_test
    }
}

impl Op for Dropout {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        if !(0.0..1.0).contains(&self.p) {
            return Err(format!(
                "dropout's probability must lie in [0, 1), not {}",
                self.p
            ));
        }
        Ok(inputs[0])
    }

    fn random(&self) -> bool {
        true
    }

    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, mode: Mode) -> Vec<f64> {
        match (self.active(mode), r.rng) {
            (true, Some((seed, stream, step))) => {
                let mask =
                    reference::dropout::mask(seed, stream, step, r.x[0].len(), self.p as f64);
                reference::dropout::forward(r.x[0], &mask, self.p as f64)
            }
            (true, None) => panic!("a dropout layer's reference needs the step's random draw"),
            (false, _) => r.x[0].to_vec(),
        }
    }

    /// The backward of a train-mode forward: the same mask.
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let (seed, stream, step) = r
            .rng
            .expect("a dropout layer's reference needs the step's random draw");
        let mask = reference::dropout::mask(seed, stream, step, dy.len(), self.p as f64);
        (
            vec![reference::dropout::backward(dy, &mask, self.p as f64)],
            vec![],
        )
    }

    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let len = ctx.shapes.output_len();
        let mut built = Built::default();
        if !self.active(ctx.mode) {
            // Eval: the input as it is, both ways.
            let copy = |from, to, accumulate| super::copy(gpu, len, from, to, accumulate);
            if ctx.forward {
                built.forward.push(copy(ctx.x[0], ctx.y, false)?);
            }
            if let (Some(dy), Some((dx, accumulate))) = (ctx.dy, ctx.dx[0]) {
                built.backward.push(copy(dy, dx, accumulate)?);
            }
            return Ok(built);
        }
        let rng = ctx.rng.as_ref().ok_or_else(|| {
            Error::Invalid(
                "a dropout layer in train mode needs the step's random counter: give the pass one"
                    .into(),
            )
        })?;
        let scratch = |what: &str| gpu.storage(what, len);
        let mask = scratch("dropout mask");
        let (doutput, (dinput, accumulate)) = match (ctx.dy, ctx.dx[0]) {
            (Some(dy), Some((dx, acc))) => (dy.clone(), (dx.clone(), acc)),
            (Some(dy), None) => (dy.clone(), (scratch("d input (unused)"), false)),
            _ => (
                scratch("d output (unused)"),
                (scratch("d input (unused)"), false),
            ),
        };
        let kernel = DropoutKernel::new(
            gpu,
            len,
            self.p,
            DropoutDraw {
                seed: rng.seed,
                stream: rng.stream,
                counter: rng.counters,
                counter_index: rng.index,
            },
            &DropoutBuffers {
                input: ctx.x[0],
                output: ctx.y,
                mask: &mask,
                doutput: &doutput,
                dinput: &dinput,
            },
            accumulate,
        )?;
        if ctx.forward {
            built.forward.extend(kernel.forward().map(Clone::clone));
        }
        if ctx.dy.is_some() {
            built.backward.extend(kernel.backward().map(Clone::clone));
        }
        Ok(built)
    }

    /// Eval mode passes the input on, as `webgan translate` runs it.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        if self.at_test {
            return Err(
                "its dropout draws noise at test time, which no ONNX runtime repeats".into(),
            );
        }
        n.node("Identity", &[n.input()], n.output, vec![]);
        Ok(())
    }
}

//! Normalisations: batch norm (`nn.BatchNorm2d`, PyTorch's eps 1e-5 and momentum 0.1) and
//! instance norm (`nn.InstanceNorm2d`, eps 1e-5), each with the ReLU or leaky ReLU after it done
//! in its own passes when the plan fuses them.

use crate::export::onnx::{float_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Fusion, Mode, Op, Reference};
use crate::graph::program::ParamGrads;
use crate::graph::{Init, ParamSpec, Shape3};
use crate::kernels::batch_norm::{
    self, BatchNorm, BatchNormBuffers, BatchNormOptions, BatchNormShape,
};
use crate::kernels::instance_norm::{
    InstanceNorm, InstanceNormAffine, InstanceNormBuffers, InstanceNormOptions, InstanceNormShape,
};
use crate::reference;
use crate::Result;

const EPS: f64 = 1e-5;
const MOMENTUM: f64 = 0.1;

/// `nn.BatchNorm2d(c)`: with `affine` (PyTorch's default) γ and β packed as one [2, C] tensor;
/// without (`affine=False`, what a conditional batch norm normalises with before its
/// per-class γ and β), none, γ 1 and β 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNorm2d {
    pub affine: bool,
}

impl BatchNorm2d {
    pub const AFFINE: BatchNorm2d = BatchNorm2d { affine: true };
    pub const PLAIN: BatchNorm2d = BatchNorm2d { affine: false };

    /// (γ, β) of the reference: the learned ones, or 1 and 0.
    fn reference_affine(&self, r: &Reference) -> (Vec<f64>, Vec<f64>) {
        let c = r.shapes.input().c as usize;
        match self.affine {
            true => (r.params[0][..c].to_vec(), r.params[0][c..].to_vec()),
            false => (vec![1.0; c], vec![0.0; c]),
        }
    }
}

fn shape(batch: u32, input: Shape3) -> BatchNormShape {
    BatchNormShape {
        batch,
        channels: input.c,
        pixels: input.pixels(),
    }
}

impl Op for BatchNorm2d {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        Ok(inputs[0])
    }

    /// γ and β packed as one [2, C] tensor named for the node, when affine.
    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        if !self.affine {
            return vec![];
        }
        vec![ParamSpec {
            name: String::new(),
            shape: vec![2, inputs[0].c as usize],
            init: Init::BatchNorm,
        }]
    }

    fn running(&self, inputs: &[Shape3]) -> Option<Vec<f32>> {
        Some(batch_norm::initial_running(inputs[0].c))
    }

    fn fusion(&self) -> Fusion {
        Fusion::Norm
    }

    fn reference_forward(
        &self,
        r: &Reference,
        running: Option<&mut Vec<f64>>,
        mode: Mode,
    ) -> Vec<f64> {
        let s = shape(r.shapes.batch, r.shapes.input());
        let c = s.channels as usize;
        let (gamma, beta) = self.reference_affine(r);
        let (gamma, beta) = (gamma.as_slice(), beta.as_slice());
        let running = running.expect("batch norm keeps running statistics");
        let x = r.x[0];
        if mode.train {
            if mode.update_running {
                let (mean, var) = reference::batch_norm::statistics(&s, x);
                reference::batch_norm::update_running(&s, &mean, &var, MOMENTUM, running);
            }
            reference::batch_norm::forward_train(&s, x, gamma, beta, EPS)
        } else {
            let (rm, rv) = running.split_at(c);
            reference::batch_norm::forward_eval(&s, x, gamma, beta, rm, &rv[..c], EPS)
        }
    }

    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = shape(r.shapes.batch, r.shapes.input());
        let (gamma, _) = self.reference_affine(r);
        let (dx, dgamma, dbeta) = reference::batch_norm::backward(&s, r.x[0], &gamma, dy, EPS);
        let dparams = match self.affine {
            true => vec![[dgamma, dbeta].concat()],
            false => vec![],
        };
        (vec![dx], dparams)
    }

    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let input = ctx.shapes.input();
        let s = shape(ctx.shapes.batch, input);
        let len = s.tensor_len();
        let scratch = |what: &str, n: usize| gpu.storage(what, n);
        let kept = ctx.running.expect("batch norm keeps running statistics");
        // Eval reads the kept statistics; only a train pass that must not move them (G's step
        // through a frozen D) writes its update somewhere else.
        let running = if ctx.mode.train && !ctx.mode.update_running {
            scratch("running (not kept)", batch_norm::running_len(input.c))
        } else {
            kept.clone()
        };
        let (doutput, (dinput, accumulate_input)) = match (ctx.dy, ctx.dx[0]) {
            (Some(dy), Some((dx, acc))) => (dy.clone(), (dx.clone(), acc)),
            (Some(dy), None) => (dy.clone(), (scratch("d input (unused)", len), false)),
            _ => (
                scratch("d output (unused)", len),
                (scratch("d input (unused)", len), false),
            ),
        };
        let c = input.c as usize;
        let daffine = if ctx.param_grads == ParamGrads::Skip || !self.affine {
            scratch("d affine (unused)", 2 * c)
        } else {
            ctx.params[0].grad.clone()
        };
        // Without affine: γ 1 and β 0 from a constant the kernel reads as it reads learned ones.
        let affine = match self.affine {
            true => ctx.params[0].value.clone(),
            false => {
                let ones_zeros: Vec<f32> = (0..2 * c).map(|i| (i < c) as u8 as f32).collect();
                gpu.storage_from("γ 1, β 0", &ones_zeros)
            }
        };
        let bn = BatchNorm::new(
            gpu,
            s,
            BatchNormOptions {
                accumulate_params: ctx.param_grads == ParamGrads::Accumulate,
                accumulate_input,
                activation: ctx.epilogue,
                ..Default::default()
            },
            &BatchNormBuffers {
                input: ctx.x[0],
                output: ctx.y,
                affine: &affine,
                running: &running,
                saved: &scratch("batch statistics", s.saved_len()),
                doutput: &doutput,
                dinput: &dinput,
                daffine: &daffine,
            },
        )?;
        let (train, eval, backward) = bn.into_dispatches();
        Ok(Built {
            forward: match (ctx.forward, ctx.mode.train) {
                (false, _) => vec![],
                (true, true) => train,
                (true, false) => eval,
            },
            backward: if ctx.dy.is_some() { backward } else { vec![] },
        })
    }

    /// Eval mode, as `webgan sample` and `translate` run it: the running statistics.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let c = n.input_shapes[0].c as usize;
        let weights = n.weights;
        let plain: Vec<f32> = (0..2 * c).map(|i| (i < c) as u8 as f32).collect();
        let affine = match self.affine {
            true => weights.params.first().filter(|p| p.len() == 2 * c),
            false => Some(&plain),
        };
        let running = weights.running.as_ref().filter(|r| r.len() >= 2 * c);
        let (Some(affine), Some(running)) = (affine, running) else {
            return Err(format!(
                "batch norm over {c} channels needs γ, β and running statistics of {c} each"
            ));
        };
        let operands = [
            n.weight("weight", &[c], &affine[..c]),
            n.weight("bias", &[c], &affine[c..]),
            n.weight("running_mean", &[c], &running[..c]),
            n.weight("running_var", &[c], &running[c..2 * c]),
        ];
        let x = n.input();
        let [scale, bias, mean, var] = operands.each_ref().map(String::as_str);
        let epsilon = vec![float_attr("epsilon", EPS as f32)];
        n.node(
            "BatchNormalization",
            &[x, scale, bias, mean, var],
            n.output,
            epsilon,
        );
        Ok(())
    }
}

/// `nn.InstanceNorm2d` without running statistics (PyTorch's and CycleGAN's default): each
/// sample's channel normalised over its own pixels, in training and sampling alike. With
/// `affine`, γ and β packed as batch norm's are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceNorm2d {
    pub affine: bool,
}

fn instance_shape(batch: u32, input: Shape3) -> InstanceNormShape {
    InstanceNormShape {
        batch,
        channels: input.c,
        pixels: input.pixels(),
    }
}

impl InstanceNorm2d {
    /// (γ, β) of the reference: the learned ones, or 1 and 0.
    fn affine(&self, r: &Reference) -> (Vec<f64>, Vec<f64>) {
        let c = r.shapes.input().c as usize;
        match r.params.first() {
            Some(p) => (p[..c].to_vec(), p[c..].to_vec()),
            None => (vec![1.0; c], vec![0.0; c]),
        }
    }
}

impl Op for InstanceNorm2d {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        instance_shape(1, inputs[0])
            .check()
            .map_err(|e| e.to_string())?;
        Ok(inputs[0])
    }

    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        if !self.affine {
            return vec![];
        }
        vec![ParamSpec {
            name: String::new(),
            shape: vec![2, inputs[0].c as usize],
            init: Init::BatchNorm,
        }]
    }

    /// The ReLU or leaky ReLU after it is done in its passes, as batch norm's.
    fn fusion(&self) -> Fusion {
        Fusion::Norm
    }

    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = instance_shape(r.shapes.batch, r.shapes.input());
        let (gamma, beta) = self.affine(r);
        reference::instance_norm::forward(&s, r.x[0], &gamma, &beta, EPS)
    }

    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = instance_shape(r.shapes.batch, r.shapes.input());
        let (gamma, _) = self.affine(r);
        let (dx, dgamma, dbeta) = reference::instance_norm::backward(&s, r.x[0], &gamma, dy, EPS);
        let dparams = if self.affine {
            vec![[dgamma, dbeta].concat()]
        } else {
            vec![]
        };
        (vec![dx], dparams)
    }

    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = instance_shape(ctx.shapes.batch, ctx.shapes.input());
        let len = s.tensor_len();
        let scratch = |what: &str, n: usize| gpu.storage(what, n);
        let (doutput, (dinput, accumulate_input)) = match (ctx.dy, ctx.dx[0]) {
            (Some(dy), Some((dx, acc))) => (dy.clone(), (dx.clone(), acc)),
            (Some(dy), None) => (dy.clone(), (scratch("d input (unused)", len), false)),
            _ => (
                scratch("d output (unused)", len),
                (scratch("d input (unused)", len), false),
            ),
        };
        let daffine = match (ctx.params.first(), ctx.param_grads) {
            (Some(_), ParamGrads::Skip) => Some(scratch("d affine (unused)", s.affine_len())),
            (Some(p), _) => Some(p.grad.clone()),
            (None, _) => None,
        };
        let affine = ctx
            .params
            .first()
            .zip(daffine.as_ref())
            .map(|(p, daffine)| InstanceNormAffine {
                affine: &p.value,
                daffine,
            });
        let norm = InstanceNorm::new(
            gpu,
            s,
            InstanceNormOptions {
                accumulate_input,
                accumulate_params: ctx.param_grads == ParamGrads::Accumulate,
                activation: ctx.epilogue,
                ..Default::default()
            },
            &InstanceNormBuffers {
                input: ctx.x[0],
                output: ctx.y,
                saved: &scratch("instance statistics", s.saved_len()),
                doutput: &doutput,
                dinput: &dinput,
                affine,
            },
        )?;
        Ok(Built {
            forward: if ctx.forward {
                norm.forward().map(Clone::clone).to_vec()
            } else {
                vec![]
            },
            backward: if ctx.dy.is_some() {
                norm.backward().map(Clone::clone).to_vec()
            } else {
                vec![]
            },
        })
    }
    /// ONNX's InstanceNormalization always takes γ and β: ones and zeros without `affine`.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let c = n.input_shapes[0].c as usize;
        let (gamma, beta) = match n.weights.params.first() {
            Some(p) if self.affine && p.len() == 2 * c => (p[..c].to_vec(), p[c..].to_vec()),
            None if !self.affine => (vec![1.0; c], vec![0.0; c]),
            _ => return Err(format!("instance norm's γ and β must be {c} values each")),
        };
        let scale = n.weight("weight", &[c], &gamma);
        let bias = n.weight("bias", &[c], &beta);
        let epsilon = vec![float_attr("epsilon", EPS as f32)];
        n.node(
            "InstanceNormalization",
            &[n.input(), &scale, &bias],
            n.output,
            epsilon,
        );
        Ok(())
    }
}

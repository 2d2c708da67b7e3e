//! Class conditioning in SAGAN's paper form (after Miyato & Koyama's projection discriminator
//! and de Vries et al.'s conditional batch norm), from three ops on per-sample channel vectors:
//! a class embedding (`nn.Embedding` on the one-hot planes the recipes append), the modulation
//! γ·x + β a conditional batch norm applies after normalising, and the projection
//! ⟨embed(y), Σ_pixels φ(x)⟩ a projection discriminator adds to its logit.

use crate::export::onnx::{int_attr, ints_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Mode, Op, Reference};
use crate::graph::ops::spectral::{self, Normalised};
use crate::graph::program::ParamGrads;
use crate::graph::{Init, ParamSpec, Shape3};
use crate::kernels::modulate::{self, ModulateShape};
use crate::kernels::spectral_norm::{self, SpectralLayout};
use crate::reference::modulate as reference;
use crate::Result;

/// `nn.Embedding(classes, dim)` looked up by the one-hot planes [classes, h, w] it reads (the
/// mean over each plane: the one-hot itself, wherever the planes are constant, as the recipes
/// make them), giving [dim, 1, 1]. Its weight is [classes, dim], a row per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Embedding {
    pub dim: u32,
    /// Wrapped in `torch.nn.utils.spectral_norm` (dim 0: u over the classes, v over `dim`).
    pub spectral_norm: bool,
    /// Rows start as a conditional batch norm's [γ; β] (γ 1, β 0); else N(0, 0.02).
    pub norm_init: bool,
}

impl Embedding {
    fn shape(&self, batch: u32, input: Shape3) -> ModulateShape {
        modulate::embedding(batch, input.c, input.pixels(), self.dim)
    }
    /// The matrix spectral norm normalises, when it is on.
    pub fn spectral(&self, input: Shape3) -> Option<SpectralLayout> {
        let l = SpectralLayout::dim0(input.c as usize, self.dim as usize);
        self.spectral_norm.then_some(l)
    }
}

impl Op for Embedding {
    fn output(&self, _inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        if self.dim == 0 {
            return Err("an embedding needs vectors of at least one value".into());
        }
        Ok(Shape3::new(self.dim, 1, 1))
    }
    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        let spectral = self.spectral(inputs[0]);
        let init = match self.norm_init {
            true => Init::ConditionalNorm,
            false => Init::Normal {
                mean: 0.0,
                std: 0.02,
            },
        };
        let mut v = vec![ParamSpec {
            name: if spectral.is_some() {
                "weight_orig"
            } else {
                "weight"
            }
            .into(),
            shape: vec![inputs[0].c as usize, self.dim as usize],
            init,
        }];
        if let Some(l) = spectral {
            v.extend(spectral::state_specs(l));
        }
        v
    }
    fn flops(&self, batch: u32, inputs: &[Shape3], _output: Shape3) -> f64 {
        2.0 * batch as f64 * inputs[0].c as f64 * self.dim as f64
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, mode: Mode) -> Vec<f64> {
        let input = r.shapes.input();
        let w = spectral::reference_weight(r, self.spectral(input), mode.train);
        reference::embed_forward(&self.shape(r.shapes.batch, input), r.x[0], &w.w)
    }
    fn reference_state(&self, r: &Reference, mode: Mode) -> Vec<(usize, Vec<f64>)> {
        spectral::reference_state(r, self.spectral(r.shapes.input()), mode.train)
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let input = r.shapes.input();
        let spectral = self.spectral(input);
        let w = spectral::reference_weight(r, spectral, true);
        let s = self.shape(r.shapes.batch, input);
        let (dx, mut dw) = reference::embed_backward(&s, r.x[0], &w.w, dy);
        if let Some((l, sigma, u, v)) = &w.spectral {
            dw = crate::reference::spectral_norm::backward(*l, &w.w, *sigma, u, v, &dw);
        }
        let mut dparams = vec![dw];
        if let Some(l) = spectral {
            dparams.push(vec![0.0; l.rows]);
            dparams.push(vec![0.0; l.cols]);
        }
        (vec![dx], dparams)
    }
    /// The planes pooled, then their product with W (W / σ under spectral norm, made first);
    /// backward: W's gradient (through σ) and the planes'.
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let input = ctx.shapes.input();
        let s = self.shape(ctx.shapes.batch, input);
        let w = &ctx.params[0];
        let normalised = self
            .spectral(input)
            .map(|layout| Normalised::new(gpu, layout, ctx.params));
        let weight = normalised.as_ref().map_or(&w.value, |sn| &sn.weight_sn);
        let pooled = gpu.storage("pooled planes", s.vector_len());
        let mut built = Built::default();
        // The backward needs the pooled planes and W / σ too.
        if ctx.forward || ctx.dy.is_some() {
            if let Some(sn) = &normalised {
                let b = sn.buffers(&w.value);
                built
                    .forward
                    .push(spectral_norm::forward(gpu, sn.layout, &b, ctx.mode.train)?);
            }
            built
                .forward
                .push(modulate::pool(gpu, &s, ctx.x[0], &pooled)?);
        }
        if ctx.forward {
            built
                .forward
                .push(modulate::embed_forward(gpu, &s, &pooled, weight, ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            if ctx.param_grads != ParamGrads::Skip {
                let accumulate = ctx.param_grads == ParamGrads::Accumulate;
                let grad = |dw: &wgpu::Buffer, acc| {
                    modulate::embed_weight_grad(gpu, &s, &pooled, dy, dw, acc)
                };
                built.backward.push(match &normalised {
                    None => grad(&w.grad, accumulate)?,
                    Some(sn) => {
                        sn.backward_through(gpu, &w.value, &w.grad, accumulate, |d| grad(d, false))?
                    }
                });
            }
            if let Some((dx, accumulate)) = ctx.dx[0] {
                built.backward.push(modulate::embed_input_grad(
                    gpu, &s, weight, dy, dx, accumulate,
                )?);
            }
        }
        Ok(built)
    }
    /// The planes' means (ReduceMean), then MatMul by W (spectral norm folded in, as
    /// `webgan sample` uses it in eval mode).
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let input = n.input_shapes[0];
        let specs = self.params(n.input_shapes);
        let names = spectral::onnx_parameters(n, &specs, self.spectral(input))?;
        let pooled = n.temp("pooled");
        let attributes = vec![ints_attr("axes", &[2, 3]), int_attr("keepdims", 0)];
        n.node("ReduceMean", &[n.input()], &pooled, attributes);
        let product = n.temp("embedded");
        n.node("MatMul", &[&pooled, &names[0]], &product, vec![]);
        n.reshape_to_output(&product);
        Ok(())
    }
}

/// y = γ·x + β per sample and channel: x [C, h, w] and s = [γ; β] as [2C, 1, 1] (a conditional
/// batch norm's class embedding), the two inputs in that order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modulate;

fn modulate_shape(batch: u32, x: Shape3) -> ModulateShape {
    ModulateShape {
        batch,
        channels: x.c,
        pixels: x.pixels(),
        width: 0,
    }
}

impl Op for Modulate {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (x, s) = (inputs[0], inputs[1]);
        if s != Shape3::new(2 * x.c, 1, 1) {
            return Err(format!(
                "modulating {x:?} takes [γ; β] of {} values per sample, not {s:?}",
                2 * x.c
            ));
        }
        Ok(x)
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = modulate_shape(r.shapes.batch, r.shapes.input());
        reference::modulate_forward(&s, r.x[0], r.x[1])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = modulate_shape(r.shapes.batch, r.shapes.input());
        let (dx, ds) = reference::modulate_backward(&s, r.x[0], r.x[1], dy);
        (vec![dx, ds], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = modulate_shape(ctx.shapes.batch, ctx.shapes.input());
        let (x, scale) = (ctx.x[0], ctx.x[1]);
        let mut built = Built::default();
        if ctx.forward {
            built
                .forward
                .push(modulate::modulate_forward(gpu, &s, x, scale, ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            if let Some((dx, acc)) = ctx.dx[0] {
                built
                    .backward
                    .push(modulate::modulate_input_grad(gpu, &s, dy, scale, dx, acc)?);
            }
            if let Some((ds, acc)) = ctx.dx[1] {
                built
                    .backward
                    .push(modulate::modulate_scale_grad(gpu, &s, dy, x, ds, acc)?);
            }
        }
        Ok(built)
    }
    /// γ and β sliced out of s, then x·γ + β (broadcast over the pixels).
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let c = n.input_shapes[0].c as i64;
        let axes = n.ints("axes", &[1]);
        let half = |n: &mut OnnxNode, what: &str, start: i64| {
            let starts = n.ints(&format!("{what}_start"), &[start]);
            let ends = n.ints(&format!("{what}_end"), &[start + c]);
            let out = n.temp(what);
            let s = n.inputs[1].clone();
            n.node("Slice", &[&s, &starts, &ends, &axes], &out, vec![]);
            out
        };
        let gamma = half(n, "gamma", 0);
        let beta = half(n, "beta", c);
        let scaled = n.temp("scaled");
        n.node("Mul", &[n.input(), &gamma], &scaled, vec![]);
        n.node("Add", &[&scaled, &beta], n.output, vec![]);
        Ok(())
    }
}

/// A projection discriminator's term: ⟨e, Σ_pixels h⟩ per sample, h [C, h, w] the features
/// and e [C, 1, 1] the class embedding, in that order; [1, 1, 1] out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Project;

impl Op for Project {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (h, e) = (inputs[0], inputs[1]);
        if e != Shape3::new(h.c, 1, 1) {
            return Err(format!(
                "projecting {h:?} takes a vector of {} values per sample, not {e:?}",
                h.c
            ));
        }
        Ok(Shape3::new(1, 1, 1))
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn flops(&self, batch: u32, inputs: &[Shape3], _output: Shape3) -> f64 {
        batch as f64 * inputs[0].len() as f64 + 2.0 * batch as f64 * inputs[0].c as f64
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let s = modulate_shape(r.shapes.batch, r.shapes.input());
        reference::project_forward(&s, r.x[0], r.x[1])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let s = modulate_shape(r.shapes.batch, r.shapes.input());
        let (dh, de) = reference::project_backward(&s, r.x[0], r.x[1], dy);
        (vec![dh, de], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let s = modulate_shape(ctx.shapes.batch, ctx.shapes.input());
        let (h, e) = (ctx.x[0], ctx.x[1]);
        let mut built = Built::default();
        if ctx.forward {
            built
                .forward
                .push(modulate::project_forward(gpu, &s, h, e, ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            if let Some((dh, acc)) = ctx.dx[0] {
                built
                    .backward
                    .push(modulate::project_map_grad(gpu, &s, dy, e, dh, acc)?);
            }
            if let Some((de, acc)) = ctx.dx[1] {
                built
                    .backward
                    .push(modulate::project_vector_grad(gpu, &s, dy, h, de, acc)?);
            }
        }
        Ok(built)
    }
}

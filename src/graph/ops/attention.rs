//! SAGAN's self-attention block (Zhang et al. 2019; `Self_Attn` in the PyTorch port
//! heykeetae/Self-Attention-GAN) as three small ops after three 1×1 convolutions, composed by
//! [`self_attention`]: the map (softmax of qᵀk), its application to v, and the residual scaled
//! by the learned γ. Small ops rather than one: the convolutions are the graph's own `Conv2d`
//! nodes (their names, initialisation, kernels and tests come with them), the map is a tensor
//! the plan allocates and frees like any other, and each op's backward stays a few products.

use crate::export::onnx::{int_attr, ints_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::build::Builder;
use crate::graph::op::{BuildCtx, Built, Mode, Op, Reference};
use crate::graph::ops::{copy, Conv2d};
use crate::graph::program::ParamGrads;
use crate::graph::{node_error, Init, Layer, ParamSpec, Shape3, TensorId};
use crate::kernels::attention::{self, MatmulShape, Operand, Residual};
use crate::reference::attention as reference;
use crate::Result;

/// attn = softmax_j(qᵀk) over the n = h·w positions, from q and k [c', h, w]: a map
/// [n, h, w] per image, each position i's row (a "channel") its weights over the positions j.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttentionMap;

/// o = v·attnᵀ, from v [c, h, w] and attn [n, h, w]: each position the attention-weighted sum
/// of v over all positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttentionApply;

/// y = γ·o + x, from o and x of one shape, with γ a learned scalar initialised to 0 (so that a
/// new block starts as the identity), named for the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScaledResidual;

/// SAGAN's block on x [c, h, w] as PyTorch's `Self_Attn` names it: `{name}.query_conv`,
/// `{name}.key_conv` (c → c/8, 1×1), `{name}.value_conv` (c → c, 1×1), `{name}.gamma`.
pub fn self_attention(b: &mut Builder, name: &str, x: TensorId) -> Result<TensorId> {
    let c = b.shape(x).c;
    if c < 8 {
        return Err(node_error(
            name,
            format!("self-attention needs at least 8 channels (queries get c/8), not {c}"),
        ));
    }
    let conv = |out_channels| {
        Layer::Conv(Conv2d {
            out_channels,
            kernel: 1,
            stride: 1,
            padding: 0,
            bias: true,
            spectral_norm: false,
        })
    };
    let q = b.add(&format!("{name}.query_conv"), conv(c / 8), &[x])?;
    let k = b.add(&format!("{name}.key_conv"), conv(c / 8), &[x])?;
    let v = b.add(&format!("{name}.value_conv"), conv(c), &[x])?;
    let attn = b.add(
        &format!("{name}.map"),
        Layer::AttentionMap(AttentionMap),
        &[q, k],
    )?;
    let o = b.add(
        &format!("{name}.apply"),
        Layer::AttentionApply(AttentionApply),
        &[v, attn],
    )?;
    b.add(name, Layer::ScaledResidual(ScaledResidual), &[o, x])
}

/// The map's floats for a batch against what one binding holds: refused in a sentence, before
/// any buffer is made.
fn check_map(batch: u32, s: Shape3, binding_floats: usize) -> std::result::Result<(), String> {
    let n = s.pixels() as u64;
    let floats = batch as u64 * n * n;
    if floats > binding_floats as u64 {
        let mib = |f: u64| (f * 4) >> 20;
        let per_image = (binding_floats as u64 / (n * n)).max(1);
        return Err(format!(
            "self-attention over {}×{} positions at batch {batch} needs a {} MiB attention map, \
             more than the {} MiB this GPU binds at once: use a batch of at most {per_image} or \
             attend at a smaller resolution",
            s.h,
            s.w,
            mib(floats),
            mib(binding_floats as u64)
        ));
    }
    Ok(())
}

/// (batch, c', n) of the map's inputs.
fn sizes(batch: u32, q: Shape3) -> (u32, u32, u32) {
    (batch, q.c, q.pixels())
}

impl Op for AttentionMap {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (q, k) = (inputs[0], inputs[1]);
        if q != k {
            return Err(format!("queries {q:?} and keys {k:?} differ in shape"));
        }
        let n = q.pixels() as u64;
        if n * n > u32::MAX as u64 {
            return Err(format!("a map of {n}² positions is past 2^32 elements"));
        }
        Ok(Shape3::new(q.pixels(), q.h, q.w))
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn check_batch(
        &self,
        batch: u32,
        inputs: &[Shape3],
        binding_floats: usize,
    ) -> std::result::Result<(), String> {
        check_map(batch, inputs[0], binding_floats)
    }
    fn flops(&self, batch: u32, inputs: &[Shape3], output: Shape3) -> f64 {
        2.0 * batch as f64 * output.len() as f64 * inputs[0].c as f64
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let (b, qk, n) = sizes(r.shapes.batch, r.shapes.input());
        reference::map_forward(r.x[0], r.x[1], b as usize, qk as usize, n as usize)
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let (b, qk, n) = sizes(r.shapes.batch, r.shapes.input());
        let (b, qk, n) = (b as usize, qk as usize, n as usize);
        let attn = reference::map_forward(r.x[0], r.x[1], b, qk, n);
        let (dq, dk) = reference::map_backward(r.x[0], r.x[1], &attn, dy, b, qk, n);
        (vec![dq, dk], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let (batch, qk, n) = sizes(ctx.shapes.batch, ctx.shapes.input());
        check_map(batch, ctx.shapes.input(), gpu.binding_floats())
            .map_err(crate::Error::Invalid)?;
        let (q, k) = (ctx.x[0], ctx.x[1]);
        let plain = |buffer| Operand {
            buffer,
            transposed: false,
        };
        let transposed = |buffer| Operand {
            buffer,
            transposed: true,
        };
        let mut built = Built::default();
        if ctx.forward {
            let energy = MatmulShape {
                batch,
                m: n,
                n,
                k: qk,
            };
            built.forward.push(attention::matmul(
                gpu,
                energy,
                transposed(q),
                plain(k),
                ctx.y,
                false,
            )?);
            built
                .forward
                .push(attention::softmax_forward(gpu, batch * n, n, ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            // In place: d attn has no reader but this node's backward, which turns it into
            // d energy before both products read it.
            built
                .backward
                .push(attention::softmax_backward(gpu, batch * n, n, ctx.y, dy)?);
            let back = MatmulShape {
                batch,
                m: qk,
                n,
                k: n,
            };
            if let Some((dq, acc)) = ctx.dx[0] {
                // dq = k·deᵀ
                let d = attention::matmul(gpu, back, plain(k), transposed(dy), dq, acc)?;
                built.backward.push(d);
            }
            if let Some((dk, acc)) = ctx.dx[1] {
                // dk = q·de
                let d = attention::matmul(gpu, back, plain(q), plain(dy), dk, acc)?;
                built.backward.push(d);
            }
        }
        Ok(built)
    }
    /// q and k as [batch, c', n], then softmax over the last axis of qᵀ·k: [batch, n (i), n (j)],
    /// seen as the map [batch, n, h, w].
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let (inputs, q_shape) = (n.inputs, n.input_shapes[0]);
        let (q, k) = (inputs[0].as_str(), inputs[1].as_str());
        let rows = flat(n, "flat", q_shape);
        let (q_rows, k_rows) = (n.temp("q"), n.temp("k"));
        n.node("Reshape", &[q, &rows], &q_rows, vec![]);
        n.node("Reshape", &[k, &rows], &k_rows, vec![]);
        let q_t = n.temp("q_t");
        n.node("Transpose", &[&q_rows], &q_t, vec![swap_last_two()]);
        let energy = n.temp("energy");
        n.node("MatMul", &[&q_t, &k_rows], &energy, vec![]);
        let attn = n.temp("softmax");
        n.node("Softmax", &[&energy], &attn, vec![int_attr("axis", -1)]);
        n.reshape_to_output(&attn);
        Ok(())
    }
}

/// A 1-D shape that views [batch, c, h, w] as [batch, c, h·w], the batch copied (0) so that it
/// stays free; its name.
fn flat(n: &mut OnnxNode, suffix: &str, s: Shape3) -> String {
    n.ints(suffix, &[0, s.c as i64, s.pixels() as i64])
}

/// `Transpose`'s perm from [batch, a, b] to [batch, b, a].
fn swap_last_two() -> crate::export::onnx::proto::AttributeProto {
    ints_attr("perm", &[0, 2, 1])
}

impl Op for AttentionApply {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (v, attn) = (inputs[0], inputs[1]);
        let want = Shape3::new(v.pixels(), v.h, v.w);
        if attn != want {
            return Err(format!(
                "values {v:?} need an attention map {want:?}, not {attn:?}"
            ));
        }
        Ok(v)
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn flops(&self, batch: u32, inputs: &[Shape3], output: Shape3) -> f64 {
        2.0 * batch as f64 * output.len() as f64 * inputs[0].pixels() as f64
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        let (b, c, n) = sizes(r.shapes.batch, r.shapes.input());
        reference::apply_forward(r.x[0], r.x[1], b as usize, c as usize, n as usize)
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let (b, c, n) = sizes(r.shapes.batch, r.shapes.input());
        let (b, c, n) = (b as usize, c as usize, n as usize);
        let (dv, dattn) = reference::apply_backward(r.x[0], r.x[1], dy, b, c, n);
        (vec![dv, dattn], vec![])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let (batch, c, n) = sizes(ctx.shapes.batch, ctx.shapes.input());
        let (v, attn) = (ctx.x[0], ctx.x[1]);
        let op = |buffer, transposed| Operand { buffer, transposed };
        let mut built = Built::default();
        if ctx.forward {
            // o = v·attnᵀ
            let s = MatmulShape {
                batch,
                m: c,
                n,
                k: n,
            };
            let d = attention::matmul(gpu, s, op(v, false), op(attn, true), ctx.y, false)?;
            built.forward.push(d);
        }
        if let Some(dy) = ctx.dy {
            if let Some((dv, acc)) = ctx.dx[0] {
                // dv = do·attn
                let s = MatmulShape {
                    batch,
                    m: c,
                    n,
                    k: n,
                };
                let d = attention::matmul(gpu, s, op(dy, false), op(attn, false), dv, acc)?;
                built.backward.push(d);
            }
            if let Some((dattn, acc)) = ctx.dx[1] {
                // d attn = doᵀ·v
                let s = MatmulShape {
                    batch,
                    m: n,
                    n,
                    k: c,
                };
                let d = attention::matmul(gpu, s, op(dy, true), op(v, false), dattn, acc)?;
                built.backward.push(d);
            }
        }
        Ok(built)
    }
    /// v as [batch, c, n] times the map as [batch, n (i), n (j)] transposed: [batch, c, n (i)].
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let (inputs, shapes) = (n.inputs, n.input_shapes);
        let (v, attn) = (inputs[0].as_str(), inputs[1].as_str());
        let v_shape = flat(n, "v_shape", shapes[0]);
        let map_shape = flat(n, "map_shape", shapes[1]);
        let (v_rows, map) = (n.temp("v"), n.temp("map"));
        n.node("Reshape", &[v, &v_shape], &v_rows, vec![]);
        n.node("Reshape", &[attn, &map_shape], &map, vec![]);
        let map_t = n.temp("map_t");
        n.node("Transpose", &[&map], &map_t, vec![swap_last_two()]);
        let o = n.temp("matmul");
        n.node("MatMul", &[&v_rows, &map_t], &o, vec![]);
        n.reshape_to_output(&o);
        Ok(())
    }
}

impl Op for ScaledResidual {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        if inputs[0] != inputs[1] {
            return Err(format!(
                "cannot add {:?} to {:?}: their shapes differ",
                inputs[0], inputs[1]
            ));
        }
        Ok(inputs[0])
    }
    fn arity(&self) -> Option<usize> {
        Some(2)
    }
    fn params(&self, _inputs: &[Shape3]) -> Vec<ParamSpec> {
        vec![ParamSpec {
            name: "gamma".into(),
            shape: vec![1],
            init: Init::Zero,
        }]
    }
    fn reference_forward(&self, r: &Reference, _: Option<&mut Vec<f64>>, _: Mode) -> Vec<f64> {
        reference::residual_forward(r.params[0][0], r.x[0], r.x[1])
    }
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let (d_o, dx, dgamma) = reference::residual_backward(r.params[0][0], r.x[0], dy);
        (vec![d_o, dx], vec![vec![dgamma]])
    }
    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
        let len = ctx.shapes.output_len();
        let len32 = u32::try_from(len).map_err(|_| {
            crate::Error::Invalid(format!("a tensor of {len} elements is past 2^32 − 1"))
        })?;
        let gamma = &ctx.params[0];
        let r = Residual {
            len: len32,
            gamma: &gamma.value,
            o: ctx.x[0],
        };
        let mut built = Built::default();
        if ctx.forward {
            built.forward.push(r.forward(gpu, ctx.x[1], ctx.y)?);
        }
        if let Some(dy) = ctx.dy {
            if ctx.param_grads != ParamGrads::Skip {
                let acc = ctx.param_grads == ParamGrads::Accumulate;
                built
                    .backward
                    .push(r.gamma_grad(gpu, dy, (&gamma.grad, acc))?);
            }
            if let Some(d_o) = ctx.dx[0] {
                built.backward.push(r.backward(gpu, dy, d_o)?);
            }
            if let Some((dx, acc)) = ctx.dx[1] {
                built.backward.push(copy(gpu, len, dy, dx, acc)?);
            }
        }
        Ok(built)
    }
    /// γ as a one-element initializer `{node}.gamma`, broadcast by `Mul`.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let inputs = n.inputs;
        let (o, x) = (inputs[0].as_str(), inputs[1].as_str());
        let gamma = n.parameters(&self.params(n.input_shapes))?;
        let scaled = n.temp("scaled");
        n.node("Mul", &[o, &gamma[0]], &scaled, vec![]);
        n.node("Add", &[&scaled, x], n.output, vec![]);
        Ok(())
    }
}

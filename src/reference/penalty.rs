//! Gradient penalties on a critic's input gradient, in f64: WGAN-GP's (Gulrajani et al. 2017)
//! λ·E[(‖∇ₓD(x̂)‖ − 1)²] and R1's (Mescheder et al. 2018) γ/2·E[‖∇ₓD(x)‖²], with their exact
//! gradients with respect to D's parameters — the specification the GPU's penalty pass is
//! held to.
//!
//! The gradient of a penalty goes through D's backward pass (a "double backward"). For the
//! ops a penalised critic is made of here, the backward is linear in d output with a Jacobian
//! that depends on the input only through a fixed mask (leaky ReLU's slopes) or not at all
//! (convolutions, dense layers, spectral norm's W/σ, views). Differentiating the backward
//! g = J₁ᵀ·…·J_Lᵀ·1 then takes one more pass *forward*: the penalty's gradient u = ∂P/∂g goes
//! through each node's Jacobian (a convolution without its bias, the mask), and each weight's
//! gradient is its layer's weight gradient with the tangent u as input and the backward's
//! d output as d output. Biases do not enter g and get none. Batch norm (whose statistics make
//! the Jacobian depend on the whole batch) and the other ops are refused in a sentence, as the
//! paper's critic has no batch norm.

use crate::graph::op::{Mode, Reference, Shapes};
use crate::graph::{Layer, TensorId};
use crate::kernels::activation::Activation;
use crate::reference::graph::CpuNet;

/// Which penalty, with its weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Penalty {
    /// λ·mean over the batch of (‖∇ₓD(x)‖ − 1)², on interpolates of real and fake images.
    Gp { lambda: f64 },
    /// γ/2·mean over the batch of ‖∇ₓD(x)‖², on real images.
    R1 { gamma: f64 },
}

impl Penalty {
    /// (value, d value / d ‖g‖) for one sample's input gradient norm `norm`, over a batch of
    /// `batch`.
    fn term(self, norm: f64, batch: f64) -> (f64, f64) {
        match self {
            Penalty::Gp { lambda } => (
                lambda * (norm - 1.0).powi(2) / batch,
                2.0 * lambda * (norm - 1.0) / batch,
            ),
            Penalty::R1 { gamma } => (0.5 * gamma * norm * norm / batch, gamma * norm / batch),
        }
    }
}

/// A penalty's value on a batch and its gradient with respect to D's parameters.
#[derive(Clone, Debug)]
pub struct PenaltyGrads {
    pub value: f64,
    /// ‖∇ₓD(x_b)‖ of each sample.
    pub norms: Vec<f64>,
    /// Per node, per parameter (as `CpuNet::params`): zero for biases and spectral norm's u, v.
    pub params: Vec<Vec<Vec<f64>>>,
}

/// How a node's Jacobian depends on its input.
enum Tangent {
    /// Linear in its input: J·u is the forward of u less the forward of 0 (its bias).
    Linear,
    /// Diagonal, a mask fixed by the input: J·u = Jᵀ·u is its backward of u.
    Mask,
    /// The same numbers seen with another shape.
    View,
}

fn tangent(layer: &Layer) -> Option<Tangent> {
    match layer {
        Layer::Dense(_) | Layer::Conv(_) | Layer::ConvTranspose(_) => Some(Tangent::Linear),
        Layer::Activation(Activation::Relu | Activation::LeakyRelu(_)) => Some(Tangent::Mask),
        Layer::Reshape(_) => Some(Tangent::View),
        _ => None,
    }
}

/// Refuses, in a sentence, a critic the penalty's exact gradient is not built for.
pub fn check_critic(net: &CpuNet) -> Result<(), String> {
    let g = &net.arch;
    if g.inputs.len() != 1 || g.outputs.len() != 1 || g.output().len() != 1 {
        return Err("a penalised critic takes one image and gives one score".into());
    }
    for node in &g.nodes {
        if tangent(&node.layer).is_none() {
            return Err(format!(
                "the gradient penalty is built for critics of convolutions, dense layers, \
                 (leaky) ReLUs and reshapes, and {} is not one (the paper's critic has no \
                 batch norm)",
                node.name
            ));
        }
    }
    Ok(())
}

/// A node's CPU view with `x` as its inputs.
fn at<'a>(shapes: Shapes<'a>, x: Vec<&'a [f64]>, params: &'a [Vec<f64>]) -> Reference<'a> {
    Reference {
        shapes,
        x,
        params,
        rng: None,
    }
}

/// `penalty` on D at `x` ([batch, D's input]) in a train pass, which moves spectral norm's u
/// and v in `net` as the GPU's pass does, with its gradient for every parameter.
pub fn penalty(
    net: &mut CpuNet,
    x: &[f64],
    batch: u32,
    penalty: Penalty,
) -> Result<PenaltyGrads, String> {
    check_critic(net)?;
    let acts = net.forward_all(&[x], batch, true, false);
    let net = &*net;
    let ones = vec![1.0; batch as usize];
    let (grads, _) = net.backward_every(&acts, &[&ones], batch);
    let g = &grads[0];
    let per_sample = g.len() / batch as usize;

    // u = ∂P/∂g, sample by sample.
    let mut value = 0.0;
    let mut norms = Vec::with_capacity(batch as usize);
    let mut u = vec![0.0; g.len()];
    for (gb, ub) in g.chunks(per_sample).zip(u.chunks_mut(per_sample)) {
        let norm = gb.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (term, slope) = penalty.term(norm, batch as f64);
        value += term;
        norms.push(norm);
        if norm > 0.0 {
            for (o, &v) in ub.iter_mut().zip(gb) {
                *o = slope * v / norm;
            }
        }
    }

    // The forward pass of u through each node's Jacobian, and the weights' gradients.
    let arch = &net.arch;
    let train = Mode {
        train: true,
        update_running: false,
    };
    let mut tangents: Vec<Vec<f64>> = vec![u];
    let mut params = Vec::with_capacity(arch.nodes.len());
    for (n, node) in arch.nodes.iter().enumerate() {
        let shapes = arch.input_shapes(n);
        let y = arch.output_of(n);
        let node_params = acts.params_read[n].as_ref().unwrap_or(&net.params[n]);
        let shapes = Shapes {
            batch,
            inputs: &shapes,
            output: arch.shape(y),
        };
        let at = |x| at(shapes, x, node_params);
        let input: TensorId = node.inputs[0];
        let tin = &tangents[input.0];
        let op = node.layer.op();
        let mut dparams: Vec<Vec<f64>> = node_params.iter().map(|p| vec![0.0; p.len()]).collect();
        let tout = match tangent(&node.layer).expect("checked above") {
            Tangent::Linear => {
                let zero = vec![0.0; tin.len()];
                let with = op.reference_forward(&at(vec![tin]), None, train);
                let without = op.reference_forward(&at(vec![&zero]), None, train);
                // d⟨v, J·u⟩/dW: the layer's weight gradient at input u, d output v.
                let (_, dp) = op.reference_backward(&at(vec![tin]), &grads[y.0]);
                let specs = arch.params_of(n);
                for ((d, spec), got) in dparams.iter_mut().zip(&specs).zip(dp) {
                    if spec.trained() && !spec.name.ends_with("bias") {
                        *d = got;
                    }
                }
                with.iter().zip(&without).map(|(a, b)| a - b).collect()
            }
            Tangent::Mask => {
                let x: Vec<&[f64]> = node
                    .inputs
                    .iter()
                    .map(|t| acts.values[t.0].as_slice())
                    .collect();
                op.reference_backward(&at(x), tin).0.swap_remove(0)
            }
            Tangent::View => tin.clone(),
        };
        tangents.push(tout);
        params.push(dparams);
    }
    Ok(PenaltyGrads {
        value,
        norms,
        params,
    })
}

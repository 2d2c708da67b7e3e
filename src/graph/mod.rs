//! A network as a small DAG: graph inputs, then nodes in the order they were added (a node only
//! reads tensors made before it), each with any number of inputs and one output. A tensor read by
//! two nodes gets the sum of their gradients. What each node does is its [`Layer`]; how the graph
//! becomes GPU buffers and dispatches is [`plan`] (pure arithmetic) and [`program`] (building).

pub mod build;
pub mod op;
pub mod ops;
pub mod penalty;
pub mod plan;
pub mod program;

pub use build::Builder;
pub use op::{Layer, Op};

use crate::error::shape_error;
use crate::Result;

/// A tensor's shape without the batch: channels × height × width (a vector is c × 1 × 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape3 {
    pub c: u32,
    pub h: u32,
    pub w: u32,
}

impl Shape3 {
    pub const fn new(c: u32, h: u32, w: u32) -> Shape3 {
        Shape3 { c, h, w }
    }
    pub fn len(&self) -> usize {
        (self.c * self.h * self.w) as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn pixels(&self) -> u32 {
        self.h * self.w
    }
}

/// A learnable tensor of a node, named as in PyTorch's `state_dict()`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// DCGAN's initialisation (`weights_init`): conv and dense weights N(0, 0.02); batch-norm γ
/// N(1, 0.02), β 0; biases 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Normal {
        mean: f32,
        std: f32,
    },
    Zero,
    /// Batch norm's packed [γ; β].
    BatchNorm,
    /// A conditional batch norm's class embedding [classes, 2C]: each row [γ; β] with γ 1 and
    /// β 0, as the conditional batch norms of SAGAN's PyTorch ports start them.
    ConditionalNorm,
    /// N(0, 1) scaled to unit length: spectral norm's `weight_u` and `weight_v`, as PyTorch
    /// starts them. Such a tensor is state the power iteration moves, not a parameter: no
    /// optimizer steps it (see [`ParamSpec::trained`]).
    UnitNormal,
}

impl ParamSpec {
    /// Whether an optimizer steps it (false for spectral norm's u and v, which PyTorch keeps
    /// as buffers; they are saved and restored with the parameters all the same).
    pub fn trained(&self) -> bool {
        self.init != Init::UnitNormal
    }
}

/// A node's values on the CPU (for export): its parameters in [`Graph::params_of`] order,
/// batch norm's γ and β packed, and its running statistics [mean; var] when it keeps some.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeWeights {
    pub params: Vec<Vec<f32>>,
    pub running: Option<Vec<f32>>,
}

/// A tensor of a graph: its inputs come first, then one per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TensorId(pub usize);

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The module's path, PyTorch's prefix of its parameters (`main.3`).
    pub name: String,
    pub layer: Layer,
    pub inputs: Vec<TensorId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub inputs: Vec<Shape3>,
    pub nodes: Vec<Node>,
    /// The shape of every tensor: the inputs', then each node's output.
    pub shapes: Vec<Shape3>,
    pub outputs: Vec<TensorId>,
}

impl Graph {
    /// A chain of layers on one input, named as PyTorch's `nn.Sequential` names them
    /// (`{prefix}.{index}`), every layer taking an index whether it has parameters or not.
    pub fn sequential(prefix: &str, input: Shape3, layers: Vec<Layer>) -> Result<Graph> {
        let mut b = Builder::new();
        let mut x = b.input(input);
        for (i, layer) in layers.into_iter().enumerate() {
            x = b.add(&format!("{prefix}.{i}"), layer, &[x])?;
        }
        b.finish(&[x])
    }

    /// The tensor node `i` writes.
    pub fn output_of(&self, node: usize) -> TensorId {
        TensorId(self.inputs.len() + node)
    }

    /// The node that writes `t`, or None for a graph input.
    pub fn producer(&self, t: TensorId) -> Option<usize> {
        t.0.checked_sub(self.inputs.len())
    }

    /// Every (node, input slot) that reads `t`, in node order.
    pub fn consumers(&self, t: TensorId) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            for (slot, &x) in node.inputs.iter().enumerate() {
                if x == t {
                    out.push((n, slot));
                }
            }
        }
        out
    }

    pub fn shape(&self, t: TensorId) -> Shape3 {
        self.shapes[t.0]
    }

    /// The first input's shape (most networks have one).
    pub fn input(&self) -> Shape3 {
        self.inputs[0]
    }

    /// The first output's shape.
    pub fn output(&self) -> Shape3 {
        self.shape(self.outputs[0])
    }

    /// The shapes node `i` reads.
    pub fn input_shapes(&self, node: usize) -> Vec<Shape3> {
        self.nodes[node]
            .inputs
            .iter()
            .map(|&t| self.shape(t))
            .collect()
    }

    /// The learnable tensors of node `i`, in state_dict order, with their full names. Batch
    /// norm's γ and β travel together as one packed tensor named for the node (see
    /// `train::checkpoint` for the split).
    pub fn params_of(&self, node: usize) -> Vec<ParamSpec> {
        let n = &self.nodes[node];
        n.layer
            .op()
            .params(&self.input_shapes(node))
            .into_iter()
            .map(|p| ParamSpec {
                name: if p.name.is_empty() {
                    n.name.clone()
                } else {
                    format!("{}.{}", n.name, p.name)
                },
                ..p
            })
            .collect()
    }

    /// Per node, the RNG stream of a random op (the k-th dropout layer draws from
    /// `streams::dropout(k)`), so that no two layers drop alike; None for the others.
    pub fn random_streams(&self) -> Result<Vec<Option<u32>>> {
        let mut k = 0;
        self.nodes
            .iter()
            .map(|node| {
                if !node.layer.op().random() {
                    return Ok(None);
                }
                if k >= crate::streams::MAX_DROPOUT_LAYERS {
                    return Err(node_error(
                        &node.name,
                        format!(
                            "a network may hold at most {} dropout layers",
                            crate::streams::MAX_DROPOUT_LAYERS
                        ),
                    ));
                }
                k += 1;
                Ok(Some(crate::streams::dropout(k - 1)))
            })
            .collect()
    }

    /// Refuses `batch` where a node's tensors would pass a binding of `binding_floats`, naming
    /// the node: before any buffer exists, since wgpu would fail inside, unexplained.
    pub fn check_batch(&self, batch: u32, binding_floats: usize) -> Result<()> {
        for (n, node) in self.nodes.iter().enumerate() {
            node.layer
                .op()
                .check_batch(batch, &self.input_shapes(n), binding_floats)
                .map_err(|e| node_error(&node.name, e))?;
        }
        Ok(())
    }

    /// Whether a sample's outputs depend on that sample alone, whatever the batch around it,
    /// so that several uses of the network can run stacked in one batch and give what each
    /// would alone. Batch norm (statistics over the batch), random ops (their draws depend on
    /// a sample's place in the batch) and spectral norm (a power iteration on every forward
    /// pass, so stacking would change how many a step makes) break that.
    pub fn samples_independent(&self) -> bool {
        self.inputs.len() == 1
            && (0..self.nodes.len()).all(|n| {
                let layer = &self.nodes[n].layer;
                !matches!(layer, Layer::BatchNorm(_))
                    && !layer.op().random()
                    && self.params_of(n).iter().all(|p| p.trained())
            })
    }

    /// Multiply-adds × 2 of one forward pass over `batch` inputs.
    pub fn forward_flops(&self, batch: u32) -> f64 {
        (0..self.nodes.len())
            .map(|i| {
                let inputs = self.input_shapes(i);
                let output = self.shape(self.output_of(i));
                self.nodes[i].layer.op().flops(batch, &inputs, output)
            })
            .sum()
    }
}

/// A shape error naming the node.
pub(crate) fn node_error(node: &str, message: impl std::fmt::Display) -> crate::Error {
    shape_error("model", format!("{node}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::ops::{BatchNorm2d, Conv2d, Dropout, InstanceNorm2d};
    use super::*;
    use crate::kernels::activation::Activation;

    fn conv(spectral_norm: bool) -> Layer {
        Layer::Conv(Conv2d {
            out_channels: 4,
            kernel: 3,
            stride: 1,
            padding: 1,
            bias: true,
            spectral_norm,
        })
    }

    fn net(layers: Vec<Layer>) -> Graph {
        Graph::sequential("model", Shape3::new(3, 8, 8), layers).expect("graph")
    }

    #[test]
    fn only_networks_without_batch_coupling_take_stacked_uses() {
        let relu = Layer::Activation(Activation::Relu);
        let instance = Layer::InstanceNorm(InstanceNorm2d { affine: false });
        assert!(net(vec![conv(false), instance, relu]).samples_independent());
        let batch = Layer::BatchNorm(BatchNorm2d { affine: true });
        assert!(!net(vec![conv(false), batch, relu]).samples_independent());
        let dropout = Layer::Dropout(Dropout {
            p: 0.5,
            at_test: false,
        });
        assert!(!net(vec![conv(false), dropout]).samples_independent());
        assert!(!net(vec![conv(true), relu]).samples_independent());
    }
}

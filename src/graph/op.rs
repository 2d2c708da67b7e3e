//! What a node does. Each kind of op is one type implementing [`Op`], in `ops/`: its output
//! shape, its parameters with PyTorch's names, its CPU reference (forward and backward, in f64)
//! and the builder of its GPU dispatches. [`Layer`] is the registry: adding an op is one variant
//! here and one file in `ops/` (with its shader, kernel module, reference and test).

use crate::export::onnx::OnnxNode;
use crate::gpu::Gpu;
use crate::graph::ops::{
    Add, AttentionApply, AttentionMap, BatchNorm2d, Cat, Conv2d, ConvTranspose2d, Dense, Dropout,
    Embedding, InstanceNorm2d, Modulate, Narrow, PixelShuffle, Project, ReflectionPad2d, Reshape,
    ScaledResidual, Upsample,
};
use crate::graph::program::{Param, ParamGrads};
use crate::graph::{ParamSpec, Shape3};
use crate::kernels::activation::Activation;
use crate::kernels::Dispatch;
use crate::Result;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    Dense(Dense),
    Conv(Conv2d),
    ConvTranspose(ConvTranspose2d),
    BatchNorm(BatchNorm2d),
    Activation(Activation),
    /// A view of the same data with another shape (PyTorch's `Unflatten` or `Flatten`).
    Reshape(Reshape),
    /// `torch.cat(xs, 1)`: a U-Net's skip.
    Cat(Cat),
    /// `a + b`: a residual block.
    Add(Add),
    Narrow(Narrow),
    InstanceNorm(InstanceNorm2d),
    ReflectionPad(ReflectionPad2d),
    Upsample(Upsample),
    PixelShuffle(PixelShuffle),
    Dropout(Dropout),
    /// SAGAN's attention map, softmax(qᵀk).
    AttentionMap(AttentionMap),
    /// v·attnᵀ.
    AttentionApply(AttentionApply),
    /// γ·o + x, γ learned.
    ScaledResidual(ScaledResidual),
    /// `nn.Embedding` looked up by one-hot class planes.
    Embedding(Embedding),
    /// γ·x + β per sample: a conditional batch norm's class-chosen affine.
    Modulate(Modulate),
    /// ⟨e, Σ_pixels h⟩: a projection discriminator's class term.
    Project(Project),
}

impl Layer {
    pub fn op(&self) -> &dyn Op {
        match self {
            Layer::Dense(op) => op,
            Layer::Conv(op) => op,
            Layer::ConvTranspose(op) => op,
            Layer::BatchNorm(op) => op,
            Layer::Activation(op) => op,
            Layer::Reshape(op) => op,
            Layer::Cat(op) => op,
            Layer::Add(op) => op,
            Layer::Narrow(op) => op,
            Layer::InstanceNorm(op) => op,
            Layer::ReflectionPad(op) => op,
            Layer::Upsample(op) => op,
            Layer::PixelShuffle(op) => op,
            Layer::Dropout(op) => op,
            Layer::AttentionMap(op) => op,
            Layer::AttentionApply(op) => op,
            Layer::ScaledResidual(op) => op,
            Layer::Embedding(op) => op,
            Layer::Modulate(op) => op,
            Layer::Project(op) => op,
        }
    }
}

/// Batch norm's mode: batch statistics (train) or running ones (eval), and whether a train
/// pass moves the running ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    pub train: bool,
    pub update_running: bool,
}

/// How an op may share work with its neighbours; the plan decides where it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fusion {
    None,
    /// Its output is its input seen with another shape (no dispatch; gradients shared when
    /// the input has no other reader).
    View,
    /// Dense or convolution: may write its output already rectified by a following ReLU or
    /// leaky ReLU, whose forward pass then goes (its backward stays, reading r(y) for y: same
    /// sign, slope ≥ 0).
    Linear,
    /// Batch norm: may apply a following ReLU or leaky ReLU in its own passes, both ways.
    Norm,
    /// An elementwise activation, which one of the two above may absorb.
    Activation(Activation),
}

/// The shapes a node works on, with the batch.
#[derive(Clone, Copy, Debug)]
pub struct Shapes<'a> {
    pub batch: u32,
    pub inputs: &'a [Shape3],
    pub output: Shape3,
}

impl Shapes<'_> {
    pub fn input(&self) -> Shape3 {
        self.inputs[0]
    }
    /// Elements of the output over the batch.
    pub fn output_len(&self) -> usize {
        self.batch as usize * self.output.len()
    }
}

/// What building a node's dispatches is given: its buffers as the plan laid them out.
pub struct BuildCtx<'a> {
    pub shapes: Shapes<'a>,
    pub x: Vec<&'a wgpu::Buffer>,
    pub y: &'a wgpu::Buffer,
    pub params: &'a [Param],
    pub running: Option<&'a wgpu::Buffer>,
    pub mode: Mode,
    pub param_grads: ParamGrads,
    /// Build the forward pass (false: an op before this one does its work).
    pub forward: bool,
    /// d loss / d y; None: no backward pass for this node.
    pub dy: Option<&'a wgpu::Buffer>,
    /// Per input: where its gradient goes and whether to add into what is there; None: not
    /// needed.
    pub dx: Vec<Option<(&'a wgpu::Buffer, bool)>>,
    /// Linear: the activation its output is written through. Norm: the activation done in
    /// its passes.
    pub epilogue: Option<Activation>,
    /// A random op's draw (dropout's mask), when the pass was given the step's counter.
    pub rng: Option<NodeRng<'a>>,
}

/// Where a random op draws: random.wgsl's (seed, stream, counters[index]), the stream the
/// node's own.
pub struct NodeRng<'a> {
    pub seed: u64,
    pub stream: u32,
    pub counters: &'a wgpu::Buffer,
    pub index: u32,
}

/// What building a node's part of a gradient penalty's second pass is given (see
/// `graph::penalty`): the forward's inputs of the pass on the penalised images, the tangent
/// `u` coming in (∂P/∂g carried forward through the nodes before), where this node's tangent
/// goes, and `dy`, d D / d y of that pass's backward.
pub struct TangentCtx<'a> {
    pub shapes: Shapes<'a>,
    pub x: Vec<&'a wgpu::Buffer>,
    pub params: &'a [Param],
    pub u: &'a wgpu::Buffer,
    pub u_out: &'a wgpu::Buffer,
    pub dy: &'a wgpu::Buffer,
}

/// A node's dispatches, in recording order.
#[derive(Default)]
pub struct Built {
    pub forward: Vec<Dispatch>,
    pub backward: Vec<Dispatch>,
}

/// A node's inputs and parameters on the CPU.
pub struct Reference<'a> {
    pub shapes: Shapes<'a>,
    pub x: Vec<&'a [f64]>,
    pub params: &'a [Vec<f64>],
    /// A random op's draw: (seed, stream, step).
    pub rng: Option<(u64, u32, u32)>,
}

/// One kind of op.
pub trait Op {
    /// The output shape for these inputs, or why they do not fit.
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String>;

    /// How many inputs it takes: Some(n) exactly, None two or more.
    fn arity(&self) -> Option<usize> {
        Some(1)
    }

    /// Its learnable tensors, named relative to the node ("weight", "bias"; "" is the node's
    /// own name), in state_dict order.
    fn params(&self, _inputs: &[Shape3]) -> Vec<ParamSpec> {
        vec![]
    }

    /// The initial values of its running state (batch norm's statistics), if it keeps one.
    fn running(&self, _inputs: &[Shape3]) -> Option<Vec<f32>> {
        None
    }

    /// Whether its tensors at `batch` fit bindings of `binding_floats`, checked before a pass
    /// makes any buffer: a sentence saying what to change when they do not.
    fn check_batch(
        &self,
        _batch: u32,
        _inputs: &[Shape3],
        _binding_floats: usize,
    ) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Multiply-adds × 2 of its forward pass.
    fn flops(&self, _batch: u32, _inputs: &[Shape3], _output: Shape3) -> f64 {
        0.0
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    /// It draws random numbers each step (dropout): the graph gives it a stream of its own.
    fn random(&self) -> bool {
        false
    }

    /// The output, in f64; `running` is updated when the mode says so.
    fn reference_forward(
        &self,
        r: &Reference,
        running: Option<&mut Vec<f64>>,
        mode: Mode,
    ) -> Vec<f64>;

    /// The tensors among its parameters that a forward in `mode` moves, by index, with their
    /// new values (spectral norm's u and v after a train-mode power iteration). The CPU twin
    /// stores them back after the forward, and its backward uses the ones the forward read.
    fn reference_state(&self, _r: &Reference, _mode: Mode) -> Vec<(usize, Vec<f64>)> {
        vec![]
    }

    /// (d input per input, d parameter per parameter) of a train-mode forward, given d output.
    fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>);

    fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built>;

    /// Its part of a gradient penalty's second pass (`graph::penalty`, specified by
    /// `reference::penalty`): u_out = J·u, its Jacobian at the penalised forward applied to the
    /// tangent, and, for its weights, d⟨dy, J·u⟩/dW added to their gradients (biases get
    /// none). `Err(why)` for an op whose Jacobian depends on its input other than through a
    /// fixed mask: the penalty's exact gradient is not built through it. A view (`Fusion::View`)
    /// is never asked: its tangent is its input's.
    fn build_tangent(
        &self,
        _gpu: &Gpu,
        _ctx: &TangentCtx,
    ) -> Result<std::result::Result<Built, String>> {
        Ok(Err("it has no penalty pass".into()))
    }

    /// Its eval-mode forward as ONNX nodes writing `n.output` (see `export::onnx`), or why it
    /// has no such form.
    fn onnx(&self, _n: &mut OnnxNode) -> std::result::Result<(), String> {
        Err("this op has no ONNX form yet".into())
    }
}

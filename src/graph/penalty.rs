//! A gradient penalty on a critic, on the GPU (WGAN-GP's and R1's; the f64 specification is
//! `reference::penalty`): D in train mode on the penalised images, its backward from d D = 1
//! per sample to the input gradient g (no parameter gradients), the head (each sample's norm
//! and term, u = ∂P/∂g), then the second pass: u forward through each node's Jacobian at that
//! forward, each weight's gradient d⟨dy, J·u⟩/dW *added* to what D's loss left there. Built
//! once, recorded into the step's one submission.

use crate::gpu::Gpu;
use crate::graph::op::{Fusion, Shapes, TangentCtx};
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::graph::{node_error, TensorId};
use crate::kernels::penalty::head;
use crate::kernels::Dispatch;
use crate::reference::penalty::Penalty;
use crate::Result;

pub struct PenaltyPass {
    /// D on the penalised images, with the input gradient.
    pub pass: Pass,
    /// ‖∇ₓD(x_b)‖ and the penalty's term of each sample: their sum is the penalty.
    pub norms: wgpu::Buffer,
    pub terms: wgpu::Buffer,
    head: Dispatch,
    tangents: Vec<Dispatch>,
}

impl PenaltyPass {
    /// `penalty` on D (`d`, whose parameters' gradients it adds to) at batch `batch`, reading
    /// its images from `input` when given (the interpolates' buffer), else from `pass.input`.
    pub fn new(
        gpu: &Gpu,
        d: &Net,
        batch: u32,
        penalty: Penalty,
        input: Option<wgpu::Buffer>,
    ) -> Result<PenaltyPass> {
        let g = &d.graph;
        if g.inputs.len() != 1 || g.outputs.len() != 1 || g.output().len() != 1 {
            return Err(node_error(
                "critic",
                "a penalised critic takes one image and gives one score",
            ));
        }
        let ones = gpu.storage_from("d D = 1", &vec![1.0f32; batch as usize]);
        let pass = Pass::new(
            gpu,
            d,
            PassOptions {
                batch,
                train: true,
                update_running: false,
                param_grads: ParamGrads::Skip,
                input_grad: true,
                backward: true,
            },
            PassBuffers {
                input,
                doutput: Some(ones),
                ..Default::default()
            },
        )?;
        let per_sample = g.input().len();
        let grad = pass
            .dinput
            .clone()
            .expect("the pass was built with its input gradient");
        let b = batch as usize;
        let mut tangent: Vec<Option<wgpu::Buffer>> = vec![None; g.shapes.len()];
        tangent[0] = Some(gpu.storage("penalty tangent", b * per_sample));
        let norms = gpu.storage("penalty norms", b);
        let terms = gpu.storage("penalty terms", b);
        let head = head(
            gpu,
            penalty,
            &grad,
            tangent[0].as_ref().expect("made above"),
            &norms,
            &terms,
            batch,
            per_sample,
        )?;
        let mut tangents = Vec::new();
        for (n, node) in g.nodes.iter().enumerate() {
            let y = g.output_of(n);
            let input: TensorId = node.inputs[0];
            let u = tangent[input.0].clone().expect("made by an earlier node");
            let op = node.layer.op();
            if node.inputs.len() != 1 {
                return Err(node_error(
                    &node.name,
                    "the gradient penalty's second pass takes nodes of one input",
                ));
            }
            if op.fusion() == Fusion::View {
                tangent[y.0] = Some(u);
                continue;
            }
            let u_out = gpu.storage("penalty tangent", b * g.shape(y).len());
            let dy = pass.tensor_grads[y.0]
                .as_ref()
                .expect("every node of a backward pass to the input has d output");
            let shapes = g.input_shapes(n);
            let ctx = TangentCtx {
                shapes: Shapes {
                    batch,
                    inputs: &shapes,
                    output: g.shape(y),
                },
                x: node.inputs.iter().map(|t| &pass.tensors[t.0]).collect(),
                params: &d.params[n],
                u: &u,
                u_out: &u_out,
                dy,
            };
            let built = op
                .build_tangent(gpu, &ctx)?
                .map_err(|why| node_error(&node.name, format!("cannot be penalised: {why}")))?;
            tangents.extend(built.forward);
            tangent[y.0] = Some(u_out);
        }
        Ok(PenaltyPass {
            pass,
            norms,
            terms,
            head,
            tangents,
        })
    }

    /// D forward and backward on the penalised images, the head, the second pass, in
    /// recording order.
    pub fn dispatches(&self) -> Vec<&Dispatch> {
        let mut all = self.pass.dispatches(true);
        all.extend(self.pass.dispatches(false));
        all.push(&self.head);
        all.extend(&self.tangents);
        all
    }

    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        for d in self.dispatches() {
            d.record(pass);
        }
    }
}

//! A graph on the GPU: a [`Net`] holds its parameters (with gradients and optimizer state) and
//! running statistics; a [`Pass`] is one use of it at a fixed batch, with its own activations
//! and its forward and backward dispatches built once from the [`Plan`]. A GAN's D has several
//! passes (on real, on fake, inside G's step) over the same parameters.

use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Mode, NodeRng, Shapes};
use crate::graph::plan::{BufferPlan, Given, Plan, PlanOptions};
use crate::graph::{Graph, Init, ParamSpec};
use crate::kernels::Dispatch;
use crate::{reference, Result};

/// One learnable tensor and everything that travels with it (cloned, the buffers are shared).
#[derive(Clone)]
pub struct Param {
    pub spec: ParamSpec,
    pub value: wgpu::Buffer,
    pub grad: wgpu::Buffer,
    /// Optimizer state: Adam's m and v, or SGD's momentum buffer (and an unused one).
    pub state: [wgpu::Buffer; 2],
}

impl Param {
    pub fn len(&self) -> usize {
        self.spec.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A network's parameters and running statistics.
pub struct Net {
    pub graph: Graph,
    /// Per node, its parameters in state_dict order (weight, then bias).
    pub params: Vec<Vec<Param>>,
    /// Per node, batch norm's [running mean; running var; updates so far].
    pub running: Vec<Option<wgpu::Buffer>>,
}

impl Net {
    /// Allocates the parameters and initialises them as DCGAN does, reproducibly from `seed`:
    /// node i draws from its own streams, its k-th tensor from the k-th of them.
    pub fn new(gpu: &Gpu, graph: Graph, seed: u64) -> Net {
        let mut params = Vec::new();
        let mut running = Vec::new();
        for i in 0..graph.nodes.len() {
            let stream = crate::streams::init(i as u32);
            let node_params = graph
                .params_of(i)
                .into_iter()
                .enumerate()
                .map(|(k, spec)| {
                    // An op's tensor count is fixed by its definition, not by user input.
                    assert!(
                        (k as u32) < crate::streams::INIT_PER_LAYER,
                        "a layer's tensor {k} would draw from the next layer's init streams"
                    );
                    let len: usize = spec.shape.iter().product();
                    let init = initial_values(&spec, len, seed, stream + k as u32);
                    Param {
                        value: gpu.storage_from(&spec.name, &init),
                        grad: gpu.storage("grad", len),
                        state: [
                            gpu.storage("optimizer state", len),
                            gpu.storage("optimizer state", len),
                        ],
                        spec,
                    }
                })
                .collect();
            params.push(node_params);
            let initial = graph.nodes[i].layer.op().running(&graph.input_shapes(i));
            running.push(initial.map(|init| gpu.storage_from("running stats", &init)));
        }
        Net {
            graph,
            params,
            running,
        }
    }

    /// The same network, its buffers shared, with `extra` tensors as outputs after its own:
    /// so that a pass can be read on the way (a self-attention block's map).
    pub fn with_outputs(&self, extra: &[crate::graph::TensorId]) -> Net {
        let mut graph = self.graph.clone();
        for t in extra {
            if !graph.outputs.contains(t) {
                graph.outputs.push(*t);
            }
        }
        Net {
            graph,
            params: self.params.clone(),
            running: self.running.clone(),
        }
    }

    pub fn all_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().flatten()
    }

    /// Learnable elements, as PyTorch's `sum(p.numel() for p in net.parameters())` counts them
    /// (spectral norm's u and v are buffers there).
    pub fn param_count(&self) -> usize {
        self.all_params()
            .filter(|p| p.spec.trained())
            .map(Param::len)
            .sum()
    }

    /// The parameters and running statistics as they are on the GPU, for the CPU reference.
    pub async fn to_cpu(&self, gpu: &Gpu) -> Result<reference::graph::CpuNet> {
        let read = |values: Vec<f32>, len: usize| -> Vec<f64> {
            values[..len].iter().map(|&v| v as f64).collect()
        };
        let mut params = Vec::new();
        for node in &self.params {
            let mut tensors = Vec::new();
            for p in node {
                tensors.push(read(gpu.read_f32(&p.value).await?, p.len()));
            }
            params.push(tensors);
        }
        let mut running = Vec::new();
        for r in &self.running {
            running.push(match r {
                Some(b) => Some(read(gpu.read_f32(b).await?, b.size() as usize / 4)),
                None => None,
            });
        }
        Ok(reference::graph::CpuNet {
            arch: self.graph.clone(),
            params,
            running,
            rng: None,
        })
    }
}

fn initial_values(spec: &ParamSpec, len: usize, seed: u64, stream: u32) -> Vec<f32> {
    match spec.init {
        Init::Zero => vec![0.0; len],
        Init::Normal { mean, std } => reference::random::normal(seed, stream, 0, len)
            .into_iter()
            .map(|z| mean + std * z)
            .collect(),
        Init::BatchNorm => {
            let c = len / 2;
            let mut v: Vec<f32> = reference::random::normal(seed, stream, 0, c)
                .into_iter()
                .map(|z| 1.0 + 0.02 * z)
                .collect();
            v.resize(len, 0.0);
            v
        }
        Init::ConditionalNorm => {
            let row = spec.shape.last().copied().unwrap_or(0);
            (0..len).map(|i| (i % row < row / 2) as u8 as f32).collect()
        }
        Init::UnitNormal => {
            let z = reference::random::normal(seed, stream, 0, len);
            // F.normalize's ε, as torch.nn.utils.spectral_norm starts u and v.
            let norm = z.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-12);
            z.into_iter().map(|a| a / norm).collect()
        }
    }
}

/// What a pass does with gradients of the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamGrads {
    /// None computed: the network is frozen in this pass (or only runs forward).
    Skip,
    Overwrite,
    /// Added to what an earlier pass left (D's fake half after its real half).
    Accumulate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassOptions {
    pub batch: u32,
    /// Batch statistics (train) or running statistics (eval) in batch norm.
    pub train: bool,
    /// Update the batch-norm running statistics (train mode only).
    pub update_running: bool,
    pub param_grads: ParamGrads,
    /// Compute the gradients with respect to the inputs (G's step needs it through D).
    pub input_grad: bool,
    /// Build the backward pass at all.
    pub backward: bool,
}

/// Buffers a pass shares with the world, for its first input and output; what is not given
/// is allocated.
#[derive(Default)]
pub struct PassBuffers {
    pub input: Option<wgpu::Buffer>,
    pub output: Option<wgpu::Buffer>,
    pub doutput: Option<wgpu::Buffer>,
    pub dinput: Option<wgpu::Buffer>,
    /// The given `dinput` already holds a gradient (another pass wrote it): add into it.
    pub add_to_dinput: bool,
    /// The step's random counter, for random ops (dropout) in train mode.
    pub rng: Option<PassRng>,
}

/// random.wgsl's seed and the u32 counter word that holds the step.
#[derive(Clone)]
pub struct PassRng {
    pub seed: u64,
    pub counters: wgpu::Buffer,
    pub index: u32,
}

/// One use of a network at a fixed batch.
pub struct Pass {
    /// The first input and output (most networks have one of each), and their gradients.
    pub input: wgpu::Buffer,
    pub output: wgpu::Buffer,
    /// d loss / d output: the loss writes here.
    pub doutput: wgpu::Buffer,
    /// d loss / d input, when asked for.
    pub dinput: Option<wgpu::Buffer>,
    /// Every input, output and gradient, in the graph's order.
    pub inputs: Vec<wgpu::Buffer>,
    pub outputs: Vec<wgpu::Buffer>,
    pub doutputs: Vec<wgpu::Buffer>,
    pub dinputs: Vec<Option<wgpu::Buffer>>,
    /// Every tensor's buffer and its gradient's (views share their input's), for a pass that
    /// reads this one's on the way (the gradient penalty's second pass).
    pub tensors: Vec<wgpu::Buffer>,
    pub tensor_grads: Vec<Option<wgpu::Buffer>>,
    forward: Vec<Dispatch>,
    backward: Vec<Dispatch>,
}

impl Pass {
    pub fn new(gpu: &Gpu, net: &Net, options: PassOptions, given: PassBuffers) -> Result<Pass> {
        let g = &net.graph;
        let b = options.batch as usize;
        g.check_batch(options.batch, gpu.binding_floats())?;
        let plan = Plan::new(
            g,
            PlanOptions {
                backward: options.backward,
                input_grad: options.input_grad,
                add_to_input_grad: given.add_to_dinput,
            },
        );
        let pick = |p: &BufferPlan, label: &str| -> wgpu::Buffer {
            let handed = match p.given {
                Some(Given::Input(0)) => given.input.clone(),
                Some(Given::Output(0)) => given.output.clone(),
                Some(Given::DOutput(0)) => given.doutput.clone(),
                Some(Given::DInput(0)) => given.dinput.clone(),
                _ => None,
            };
            handed.unwrap_or_else(|| gpu.storage(label, b * p.per_sample))
        };
        let buffers: Vec<wgpu::Buffer> =
            plan.buffers.iter().map(|p| pick(p, "activation")).collect();
        let grads: Vec<wgpu::Buffer> = plan.grads.iter().map(|p| pick(p, "d activation")).collect();
        let act = |t: crate::graph::TensorId| &buffers[plan.tensor_buffer[t.0]];
        let grad = |t: crate::graph::TensorId| plan.tensor_grad[t.0].map(|i| &grads[i]);

        let inputs: Vec<wgpu::Buffer> = (0..g.inputs.len())
            .map(|k| act(crate::graph::TensorId(k)).clone())
            .collect();
        let outputs: Vec<wgpu::Buffer> = g.outputs.iter().map(|&t| act(t).clone()).collect();
        // Without a backward pass the loss still has somewhere to write.
        let doutputs: Vec<wgpu::Buffer> = g
            .outputs
            .iter()
            .enumerate()
            .map(|(k, &t)| match (grad(t), k, &given.doutput) {
                (Some(d), _, _) => d.clone(),
                (None, 0, Some(d)) => d.clone(),
                (None, _, _) => gpu.storage("d output", b * g.shape(t).len()),
            })
            .collect();
        let dinputs: Vec<Option<wgpu::Buffer>> = (0..g.inputs.len())
            .map(|k| {
                let t = crate::graph::TensorId(k);
                options.input_grad.then(|| grad(t).cloned()).flatten()
            })
            .collect();

        let mode = Mode {
            train: options.train,
            update_running: options.update_running,
        };
        let streams = g.random_streams()?;
        let mut forward = Vec::new();
        let mut backward_by_node = Vec::new();
        for (n, node) in g.nodes.iter().enumerate() {
            let node_plan = &plan.nodes[n];
            let shapes = g.input_shapes(n);
            let y = g.output_of(n);
            let dx = node
                .inputs
                .iter()
                .zip(&node_plan.dx)
                .map(|(&t, acc)| acc.and_then(|a| grad(t).map(|d| (d, a))))
                .collect();
            let ctx = BuildCtx {
                shapes: Shapes {
                    batch: options.batch,
                    inputs: &shapes,
                    output: g.shape(y),
                },
                x: node.inputs.iter().map(|&t| act(t)).collect(),
                y: act(y),
                params: &net.params[n],
                running: net.running[n].as_ref(),
                mode,
                param_grads: options.param_grads,
                forward: node_plan.forward,
                dy: if node_plan.backward { grad(y) } else { None },
                dx,
                epilogue: node_plan.epilogue,
                rng: given
                    .rng
                    .as_ref()
                    .zip(streams[n])
                    .map(|(r, stream)| NodeRng {
                        seed: r.seed,
                        stream,
                        counters: &r.counters,
                        index: r.index,
                    }),
            };
            let built = node.layer.op().build(gpu, &ctx)?;
            forward.extend(built.forward);
            backward_by_node.push(built.backward);
        }
        // Backward runs from the last node to the first.
        let backward = backward_by_node.into_iter().rev().flatten().collect();
        let tensors = (0..g.shapes.len())
            .map(|t| act(crate::graph::TensorId(t)).clone())
            .collect();
        let tensor_grads = (0..g.shapes.len())
            .map(|t| grad(crate::graph::TensorId(t)).cloned())
            .collect();
        Ok(Pass {
            tensors,
            tensor_grads,
            input: inputs[0].clone(),
            output: outputs[0].clone(),
            doutput: doutputs[0].clone(),
            dinput: dinputs[0].clone(),
            inputs,
            outputs,
            doutputs,
            dinputs,
            forward,
            backward,
        })
    }

    /// Every dispatch of the forward (or backward) pass, in recording order.
    pub fn dispatches(&self, forward: bool) -> Vec<&Dispatch> {
        let ops = if forward {
            &self.forward
        } else {
            &self.backward
        };
        ops.iter().collect()
    }

    pub fn record_forward(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.forward.iter().for_each(|d| d.record(pass));
    }

    pub fn record_backward(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.backward.iter().for_each(|d| d.record(pass));
    }
}

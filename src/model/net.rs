//! A network on the GPU: its parameters (with gradients and optimizer state), and `Pass`es —
//! uses of the network at a fixed batch, each with its own activations and its forward and
//! backward dispatches built once. A GAN's D has several passes (on real, on fake, inside G's
//! step) over the same parameters.

use crate::gpu::Gpu;
use crate::kernels::activation::{self, Activation};
use crate::kernels::batch_norm::{
    self, BatchNorm, BatchNormBuffers, BatchNormOptions, BatchNormShape,
};
use crate::kernels::Dispatch;
use crate::model::{
    conv_shape, conv_transpose_shape, dense_shape, Init, Layer, ParamSpec, Sequential,
};
use crate::{reference, Result};

/// One learnable tensor and everything that travels with it.
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

/// A network's parameters and batch-norm running statistics.
pub struct Net {
    pub arch: Sequential,
    /// Per layer, its parameters in state_dict order (weight, then bias).
    pub params: Vec<Vec<Param>>,
    /// Per layer, batch norm's [running mean; running var; updates so far].
    pub running: Vec<Option<wgpu::Buffer>>,
}

impl Net {
    /// Allocates the parameters and initialises them as DCGAN does, reproducibly from `seed`.
    pub fn new(gpu: &Gpu, arch: Sequential, seed: u64) -> Net {
        let mut params = Vec::new();
        let mut running = Vec::new();
        for i in 0..arch.layers.len() {
            let layer_params = arch
                .params_of(i)
                .into_iter()
                .map(|spec| {
                    let len: usize = spec.shape.iter().product();
                    let stream = crate::streams::init(params.len() as u32);
                    let init = initial_values(&spec, len, seed, stream);
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
            params.push(layer_params);
            running.push(matches!(arch.layers[i], Layer::BatchNorm).then(|| {
                let init = batch_norm::initial_running(arch.input_of(i).c);
                gpu.storage_from("running stats", &init)
            }));
        }
        Net {
            arch,
            params,
            running,
        }
    }

    pub fn all_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().flatten()
    }

    pub fn param_count(&self) -> usize {
        self.all_params().map(Param::len).sum()
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
    /// Compute the gradient with respect to the input (G's step needs it through D).
    pub input_grad: bool,
    /// Build the backward pass at all.
    pub backward: bool,
}

/// Buffers a pass shares with the world; what is not given is allocated.
#[derive(Default)]
pub struct PassBuffers {
    pub input: Option<wgpu::Buffer>,
    pub output: Option<wgpu::Buffer>,
    pub doutput: Option<wgpu::Buffer>,
    pub dinput: Option<wgpu::Buffer>,
}

enum Op {
    Kernel(Dispatch),
    BatchNormTrain(usize),
    BatchNormEval(usize),
    BatchNormBackward(usize),
}

/// One use of a network at a fixed batch.
pub struct Pass {
    pub input: wgpu::Buffer,
    pub output: wgpu::Buffer,
    /// d loss / d output: the loss writes here.
    pub doutput: wgpu::Buffer,
    /// d loss / d input, when asked for.
    pub dinput: Option<wgpu::Buffer>,
    forward: Vec<Op>,
    backward: Vec<Op>,
    batch_norms: Vec<BatchNorm>,
}

impl Pass {
    pub fn new(gpu: &Gpu, net: &Net, options: PassOptions, given: PassBuffers) -> Result<Pass> {
        let arch = &net.arch;
        let (b, n) = (options.batch, arch.layers.len());
        let len = |i: usize| b as usize * arch.shapes[i].len();
        let input = given
            .input
            .unwrap_or_else(|| gpu.storage("input", b as usize * arch.input.len()));
        // A batch norm followed by relu or leaky relu does the activation in its own passes
        // (one pass over the tensor less each way, and no pre-activation tensor).
        let fused: Vec<Option<Activation>> = (0..n)
            .map(|i| match (&arch.layers[i], arch.layers.get(i + 1)) {
                (Layer::BatchNorm, Some(&Layer::Activation(a))) => {
                    batch_norm::fused_slope(a).map(|_| a)
                }
                _ => None,
            })
            .collect();
        // A dense or conv layer followed by one writes its output rectified (a discriminator's
        // first conv, with no batch norm): the activation's forward pass goes, its backward
        // stays, reading r(y) for y (same sign: slope ≥ 0).
        let rectified: Vec<Option<f32>> = (0..n)
            .map(|i| match (&arch.layers[i], arch.layers.get(i + 1)) {
                (
                    Layer::Dense { .. } | Layer::Conv { .. } | Layer::ConvTranspose { .. },
                    Some(&Layer::Activation(a)),
                ) => batch_norm::fused_slope(a),
                _ => None,
            })
            .collect();
        // A reshape is a view of its input, and so is an activation done by the layer before
        // it: they share its output and record no forward pass. Their gradients are shared
        // too, unless the activation keeps its backward pass.
        let view = |i: usize| {
            matches!(arch.layers[i], Layer::Reshape(_))
                || (i > 0 && (fused[i - 1].is_some() || rectified[i - 1].is_some()))
        };
        let gradient_view = |i: usize| view(i) && !(i > 0 && rectified[i - 1].is_some());
        let mut acts: Vec<wgpu::Buffer> = Vec::with_capacity(n);
        for i in 0..n {
            let previous = if i == 0 { &input } else { &acts[i - 1] };
            let last = i + 1 == n || (i + 2 == n && (fused[i].is_some() || rectified[i].is_some()));
            let act = match (view(i), last, &given.output) {
                (true, _, _) => previous.clone(),
                (_, true, Some(out)) => out.clone(),
                _ => gpu.storage("activation", len(i)),
            };
            acts.push(act);
        }
        let output = acts.last().cloned().unwrap_or_else(|| input.clone());
        let doutput = given
            .doutput
            .unwrap_or_else(|| gpu.storage("d output", len(n - 1)));
        // Gradients of activations, from the top down; dacts[i] is d loss / d acts[i].
        let mut dacts: Vec<Option<wgpu::Buffer>> = vec![None; n];
        let mut dinput = None;
        if options.backward {
            dacts[n - 1] = Some(doutput.clone());
            for i in (1..n).rev() {
                let d = dacts[i].clone().expect("set on the way down");
                dacts[i - 1] = Some(if gradient_view(i) {
                    d
                } else {
                    gpu.storage("d activation", len(i - 1))
                });
            }
            if options.input_grad {
                dinput = Some(match (&arch.layers[0], given.dinput) {
                    (Layer::Reshape(_), _) => dacts[0].clone().expect("set"),
                    (_, Some(d)) => d,
                    _ => gpu.storage("d input", b as usize * arch.input.len()),
                });
            }
        }

        let mut pass = Pass {
            input: input.clone(),
            output,
            doutput,
            dinput: dinput.clone(),
            forward: vec![],
            backward: vec![],
            batch_norms: vec![],
        };
        let grads = options.param_grads;
        let accumulate = grads == ParamGrads::Accumulate;
        for i in 0..n {
            let x = if i == 0 { &input } else { &acts[i - 1] };
            let y = &acts[i];
            let shape_in = arch.input_of(i);
            // Where this layer's input gradient goes; None skips it.
            let dx: Option<wgpu::Buffer> = if i == 0 {
                dinput.clone()
            } else {
                dacts[i - 1].clone()
            };
            let dy = dacts[i].clone();
            let params = &net.params[i];
            let layer = &arch.layers[i];
            let mut backward: Vec<Op> = Vec::new();
            match layer {
                Layer::Dense { .. } | Layer::Conv { .. } | Layer::ConvTranspose { .. } => {
                    let (w, bias) = (&params[0], params.get(1));
                    macro_rules! linear {
                        ($s:expr) => {{
                            let s = $s;
                            pass.forward.push(Op::Kernel(s.forward(
                                gpu,
                                x,
                                &w.value,
                                bias.map(|p| &p.value),
                                y,
                                rectified[i],
                            )?));
                            if let Some(dy) = &dy {
                                if grads != ParamGrads::Skip {
                                    backward.push(Op::Kernel(
                                        s.backward_weight(gpu, x, dy, &w.grad, accumulate)?,
                                    ));
                                    if let Some(bias) = bias {
                                        backward.push(Op::Kernel(
                                            s.backward_bias(gpu, dy, &bias.grad, accumulate)?,
                                        ));
                                    }
                                }
                                if let Some(dx) = &dx {
                                    backward.push(Op::Kernel(
                                        s.backward_input(gpu, dy, &w.value, dx, false)?,
                                    ));
                                }
                            }
                        }};
                    }
                    if let Some(s) = dense_shape(b, shape_in, layer) {
                        linear!(s)
                    } else if let Some(s) = conv_shape(b, shape_in, layer) {
                        linear!(s)
                    } else if let Some(s) = conv_transpose_shape(b, shape_in, layer) {
                        linear!(s)
                    }
                }
                Layer::Reshape(_) => {}
                Layer::Activation(_) if gradient_view(i) => {}
                Layer::Activation(kind) => {
                    if !view(i) {
                        pass.forward.push(Op::Kernel(activation::forward(
                            gpu,
                            *kind,
                            x,
                            y,
                            len(i),
                        )?));
                    }
                    if let (Some(dy), Some(dx)) = (&dy, &dx) {
                        backward.push(Op::Kernel(activation::backward(
                            gpu,
                            *kind,
                            x,
                            dy,
                            dx,
                            len(i),
                            false,
                        )?));
                    }
                }
                Layer::BatchNorm => {
                    let shape = BatchNormShape {
                        batch: b,
                        channels: shape_in.c,
                        pixels: shape_in.pixels(),
                    };
                    let scratch = |what: &str, n: usize| gpu.storage(what, n);
                    let running = net.running[i]
                        .clone()
                        .expect("a batch-norm layer has running stats");
                    // Eval reads the kept statistics; only a train pass that must not move them
                    // (G's step through a frozen D) writes its update somewhere else.
                    let running = if options.train && !options.update_running {
                        scratch("running (not kept)", batch_norm::running_len(shape_in.c))
                    } else {
                        running
                    };
                    let (doutput, dinput) = match (&dy, &dx) {
                        (Some(dy), Some(dx)) => (dy.clone(), dx.clone()),
                        (Some(dy), None) => (dy.clone(), scratch("d input (unused)", len(i))),
                        _ => (
                            scratch("d output (unused)", len(i)),
                            scratch("d input (unused)", len(i)),
                        ),
                    };
                    let daffine = if grads == ParamGrads::Skip {
                        scratch("d affine (unused)", 2 * shape_in.c as usize)
                    } else {
                        params[0].grad.clone()
                    };
                    let bn = BatchNorm::new(
                        gpu,
                        shape,
                        BatchNormOptions {
                            accumulate_params: accumulate,
                            activation: fused[i],
                            ..Default::default()
                        },
                        &BatchNormBuffers {
                            input: x,
                            output: y,
                            affine: &params[0].value,
                            running: &running,
                            saved: &scratch("batch statistics", shape.saved_len()),
                            doutput: &doutput,
                            dinput: &dinput,
                            daffine: &daffine,
                        },
                    )?;
                    let k = pass.batch_norms.len();
                    pass.batch_norms.push(bn);
                    pass.forward.push(if options.train {
                        Op::BatchNormTrain(k)
                    } else {
                        Op::BatchNormEval(k)
                    });
                    if dy.is_some() {
                        backward.push(Op::BatchNormBackward(k));
                    }
                }
            }
            // Backward runs from the last layer to the first.
            backward.append(&mut pass.backward);
            pass.backward = backward;
        }
        Ok(pass)
    }

    fn record_ops(&self, ops: &[Op], pass: &mut wgpu::ComputePass<'_>) {
        for op in ops {
            match op {
                Op::Kernel(d) => d.record(pass),
                Op::BatchNormTrain(k) => self.batch_norms[*k]
                    .forward_train()
                    .iter()
                    .for_each(|d| d.record(pass)),
                Op::BatchNormEval(k) => self.batch_norms[*k]
                    .forward_eval()
                    .iter()
                    .for_each(|d| d.record(pass)),
                Op::BatchNormBackward(k) => self.batch_norms[*k]
                    .backward()
                    .iter()
                    .for_each(|d| d.record(pass)),
            }
        }
    }

    /// Every dispatch of the forward (or backward) pass, in recording order.
    pub fn dispatches(&self, forward: bool) -> Vec<&Dispatch> {
        let ops = if forward {
            &self.forward
        } else {
            &self.backward
        };
        ops.iter()
            .flat_map(|op| match op {
                Op::Kernel(d) => vec![d],
                Op::BatchNormTrain(k) => self.batch_norms[*k].forward_train().to_vec(),
                Op::BatchNormEval(k) => self.batch_norms[*k].forward_eval().to_vec(),
                Op::BatchNormBackward(k) => self.batch_norms[*k].backward().to_vec(),
            })
            .collect()
    }

    pub fn record_forward(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.record_ops(&self.forward, pass);
    }

    pub fn record_backward(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.record_ops(&self.backward, pass);
    }
}

impl Net {
    /// The parameters and running statistics as they are on the GPU, for the CPU reference.
    pub async fn to_cpu(&self, gpu: &Gpu) -> Result<reference::sequential::CpuNet> {
        let read = |values: Vec<f32>, len: usize| -> Vec<f64> {
            values[..len].iter().map(|&v| v as f64).collect()
        };
        let mut params = Vec::new();
        for layer in &self.params {
            let mut tensors = Vec::new();
            for p in layer {
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
        Ok(reference::sequential::CpuNet {
            arch: self.arch.clone(),
            params,
            running,
        })
    }
}

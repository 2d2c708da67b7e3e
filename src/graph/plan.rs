//! Graph → plan: which tensors share a buffer, which ops are done by their neighbours, where
//! each gradient goes and whether it is added in. Pure arithmetic on the graph, so it is tested
//! without a GPU; `program` turns it into buffers and dispatches.
//!
//! - A view (reshape) shares its input's buffer; so does a ReLU or leaky ReLU that the op
//!   before it applies (a batch norm in its passes, a dense or conv layer as it writes). Such
//!   fusions need the first op's output to have that one reader and not be a graph output.
//! - Gradients run from the last node to the first. A tensor read by several nodes gets each
//!   reader's gradient: the first to write it (the last reader) overwrites, the others add. A
//!   graph output's gradient is written by the loss first, so its readers inside all add.
//! - A view's gradient is its input's gradient when the input has no other reader; so is a
//!   fused activation's after batch norm (batch norm's backward applies its derivative).

use crate::graph::op::Fusion;
use crate::graph::{Graph, TensorId};
use crate::kernels::activation::Activation;
use crate::kernels::batch_norm::fused_slope;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Plan gradients at all.
    pub backward: bool,
    /// Plan the gradients of the graph's inputs.
    pub input_grad: bool,
    /// The inputs' gradients already hold another pass's gradient: add into them (G_A's
    /// output in CycleGAN gets D_A's gradient, then G_B's through the cycle).
    pub add_to_input_grad: bool,
}

/// A buffer the caller may hand in: the k-th input or output, or their gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Given {
    Input(usize),
    Output(usize),
    DOutput(usize),
    DInput(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferPlan {
    /// Elements per sample (the buffer holds a batch of them).
    pub per_sample: usize,
    pub given: Option<Given>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodePlan {
    /// Its forward pass is recorded (false: a view, or done by the op before it).
    pub forward: bool,
    /// Its backward pass is recorded (false: no gradients, or its gradient is shared).
    pub backward: bool,
    /// The activation this op applies for the node after it.
    pub epilogue: Option<Activation>,
    /// Per input: Some(accumulate) when its gradient is written, adding to what is there.
    pub dx: Vec<Option<bool>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub buffers: Vec<BufferPlan>,
    /// Per tensor, its buffer.
    pub tensor_buffer: Vec<usize>,
    pub grads: Vec<BufferPlan>,
    /// Per tensor, its gradient's buffer, when it has one.
    pub tensor_grad: Vec<Option<usize>>,
    pub nodes: Vec<NodePlan>,
}

impl Plan {
    pub fn new(g: &Graph, options: PlanOptions) -> Plan {
        let tensors = g.shapes.len();
        let consumers: Vec<Vec<(usize, usize)>> =
            (0..tensors).map(|t| g.consumers(TensorId(t))).collect();
        let is_output = |t: usize| g.outputs.contains(&TensorId(t));
        let fusion = |n: usize| g.nodes[n].layer.op().fusion();

        // Which activations are absorbed, and by what kind of op.
        let mut epilogue = vec![None; g.nodes.len()];
        let mut absorbed_by = vec![None; g.nodes.len()];
        for (n, node_epilogue) in epilogue.iter_mut().enumerate() {
            let kind = fusion(n);
            if !matches!(kind, Fusion::Linear | Fusion::Norm) {
                continue;
            }
            let t = g.output_of(n).0;
            if let ([(m, _)], false) = (consumers[t].as_slice(), is_output(t)) {
                if let Fusion::Activation(a) = fusion(*m) {
                    if fused_slope(a).is_some() {
                        *node_epilogue = Some(a);
                        absorbed_by[*m] = Some(kind);
                    }
                }
            }
        }
        let forward_view = |m: usize| fusion(m) == Fusion::View || absorbed_by[m].is_some();

        // Forward buffers: views share their input's.
        let mut buffers: Vec<BufferPlan> = Vec::new();
        let mut tensor_buffer = Vec::with_capacity(tensors);
        for t in 0..tensors {
            let id = match g.producer(TensorId(t)) {
                Some(m) if forward_view(m) => tensor_buffer[g.nodes[m].inputs[0].0],
                producer => {
                    buffers.push(BufferPlan {
                        per_sample: g.shapes[t].len(),
                        given: producer.is_none().then_some(Given::Input(t)),
                    });
                    buffers.len() - 1
                }
            };
            tensor_buffer.push(id);
        }
        for (k, t) in g.outputs.iter().enumerate() {
            let b = &mut buffers[tensor_buffer[t.0]];
            if b.given.is_none() {
                b.given = Some(Given::Output(k));
            }
        }

        // Gradient buffers, from the last tensor to the first.
        let gradient_view = |m: usize| {
            let input = g.nodes[m].inputs[0].0;
            (fusion(m) == Fusion::View && consumers[input].len() == 1 && !is_output(input))
                || absorbed_by[m] == Some(Fusion::Norm)
        };
        let needs = |t: usize| g.producer(TensorId(t)).is_some() || options.input_grad;
        let mut grads: Vec<BufferPlan> = Vec::new();
        let mut tensor_grad: Vec<Option<usize>> = vec![None; tensors];
        if options.backward {
            for t in (0..tensors).rev() {
                if !needs(t) {
                    continue;
                }
                tensor_grad[t] = Some(match consumers[t].as_slice() {
                    [(m, _)] if gradient_view(*m) => {
                        tensor_grad[g.output_of(*m).0].expect("planned before its input")
                    }
                    _ => {
                        grads.push(BufferPlan {
                            per_sample: g.shapes[t].len(),
                            given: None,
                        });
                        grads.len() - 1
                    }
                });
            }
            for (k, t) in g.outputs.iter().enumerate() {
                if let Some(b) = tensor_grad[t.0] {
                    grads[b].given = Some(Given::DOutput(k));
                }
            }
            for (k, grad) in tensor_grad.iter().enumerate().take(g.inputs.len()) {
                if let Some(b) = *grad {
                    grads[b].given.get_or_insert(Given::DInput(k));
                }
            }
        }

        let mut nodes: Vec<NodePlan> = (0..g.nodes.len())
            .map(|m| {
                let backward = options.backward && !gradient_view(m);
                NodePlan {
                    forward: !forward_view(m),
                    backward,
                    epilogue: epilogue[m],
                    dx: g.nodes[m]
                        .inputs
                        .iter()
                        .map(|t| (backward && needs(t.0)).then_some(false))
                        .collect(),
                }
            })
            .collect();
        // Writers of each gradient in recording order (last node first, then its slots in
        // order): the first overwrites, unless a loss wrote the output's gradient before.
        for (t, readers) in consumers.iter().enumerate() {
            let mut writers: Vec<(usize, usize)> = readers
                .iter()
                .copied()
                .filter(|&(m, slot)| nodes[m].dx[slot].is_some())
                .collect();
            writers.sort_by_key(|&(m, slot)| (std::cmp::Reverse(m), slot));
            let begun = is_output(t) || (t < g.inputs.len() && options.add_to_input_grad);
            for (i, (m, slot)) in writers.into_iter().enumerate() {
                nodes[m].dx[slot] = Some(i > 0 || begun);
            }
        }
        Plan {
            buffers,
            tensor_buffer,
            grads,
            tensor_grad,
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{Add, Cat, Conv2d, Reshape};
    use crate::graph::{Builder, Layer, Shape3};
    use crate::model::presets::{ModelConfig, Preset};

    const TRAIN: PlanOptions = PlanOptions {
        backward: true,
        input_grad: false,
        add_to_input_grad: false,
    };

    fn conv(out_channels: u32) -> Layer {
        Layer::Conv(Conv2d {
            out_channels,
            kernel: 3,
            stride: 1,
            padding: 1,
            bias: true,
            spectral_norm: false,
        })
    }

    #[test]
    fn dcgan28_generator_shares_views_and_fused_activations() {
        let (g, _) = ModelConfig::new(Preset::Dcgan28).build().unwrap();
        // dense, bn, relu, reshape, convT, bn, relu, convT, tanh
        let p = Plan::new(&g, TRAIN);
        // z; dense; bn = relu = reshape; convT; bn = relu; convT; tanh.
        assert_eq!(p.buffers.len(), 7);
        assert_eq!(p.tensor_buffer[2..5], [2, 2, 2]);
        assert_eq!(p.buffers[0].given, Some(Given::Input(0)));
        assert_eq!(p.buffers[6].given, Some(Given::Output(0)));
        // Gradients: no z; the reshape and both relus share the batch norms' output gradients.
        assert_eq!(p.grads.len(), 6);
        assert_eq!(p.tensor_grad[0], None);
        assert_eq!(p.tensor_grad[2], p.tensor_grad[4]);
        let forward: Vec<bool> = p.nodes.iter().map(|n| n.forward).collect();
        let backward: Vec<bool> = p.nodes.iter().map(|n| n.backward).collect();
        let f = false;
        assert_eq!(forward, [true, true, f, f, true, true, f, true, true]);
        assert_eq!(backward, [true, true, f, f, true, true, f, true, true]);
        assert_eq!(p.nodes[1].epilogue, Some(Activation::Relu));
        assert_eq!(
            p.nodes[0].epilogue, None,
            "a dense layer followed by batch norm"
        );
        assert_eq!(p.nodes[0].dx, [None], "z needs no gradient");
        assert!(p
            .nodes
            .iter()
            .flat_map(|n| &n.dx)
            .flatten()
            .all(|&acc| !acc));
    }

    #[test]
    fn dcgan64_discriminator_writes_its_first_conv_rectified() {
        let (_, d) = ModelConfig::new(Preset::Dcgan64).build().unwrap();
        let p = Plan::new(
            &d,
            PlanOptions {
                backward: true,
                input_grad: true,
                add_to_input_grad: false,
            },
        );
        assert_eq!(p.nodes[0].epilogue, Some(Activation::LeakyRelu(0.2)));
        // The leaky relu after the first conv keeps its backward (reading the rectified
        // output); the ones after batch norms have none.
        assert!(!p.nodes[1].forward && p.nodes[1].backward);
        assert_ne!(p.tensor_grad[1], p.tensor_grad[2]);
        assert!(!p.nodes[4].forward && !p.nodes[4].backward);
        assert_eq!(p.nodes[0].dx, [Some(false)]);
        let dinput = p.tensor_grad[0].unwrap();
        assert_eq!(p.grads[dinput].given, Some(Given::DInput(0)));
        // x, conv (rectified), then conv, bn three times, and the logit.
        assert_eq!(p.buffers.len(), 9);
    }

    #[test]
    fn no_backward_plans_no_gradients() {
        let (g, _) = ModelConfig::new(Preset::Dcgan32).build().unwrap();
        let p = Plan::new(
            &g,
            PlanOptions {
                backward: false,
                input_grad: true,
                add_to_input_grad: false,
            },
        );
        assert!(p.grads.is_empty());
        assert!(p
            .nodes
            .iter()
            .all(|n| !n.backward && n.dx.iter().all(Option::is_none)));
    }

    /// x → conv a → relu r; r feeds conv b, cat(b, r), add(c, r) and a reshape: four readers.
    #[test]
    fn a_tensor_read_four_times_sums_four_gradients_last_reader_first() {
        let mut b = Builder::new();
        let x = b.input(Shape3::new(4, 5, 5));
        let a = b.add("a", conv(4), &[x]).unwrap();
        let r = b
            .add("r", Layer::Activation(Activation::Relu), &[a])
            .unwrap();
        let h = b.add("b", conv(4), &[r]).unwrap();
        let skip = b.add("cat", Layer::Cat(Cat), &[h, r]).unwrap();
        let c = b.add("c", conv(4), &[skip]).unwrap();
        let sum = b.add("sum", Layer::Add(Add), &[c, r]).unwrap();
        let flat = b
            .add(
                "flat",
                Layer::Reshape(Reshape(Shape3::new(100, 1, 1))),
                &[r],
            )
            .unwrap();
        let g = b.finish(&[sum, flat]).unwrap();
        let p = Plan::new(&g, TRAIN);
        // Forward: r is written by a (rectified), and the reshape is a view of it.
        assert_eq!(p.nodes[0].epilogue, Some(Activation::Relu));
        assert_eq!(p.tensor_buffer[r.0], p.tensor_buffer[a.0]);
        assert_eq!(p.tensor_buffer[flat.0], p.tensor_buffer[a.0]);
        assert_eq!(
            p.buffers[p.tensor_buffer[flat.0]].given,
            Some(Given::Output(1))
        );
        // Backward order: flat (6), sum (5), cat (3), b (2): the first overwrites.
        assert_eq!(
            p.nodes[6].dx,
            [Some(false)],
            "the reshape copies, r has other readers"
        );
        // c's only reader is the sum; r's gradient was begun by the reshape.
        assert_eq!(p.nodes[5].dx, [Some(false), Some(true)]);
        assert_eq!(p.nodes[3].dx, [Some(false), Some(true)]);
        assert_eq!(p.nodes[2].dx, [Some(true)]);
        assert!(
            p.nodes[6].backward,
            "a reshape of a shared tensor adds its gradient in"
        );
        assert_ne!(p.tensor_grad[flat.0], p.tensor_grad[r.0]);
        // sum's gradient is the loss's.
        assert_eq!(
            p.grads[p.tensor_grad[sum.0].unwrap()].given,
            Some(Given::DOutput(0))
        );
    }

    #[test]
    fn an_input_gradient_begun_by_another_pass_is_added_to() {
        let (_, d) = ModelConfig::new(Preset::Dcgan32).build().unwrap();
        let options = PlanOptions {
            backward: true,
            input_grad: true,
            add_to_input_grad: true,
        };
        let p = Plan::new(&d, options);
        assert_eq!(p.nodes[0].dx, [Some(true)]);
        // Only the inputs': the layers inside still begin their own gradients.
        assert_eq!(p.nodes[2].dx, [Some(false)]);
    }

    #[test]
    fn the_same_tensor_twice_in_one_node_writes_then_adds() {
        let mut b = Builder::new();
        let x = b.input(Shape3::new(2, 3, 3));
        let a = b.add("a", conv(2), &[x]).unwrap();
        let twice = b.add("twice", Layer::Add(Add), &[a, a]).unwrap();
        let p = Plan::new(&b.finish(&[twice]).unwrap(), TRAIN);
        assert_eq!(p.nodes[1].dx, [Some(false), Some(true)]);
    }

    #[test]
    fn a_graph_output_read_inside_is_not_fused_and_its_readers_add() {
        let mut b = Builder::new();
        let x = b.input(Shape3::new(2, 3, 3));
        let a = b.add("a", conv(2), &[x]).unwrap();
        let r = b
            .add("r", Layer::Activation(Activation::Relu), &[a])
            .unwrap();
        let p = Plan::new(&b.finish(&[a, r]).unwrap(), TRAIN);
        assert_eq!(p.nodes[0].epilogue, None);
        assert!(p.nodes[1].forward);
        assert_eq!(p.nodes[1].dx, [Some(true)]);
    }

    #[test]
    fn builder_refuses_what_cannot_run() {
        let mut b = Builder::new();
        let x = b.input(Shape3::new(2, 4, 4));
        let y = b.input(Shape3::new(2, 3, 3));
        let err = |e: crate::Error| e.to_string();
        assert!(err(b.add("cat", Layer::Cat(Cat), &[x, y]).unwrap_err()).contains("differ"));
        assert!(err(b.add("add", Layer::Add(Add), &[x]).unwrap_err()).contains("2 input"));
        assert!(err(b.add("cat", Layer::Cat(Cat), &[x]).unwrap_err()).contains("two or more"));
        let a = b.add("a", conv(2), &[x]).unwrap();
        assert!(err(b.add("a", conv(2), &[a]).unwrap_err()).contains("share this name"));
        let view = Layer::Reshape(Reshape(Shape3::new(5, 1, 1)));
        assert!(err(b.add("v", view, &[a]).unwrap_err()).contains("cannot view"));
        assert!(err(b.finish(&[a]).unwrap_err()).contains("input 1 is never used"));
    }
}

//! A network on the CPU, node by node with each op's f64 reference: the specification of
//! `graph::program` (forward in train or eval mode, backward to the inputs and the parameters,
//! a tensor read twice getting the sum of its readers' gradients).

use crate::graph::op::{Mode, Reference, Shapes};
use crate::graph::Graph;

/// Parameters per node (in state_dict order; batch norm's packed [γ; β]) and batch norm's
/// packed [running mean; running var; updates].
#[derive(Clone, Debug)]
pub struct CpuNet {
    pub arch: Graph,
    pub params: Vec<Vec<Vec<f64>>>,
    pub running: Vec<Option<Vec<f64>>>,
    /// (seed, step) of the draws of random ops (dropout), as the GPU's counter holds the step.
    pub rng: Option<(u64, u32)>,
}

/// Every tensor's value (inputs, then each node's output), for the backward pass.
pub struct Activations {
    pub values: Vec<Vec<f64>>,
    /// Per node whose forward moved some of its parameters (spectral norm's u and v), the
    /// parameters as that forward read them: its backward goes from these.
    pub params_read: Vec<Option<Vec<Vec<f64>>>>,
}

impl CpuNet {
    fn streams(&self) -> Vec<Option<u32>> {
        self.arch
            .random_streams()
            .expect("a graph the GPU could build")
    }

    /// Node n's draw: (seed, its stream, step), for a random op when the step is known.
    fn draw(&self, streams: &[Option<u32>], n: usize) -> Option<(u64, u32, u32)> {
        let (seed, step) = self.rng?;
        streams[n].map(|stream| (seed, stream, step))
    }

    /// The first output for one input ([batch, input shape]); in train mode batch norm uses
    /// batch statistics and, when `update_running`, moves the running ones (momentum 0.1).
    pub fn forward(
        &mut self,
        input: &[f64],
        batch: u32,
        train: bool,
        update_running: bool,
    ) -> (Vec<f64>, Activations) {
        let acts = self.forward_all(&[input], batch, train, update_running);
        let out = acts.values[self.arch.outputs[0].0].clone();
        (out, acts)
    }

    /// Every tensor's value for these inputs.
    pub fn forward_all(
        &mut self,
        inputs: &[&[f64]],
        batch: u32,
        train: bool,
        update_running: bool,
    ) -> Activations {
        let mode = Mode {
            train,
            update_running,
        };
        let mut values: Vec<Vec<f64>> = inputs.iter().map(|x| x.to_vec()).collect();
        let mut params_read = Vec::new();
        let streams = self.streams();
        for (n, node) in self.arch.nodes.iter().enumerate() {
            let shapes = self.arch.input_shapes(n);
            let r = Reference {
                shapes: Shapes {
                    batch,
                    inputs: &shapes,
                    output: self.arch.shape(self.arch.output_of(n)),
                },
                x: node.inputs.iter().map(|t| values[t.0].as_slice()).collect(),
                params: &self.params[n],
                rng: self.draw(&streams, n),
            };
            let y = node
                .layer
                .op()
                .reference_forward(&r, self.running[n].as_mut(), mode);
            let moved = node.layer.op().reference_state(&r, mode);
            values.push(y);
            params_read.push((!moved.is_empty()).then(|| self.params[n].clone()));
            for (k, v) in moved {
                self.params[n][k] = v;
            }
        }
        Activations {
            values,
            params_read,
        }
    }

    /// (d input, d parameters) of a train-mode forward on one input, given d output.
    pub fn backward(
        &self,
        _input: &[f64],
        acts: &Activations,
        doutput: &[f64],
        batch: u32,
    ) -> (Vec<f64>, Vec<Vec<Vec<f64>>>) {
        let (mut dinputs, dparams) = self.backward_all(acts, &[doutput], batch);
        (dinputs.swap_remove(0), dparams)
    }

    /// (d input per input, d parameters per node) given d output per output.
    pub fn backward_all(
        &self,
        acts: &Activations,
        doutputs: &[&[f64]],
        batch: u32,
    ) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) {
        let (mut grads, dparams) = self.backward_every(acts, doutputs, batch);
        grads.truncate(self.arch.inputs.len());
        (grads, dparams)
    }

    /// (d tensor for every tensor, d parameters per node) given d output per output: the
    /// gradient penalty's second pass reads each node's d output.
    pub fn backward_every(
        &self,
        acts: &Activations,
        doutputs: &[&[f64]],
        batch: u32,
    ) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) {
        let g = &self.arch;
        let streams = self.streams();
        let mut grads: Vec<Vec<f64>> = acts.values.iter().map(|v| vec![0.0; v.len()]).collect();
        for (t, d) in g.outputs.iter().zip(doutputs) {
            grads[t.0] = d.to_vec();
        }
        let mut dparams: Vec<Vec<Vec<f64>>> = self
            .params
            .iter()
            .map(|p| p.iter().map(|t| vec![0.0; t.len()]).collect())
            .collect();
        for (n, node) in g.nodes.iter().enumerate().rev() {
            let shapes = g.input_shapes(n);
            let r = Reference {
                shapes: Shapes {
                    batch,
                    inputs: &shapes,
                    output: g.shape(g.output_of(n)),
                },
                x: node
                    .inputs
                    .iter()
                    .map(|t| acts.values[t.0].as_slice())
                    .collect(),
                params: acts.params_read[n].as_ref().unwrap_or(&self.params[n]),
                rng: self.draw(&streams, n),
            };
            let dy = grads[g.output_of(n).0].clone();
            let (dx, dp) = node.layer.op().reference_backward(&r, &dy);
            for (t, d) in node.inputs.iter().zip(dx) {
                for (acc, v) in grads[t.0].iter_mut().zip(d) {
                    *acc += v;
                }
            }
            dparams[n] = dp;
        }
        (grads, dparams)
    }
}

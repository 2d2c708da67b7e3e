//! A network on the CPU, layer by layer with the reference kernels: the specification of
//! `model::net` (forward in train or eval mode, backward to the input and the parameters).

use crate::kernels::batch_norm::BatchNormShape;
use crate::model::{conv_shape, conv_transpose_shape, dense_shape, Layer, Sequential};
use crate::reference::{activation, batch_norm, conv2d, conv_transpose2d, dense};

const BN_EPS: f64 = 1e-5;

/// Parameters per layer (in state_dict order; batch norm's packed [γ; β]) and batch norm's
/// packed [running mean; running var; updates].
#[derive(Clone, Debug)]
pub struct CpuNet {
    pub arch: Sequential,
    pub params: Vec<Vec<Vec<f64>>>,
    pub running: Vec<Option<Vec<f64>>>,
}

/// Every layer's output, for the backward pass.
pub struct Activations {
    pub outputs: Vec<Vec<f64>>,
}

impl CpuNet {
    fn bn_shape(&self, batch: u32, i: usize) -> BatchNormShape {
        let s = self.arch.input_of(i);
        BatchNormShape {
            batch,
            channels: s.c,
            pixels: s.pixels(),
        }
    }

    /// The output for `input` ([batch, input shape]); in train mode batch norm uses batch
    /// statistics and, when `update_running`, moves the running ones (momentum 0.1).
    pub fn forward(
        &mut self,
        input: &[f64],
        batch: u32,
        train: bool,
        update_running: bool,
    ) -> (Vec<f64>, Activations) {
        let mut outputs: Vec<Vec<f64>> = Vec::new();
        for i in 0..self.arch.layers.len() {
            let x = if i == 0 { input } else { &outputs[i - 1] };
            let (layer, shape, p) = (&self.arch.layers[i], self.arch.input_of(i), &self.params[i]);
            let bias = p.get(1).map(|b| b.as_slice());
            let y = match layer {
                Layer::Dense { .. } => dense::forward(
                    &dense_shape(batch, shape, layer).expect("dense"),
                    x,
                    &p[0],
                    bias,
                ),
                Layer::Conv { .. } => conv2d::forward(
                    &conv_shape(batch, shape, layer).expect("conv"),
                    x,
                    &p[0],
                    bias,
                ),
                Layer::ConvTranspose { .. } => conv_transpose2d::forward(
                    &conv_transpose_shape(batch, shape, layer).expect("convT"),
                    x,
                    &p[0],
                    bias,
                ),
                Layer::Reshape(_) => x.to_vec(),
                Layer::Activation(kind) => activation::forward(*kind, x),
                Layer::BatchNorm => {
                    let s = self.bn_shape(batch, i);
                    let c = s.channels as usize;
                    let (gamma, beta) = p[0].split_at(c);
                    let running = self.running[i]
                        .as_mut()
                        .expect("batch norm has running stats");
                    if train {
                        if update_running {
                            let (mean, var) = batch_norm::statistics(&s, x);
                            batch_norm::update_running(&s, &mean, &var, 0.1, running);
                        }
                        batch_norm::forward_train(&s, x, gamma, beta, BN_EPS)
                    } else {
                        let (rm, rv) = running.split_at(c);
                        batch_norm::forward_eval(&s, x, gamma, beta, rm, &rv[..c], BN_EPS)
                    }
                }
            };
            outputs.push(y);
        }
        let out = outputs.last().cloned().unwrap_or_else(|| input.to_vec());
        (out, Activations { outputs })
    }

    /// (d input, d parameters) of a train-mode forward, given d output.
    pub fn backward(
        &self,
        input: &[f64],
        acts: &Activations,
        doutput: &[f64],
        batch: u32,
    ) -> (Vec<f64>, Vec<Vec<Vec<f64>>>) {
        let n = self.arch.layers.len();
        let mut dparams: Vec<Vec<Vec<f64>>> = self
            .params
            .iter()
            .map(|p| p.iter().map(|t| vec![0.0; t.len()]).collect())
            .collect();
        let mut dy = doutput.to_vec();
        for i in (0..n).rev() {
            let x = if i == 0 { input } else { &acts.outputs[i - 1] };
            let (layer, shape, p) = (&self.arch.layers[i], self.arch.input_of(i), &self.params[i]);
            let mut set = |grads: (Vec<f64>, Vec<f64>, Vec<f64>)| {
                dparams[i][0] = grads.1;
                if p.len() > 1 {
                    dparams[i][1] = grads.2;
                }
                grads.0
            };
            dy = match layer {
                Layer::Dense { .. } => set(dense::backward(
                    &dense_shape(batch, shape, layer).expect("dense"),
                    x,
                    &p[0],
                    &dy,
                )),
                Layer::Conv { .. } => set(conv2d::backward(
                    &conv_shape(batch, shape, layer).expect("conv"),
                    x,
                    &p[0],
                    &dy,
                )),
                Layer::ConvTranspose { .. } => set(conv_transpose2d::backward(
                    &conv_transpose_shape(batch, shape, layer).expect("convT"),
                    x,
                    &p[0],
                    &dy,
                )),
                Layer::Reshape(_) => dy,
                Layer::Activation(kind) => activation::backward(*kind, x, &dy),
                Layer::BatchNorm => {
                    let s = self.bn_shape(batch, i);
                    let c = s.channels as usize;
                    let (dx, dgamma, dbeta) = batch_norm::backward(&s, x, &p[0][..c], &dy, BN_EPS);
                    dparams[i][0] = [dgamma, dbeta].concat();
                    dx
                }
            };
        }
        (dy, dparams)
    }
}

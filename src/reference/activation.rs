//! Elementwise activations: output = f(input); dinput = doutput · f′(input).

use crate::kernels::activation::Activation;

fn f(kind: Activation, x: f64) -> f64 {
    let (alpha, scale) = (Activation::SELU_ALPHA, Activation::SELU_SCALE);
    match kind {
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(slope) => {
            if x > 0.0 {
                x
            } else {
                slope as f64 * x
            }
        }
        Activation::Selu => {
            if x > 0.0 {
                scale * x
            } else {
                scale * alpha * x.exp_m1()
            }
        }
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
    }
}

/// f′(x); at the kink of relu and leaky relu (x = 0) the left slope, as PyTorch.
fn derivative(kind: Activation, x: f64) -> f64 {
    let (alpha, scale) = (Activation::SELU_ALPHA, Activation::SELU_SCALE);
    match kind {
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu(slope) => {
            if x > 0.0 {
                1.0
            } else {
                slope as f64
            }
        }
        Activation::Selu => {
            if x > 0.0 {
                scale
            } else {
                scale * alpha * x.exp()
            }
        }
        // d tanh = 1 − tanh²
        Activation::Tanh => 1.0 - x.tanh().powi(2),
        // d sigmoid = s (1 − s)
        Activation::Sigmoid => {
            let s = f(Activation::Sigmoid, x);
            s * (1.0 - s)
        }
    }
}

pub fn forward(kind: Activation, input: &[f64]) -> Vec<f64> {
    input.iter().map(|&x| f(kind, x)).collect()
}

/// dinput
pub fn backward(kind: Activation, input: &[f64], doutput: &[f64]) -> Vec<f64> {
    input
        .iter()
        .zip(doutput)
        .map(|(&x, &dy)| dy * derivative(kind, x))
        .collect()
}

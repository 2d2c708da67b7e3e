//! Networks as a sequence of layers, named and shaped as PyTorch's `nn.Sequential` would be, so
//! that a checkpoint's tensor names (`main.3.weight`) load into the same PyTorch model.

pub mod net;
pub mod presets;

use crate::error::shape_error;
use crate::kernels::activation::Activation;
use crate::kernels::conv2d::{Conv2dShape, Padding};
use crate::kernels::conv_transpose2d::ConvTranspose2dShape;
use crate::kernels::dense::DenseShape;
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

/// One layer of a sequence. Every layer, parameters or not, takes an index, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    Dense {
        out_features: u32,
        bias: bool,
    },
    /// A view of the same data with another shape (PyTorch's `Unflatten` or `Flatten`).
    Reshape(Shape3),
    Conv {
        out_channels: u32,
        kernel: u32,
        stride: u32,
        padding: u32,
        bias: bool,
    },
    ConvTranspose {
        out_channels: u32,
        kernel: u32,
        stride: u32,
        padding: u32,
        bias: bool,
    },
    BatchNorm,
    Activation(Activation),
}

/// A learnable tensor of a layer, named as in PyTorch's `state_dict()`.
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
}

/// A sequence of layers on inputs of one shape, with every layer's output shape worked out.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    /// Prefix of parameter names, e.g. "main".
    pub prefix: String,
    pub input: Shape3,
    pub layers: Vec<Layer>,
    /// Output shape of each layer.
    pub shapes: Vec<Shape3>,
}

impl Sequential {
    /// Checks that every layer fits the shape it receives.
    pub fn new(prefix: &str, input: Shape3, layers: Vec<Layer>) -> Result<Sequential> {
        let mut shapes = Vec::with_capacity(layers.len());
        let mut shape = input;
        for (i, layer) in layers.iter().enumerate() {
            shape = output_shape(i, layer, shape)?;
            shapes.push(shape);
        }
        Ok(Sequential {
            prefix: prefix.to_string(),
            input,
            layers,
            shapes,
        })
    }

    pub fn output(&self) -> Shape3 {
        *self.shapes.last().unwrap_or(&self.input)
    }

    /// The input shape of layer `i`.
    pub fn input_of(&self, i: usize) -> Shape3 {
        if i == 0 {
            self.input
        } else {
            self.shapes[i - 1]
        }
    }

    /// The learnable tensors of layer `i`, in state_dict order. Batch norm's γ and β travel
    /// together as one packed tensor `name` of shape [2, C] (see `checkpoint` for the split).
    pub fn params_of(&self, i: usize) -> Vec<ParamSpec> {
        let input = self.input_of(i);
        let name = |what: &str| format!("{}.{i}.{what}", self.prefix);
        let weight = |shape: Vec<usize>| ParamSpec {
            name: name("weight"),
            shape,
            init: Init::Normal {
                mean: 0.0,
                std: 0.02,
            },
        };
        let bias = |n: u32| ParamSpec {
            name: name("bias"),
            shape: vec![n as usize],
            init: Init::Zero,
        };
        let k = |k: u32| k as usize;
        match self.layers[i] {
            Layer::Dense {
                out_features,
                bias: b,
            } => {
                let mut v = vec![weight(vec![k(out_features), input.len()])];
                if b {
                    v.push(bias(out_features));
                }
                v
            }
            Layer::Conv {
                out_channels,
                kernel,
                bias: b,
                ..
            } => {
                let mut v = vec![weight(vec![
                    k(out_channels),
                    k(input.c),
                    k(kernel),
                    k(kernel),
                ])];
                if b {
                    v.push(bias(out_channels));
                }
                v
            }
            Layer::ConvTranspose {
                out_channels,
                kernel,
                bias: b,
                ..
            } => {
                let mut v = vec![weight(vec![
                    k(input.c),
                    k(out_channels),
                    k(kernel),
                    k(kernel),
                ])];
                if b {
                    v.push(bias(out_channels));
                }
                v
            }
            Layer::BatchNorm => vec![ParamSpec {
                name: format!("{}.{i}", self.prefix),
                shape: vec![2, k(input.c)],
                init: Init::BatchNorm,
            }],
            Layer::Reshape(_) | Layer::Activation(_) => vec![],
        }
    }

    /// Multiply-adds × 2 of one forward pass over `batch` inputs.
    pub fn forward_flops(&self, batch: u32) -> f64 {
        (0..self.layers.len())
            .map(|i| match self.layers[i] {
                Layer::Dense { out_features, .. } => {
                    2.0 * batch as f64 * self.input_of(i).len() as f64 * out_features as f64
                }
                Layer::Conv { .. } | Layer::ConvTranspose { .. } => {
                    let (input, out) = (self.input_of(i), self.shapes[i]);
                    let k = match self.layers[i] {
                        Layer::Conv { kernel, .. } | Layer::ConvTranspose { kernel, .. } => {
                            kernel as f64
                        }
                        _ => unreachable!(),
                    };
                    // Each output (conv) or each input (transposed) meets in_c·k² (out_c·k²) taps.
                    let (pixels, channels) = match self.layers[i] {
                        Layer::Conv { .. } => (out.len() as f64, input.c as f64),
                        _ => (input.len() as f64, out.c as f64),
                    };
                    2.0 * batch as f64 * pixels * channels * k * k
                }
                _ => 0.0,
            })
            .sum()
    }
}

/// Shapes for the kernels, from a layer and the shape it receives.
pub(crate) fn conv_shape(batch: u32, input: Shape3, layer: &Layer) -> Option<Conv2dShape> {
    match *layer {
        Layer::Conv {
            out_channels,
            kernel,
            stride,
            padding,
            ..
        } => Some(Conv2dShape {
            batch,
            in_channels: input.c,
            out_channels,
            height: input.h,
            width: input.w,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding: Padding::Explicit(padding),
        }),
        _ => None,
    }
}

pub(crate) fn conv_transpose_shape(
    batch: u32,
    input: Shape3,
    layer: &Layer,
) -> Option<ConvTranspose2dShape> {
    match *layer {
        Layer::ConvTranspose {
            out_channels,
            kernel,
            stride,
            padding,
            ..
        } => Some(ConvTranspose2dShape {
            batch,
            in_channels: input.c,
            out_channels,
            height: input.h,
            width: input.w,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding,
            output_padding: 0,
        }),
        _ => None,
    }
}

pub(crate) fn dense_shape(batch: u32, input: Shape3, layer: &Layer) -> Option<DenseShape> {
    match *layer {
        Layer::Dense { out_features, .. } => Some(DenseShape {
            batch,
            in_features: input.len() as u32,
            out_features,
        }),
        _ => None,
    }
}

fn output_shape(i: usize, layer: &Layer, input: Shape3) -> Result<Shape3> {
    let op = "model";
    match *layer {
        Layer::Dense { out_features, .. } => Ok(Shape3::new(out_features, 1, 1)),
        Layer::Reshape(to) => {
            if to.len() != input.len() {
                return Err(shape_error(
                    op,
                    format!(
                        "layer {i}: cannot view {input:?} ({} values) as {to:?}",
                        input.len()
                    ),
                ));
            }
            Ok(to)
        }
        Layer::Conv { out_channels, .. } => {
            let (h, w, _, _) = conv_shape(1, input, layer)
                .expect("a conv layer")
                .output()?;
            Ok(Shape3::new(out_channels, h, w))
        }
        Layer::ConvTranspose { out_channels, .. } => {
            let (h, w) = conv_transpose_shape(1, input, layer)
                .expect("a transposed conv layer")
                .output()?;
            Ok(Shape3::new(out_channels, h, w))
        }
        Layer::BatchNorm | Layer::Activation(_) => Ok(input),
    }
}

//! Batch normalisation over channels (PyTorch's `BatchNorm1d` / `BatchNorm2d`, train and eval
//! modes) on `shaders/batch_norm.wgsl`, whose header gives the maths.
//!
//! Per-channel vectors travel in pairs, `[2, channels]`: `affine` = [γ; β], `daffine` =
//! [dγ; dβ], `running` = [running mean; running var] and one more element, the count of
//! updates. Separately the layer would need 11 storage buffers, and WebGPU allows 8 per stage.
//! A checkpoint names the parts as PyTorch does (`weight`, `bias`, `running_mean`,
//! `running_var`, `num_batches_tracked`).

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::activation::Activation;
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "batch_norm.wgsl",
    source: include_str!("../../shaders/batch_norm.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // input
        Access::Read,      // doutput
        Access::Read,      // affine
        Access::ReadWrite, // running
        Access::ReadWrite, // saved
        Access::ReadWrite, // output
        Access::ReadWrite, // dinput
        Access::ReadWrite, // daffine
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;

/// WebGPU's limit on workgroups per grid dimension: the per-channel kernels use one each.
const MAX_CHANNELS: u32 = 65_535;
const SEGMENT_VALUES: usize = 256;
const MAX_SEGMENTS: usize = 64;

/// Elements of `running` for `channels`: [running mean; running var; updates].
pub fn running_len(channels: u32) -> usize {
    2 * channels as usize + 1
}

/// `running` as PyTorch initialises the statistics, zeros then ones, with no updates yet.
pub fn initial_running(channels: u32) -> Vec<f32> {
    let c = channels as usize;
    [vec![0.0; c], vec![1.0; c], vec![0.0]].concat()
}

/// input [batch, channels, pixels]; pixels = height·width, or 1 after a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNormShape {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
}

impl BatchNormShape {
    const OP: &'static str = "batch_norm";

    /// Elements of input, output, doutput and dinput.
    pub fn tensor_len(&self) -> usize {
        self.batch as usize * self.channels as usize * self.pixels as usize
    }

    /// M: how many values of each channel the batch statistics run over.
    pub fn per_channel(&self) -> usize {
        self.batch as usize * self.pixels as usize
    }

    /// Elements of `saved`: [mean; invstd; Σdy; Σdy·x̂] per channel.
    /// Slices each channel's batch·pixels values are cut into for the reductions: about
    /// `SEGMENT_VALUES` values per thread, so that a few channels of many values still keep
    /// many threads busy.
    pub fn segments(&self) -> u32 {
        self.per_channel()
            .div_ceil(SEGMENT_VALUES)
            .clamp(1, MAX_SEGMENTS) as u32
    }

    /// [mean; invstd; sum dy; sum dy·xhat] and two rows of partial results per segment.
    pub fn saved_len(&self) -> usize {
        (4 + 2 * self.segments() as usize) * self.channels as usize
    }

    /// [γ; β] as PyTorch initialises them: ones, then zeros.
    pub fn initial_affine(&self) -> Vec<f32> {
        let c = self.channels as usize;
        [vec![1.0; c], vec![0.0; c]].concat()
    }

    fn check(&self) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.pixels == 0 {
            return Err(shape_error(
                Self::OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        if self.per_channel() < 2 {
            return Err(shape_error(
                Self::OP,
                "train mode needs more than one value per channel (batch·pixels ≥ 2), as in \
                 PyTorch: the variance of one value is undefined",
            ));
        }
        if self.channels > MAX_CHANNELS {
            return Err(shape_error(
                Self::OP,
                format!(
                    "{} channels exceed the {MAX_CHANNELS} supported",
                    self.channels
                ),
            ));
        }
        if self.tensor_len() > u32::MAX as usize {
            return Err(shape_error(Self::OP, "more than 2^32 elements"));
        }
        Ok(())
    }
}

/// Hyperparameters and where gradients go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormOptions {
    /// Added to the variance before the square root; PyTorch's default 1e-5.
    pub eps: f32,
    /// Weight of the new batch in the running statistics; PyTorch's default 0.1.
    pub momentum: f32,
    /// Add into dinput instead of overwriting it.
    pub accumulate_input: bool,
    /// Add into daffine instead of overwriting it.
    pub accumulate_params: bool,
    /// The activation that follows, done in the same passes: the output is relu(y) or leaky
    /// relu(y), and doutput is d loss / d that. Only these two (with a slope ≥ 0), whose
    /// derivative the output tells as well as y does.
    pub activation: Option<Activation>,
}

/// The slope of `a` below 0 when the batch norm can apply it: relu (0) and leaky relu with a
/// finite slope ≥ 0, whose output is > 0 exactly where its input is.
pub fn fused_slope(a: Activation) -> Option<f32> {
    match a {
        Activation::Relu => Some(0.0),
        Activation::LeakyRelu(s) if s >= 0.0 && s.is_finite() => Some(s),
        _ => None,
    }
}

impl Default for BatchNormOptions {
    /// PyTorch's eps and momentum; both gradients overwritten.
    fn default() -> Self {
        BatchNormOptions {
            eps: 1e-5,
            momentum: 0.1,
            accumulate_input: false,
            accumulate_params: false,
            activation: None,
        }
    }
}

/// The buffers of one batch-norm layer. All must be different buffers: WebGPU forbids a
/// buffer bound twice in one dispatch when either binding writes it.
pub struct BatchNormBuffers<'a> {
    /// [batch, channels, pixels]
    pub input: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub output: &'a wgpu::Buffer,
    /// [2, channels] = [γ; β]
    pub affine: &'a wgpu::Buffer,
    /// [2, channels] + 1 = [running mean; running var; updates], moved by every train-mode
    /// forward.
    pub running: &'a wgpu::Buffer,
    /// [4, channels] = [mean; invstd; Σdy; Σdy·x̂]: from a train-mode forward to its backward.
    pub saved: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub doutput: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub dinput: &'a wgpu::Buffer,
    /// [2, channels] = [dγ; dβ]
    pub daffine: &'a wgpu::Buffer,
}

impl BatchNormBuffers<'_> {
    /// (name, buffer, elements needed) in binding order, after the uniform.
    fn named(&self, s: &BatchNormShape) -> [(&'static str, &wgpu::Buffer, usize); 8] {
        let (tensor, pair) = (s.tensor_len(), 2 * s.channels as usize);
        [
            ("input", self.input, tensor),
            ("doutput", self.doutput, tensor),
            ("affine", self.affine, pair),
            ("running", self.running, running_len(s.channels)),
            ("saved", self.saved, s.saved_len()),
            ("output", self.output, tensor),
            ("dinput", self.dinput, tensor),
            ("daffine", self.daffine, pair),
        ]
    }

    /// The buffers in binding order, once each is checked for size and distinctness.
    fn checked(&self, s: &BatchNormShape) -> Result<[&wgpu::Buffer; 8]> {
        let named = self.named(s);
        for (i, &(name, buffer, len)) in named.iter().enumerate() {
            check_len(BatchNormShape::OP, name, buffer, len)?;
            if let Some((other, _, _)) = named[..i].iter().find(|(_, b, _)| *b == buffer) {
                return Err(Error::Invalid(format!(
                    "batch_norm: {other} and {name} are the same buffer; every buffer of the \
                     layer must be distinct"
                )));
            }
        }
        Ok(named.map(|(_, buffer, _)| buffer))
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct BatchNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    momentum: f32,
    eval: u32,
    accumulate: u32,
    segments: u32,
    slope: f32,
    pad: [u32; 3],
}

/// One batch-norm layer with its dispatches built: record `forward_train` then `backward`
/// in a training step, `forward_eval` to sample.
pub struct BatchNorm {
    pub shape: BatchNormShape,
    statistics_partial: Dispatch,
    statistics: Dispatch,
    normalize_train: Dispatch,
    normalize_eval: Dispatch,
    backward_partial: Dispatch,
    backward_reduce: Dispatch,
    backward_input: Dispatch,
}

impl BatchNorm {
    pub fn new(
        gpu: &Gpu,
        shape: BatchNormShape,
        options: BatchNormOptions,
        buffers: &BatchNormBuffers,
    ) -> Result<BatchNorm> {
        shape.check()?;
        let all = buffers.checked(&shape)?;
        if !(options.eps > 0.0 && options.eps.is_finite()) {
            return Err(Error::Invalid(format!(
                "batch_norm: eps must be positive and finite, not {}",
                options.eps
            )));
        }
        if !(0.0..=1.0).contains(&options.momentum) {
            return Err(Error::Invalid(format!(
                "batch_norm: momentum must lie in [0, 1], not {}",
                options.momentum
            )));
        }
        let slope = match options.activation {
            None => None,
            Some(a) => Some(fused_slope(a).ok_or_else(|| {
                Error::Invalid(format!(
                    "batch_norm: only relu and leaky relu with a slope of 0 or more can follow                      in the same pass, not {a:?}"
                ))
            })?),
        };
        let params = BatchNormParams {
            batch: shape.batch,
            channels: shape.channels,
            pixels: shape.pixels,
            eps: options.eps,
            momentum: options.momentum,
            eval: 0,
            accumulate: 0,
            segments: shape.segments(),
            slope: slope.unwrap_or(0.0),
            pad: [0; 3],
        };
        let constants: &[(&str, u32)] = if slope.is_some() {
            &[("RECTIFY", 1)]
        } else {
            &[]
        };
        let per_channel = grid_1d(shape.channels as usize, GROUP);
        let per_segment = grid_1d(shape.channels as usize * shape.segments() as usize, GROUP);
        let per_element = grid_1d(shape.tensor_len(), GROUP);
        let build = |entry, label, params: BatchNormParams, grid| -> Result<Dispatch> {
            let mut d = Dispatch::new(gpu, &SHADER, entry, constants, &params, &all, grid)?;
            d.label = label;
            Ok(d)
        };
        Ok(BatchNorm {
            shape,
            statistics_partial: build(
                "statistics_partial",
                "batch norm statistics",
                params,
                per_segment,
            )?,
            statistics: build("statistics", "batch norm statistics", params, per_channel)?,
            normalize_train: build("normalize", "batch norm normalize", params, per_element)?,
            normalize_eval: build(
                "normalize",
                "batch norm normalize (eval)",
                BatchNormParams { eval: 1, ..params },
                per_element,
            )?,
            backward_partial: build(
                "backward_partial",
                "batch norm backward_reduce",
                params,
                per_segment,
            )?,
            backward_reduce: build(
                "backward_reduce",
                "batch norm backward_reduce",
                BatchNormParams {
                    accumulate: options.accumulate_params as u32,
                    ..params
                },
                per_channel,
            )?,
            backward_input: build(
                "backward_input",
                "batch norm backward_input",
                BatchNormParams {
                    accumulate: options.accumulate_input as u32,
                    ..params
                },
                per_element,
            )?,
        })
    }

    /// Train mode: batch statistics into `saved`, `running` updated, then output.
    pub fn forward_train(&self) -> [&Dispatch; 3] {
        [
            &self.statistics_partial,
            &self.statistics,
            &self.normalize_train,
        ]
    }

    /// Eval mode: output from the running statistics; nothing else changes.
    pub fn forward_eval(&self) -> [&Dispatch; 1] {
        [&self.normalize_eval]
    }

    /// (train forward, eval forward, backward), owned: for a graph's program, which records
    /// the ones its pass needs.
    pub fn into_dispatches(self) -> (Vec<Dispatch>, Vec<Dispatch>, Vec<Dispatch>) {
        (
            vec![
                self.statistics_partial,
                self.statistics,
                self.normalize_train,
            ],
            vec![self.normalize_eval],
            vec![
                self.backward_partial,
                self.backward_reduce,
                self.backward_input,
            ],
        )
    }

    /// dinput and daffine (each overwritten or added to, as the options say), from the batch
    /// statistics that the last `forward_train` left in `saved`.
    pub fn backward(&self) -> [&Dispatch; 3] {
        [
            &self.backward_partial,
            &self.backward_reduce,
            &self.backward_input,
        ]
    }
}

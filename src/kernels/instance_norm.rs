//! Instance normalisation (PyTorch's `InstanceNorm2d`, track_running_stats=False, as CycleGAN
//! uses it) on `shaders/instance_norm.wgsl`, whose header gives the maths: each (sample,
//! channel) plane is normalised over its own pixels, in training and sampling alike.
//!
//! The affine parameters are optional (PyTorch's default is affine=False); when present they
//! travel as batch norm's do, `[2, channels]`: `affine` = [γ; β], `daffine` = [dγ; dβ]. A ReLU
//! or leaky ReLU after the layer may be done in its passes, as batch norm's.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::activation::Activation;
use crate::kernels::batch_norm::fused_slope;
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "instance_norm.wgsl",
    source: concat!(
        include_str!("../../shaders/instance_norm_common.wgsl"),
        include_str!("../../shaders/instance_norm.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

/// The elementwise passes a vec4 a thread, for planes of a multiple of 4 pixels.
pub const SHADER_VEC4: Shader = Shader {
    name: "instance_norm_vec4.wgsl",
    source: concat!(
        include_str!("../../shaders/instance_norm_common.wgsl"),
        include_str!("../../shaders/instance_norm_vec4.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,      // input
    Access::Read,      // doutput
    Access::Read,      // affine
    Access::ReadWrite, // saved
    Access::ReadWrite, // output
    Access::ReadWrite, // dinput
    Access::ReadWrite, // daffine
];

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;

/// Values each thread of a split reduction sums, about: a 256×256 plane is shared by 256
/// threads, a 7×9 one is summed by one.
const SEGMENT_VALUES: usize = 256;
const MAX_SEGMENTS: usize = 256;

/// input [batch, channels, pixels]; pixels = height·width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceNormShape {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
}

impl InstanceNormShape {
    const OP: &'static str = "instance_norm";

    /// Elements of input, output, doutput and dinput.
    pub fn tensor_len(&self) -> usize {
        self.planes() * self.pixels as usize
    }

    /// batch·channels: the planes normalised one by one.
    pub fn planes(&self) -> usize {
        self.batch as usize * self.channels as usize
    }

    /// Threads that share each plane's reductions: about `SEGMENT_VALUES` values each.
    pub fn segments(&self) -> u32 {
        (self.pixels as usize)
            .div_ceil(SEGMENT_VALUES)
            .clamp(1, MAX_SEGMENTS) as u32
    }

    /// Elements of `saved`: [mean; invstd; Σdy; Σdy·x̂] per plane and two rows of partial
    /// results per segment.
    pub fn saved_len(&self) -> usize {
        (4 + 2 * self.segments() as usize) * self.planes()
    }

    /// Elements of `affine` and `daffine`: [2, channels].
    pub fn affine_len(&self) -> usize {
        2 * self.channels as usize
    }

    /// [γ; β] as PyTorch initialises them: ones, then zeros.
    pub fn initial_affine(&self) -> Vec<f32> {
        let c = self.channels as usize;
        [vec![1.0; c], vec![0.0; c]].concat()
    }

    pub fn check(&self) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.pixels == 0 {
            return Err(shape_error(
                Self::OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        if self.pixels < 2 {
            return Err(shape_error(
                Self::OP,
                "each plane needs more than one pixel, as in PyTorch: a 1×1 image normalised \
                 over itself is always β",
            ));
        }
        // The per-plane and per-segment grids go through grid_1d, which spreads over two
        // dimensions; only the u32 indices of the shader bound the sizes.
        let partials = self.planes() as u64 * (4 + 2 * self.segments() as u64);
        if self.tensor_len() as u64 > u32::MAX as u64 || partials > u32::MAX as u64 {
            return Err(shape_error(Self::OP, "more than 2^32 elements"));
        }
        Ok(())
    }
}

/// Hyperparameters and where gradients go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormOptions {
    /// Added to the variance before the square root; PyTorch's default 1e-5.
    pub eps: f32,
    /// Add into dinput instead of overwriting it.
    pub accumulate_input: bool,
    /// Add into daffine instead of overwriting it (affine layers only).
    pub accumulate_params: bool,
    /// The activation after the layer, done in its passes: output is then relu(y) or leaky
    /// relu(y), and doutput is d loss / d that. Only these two (with a slope ≥ 0), as batch
    /// norm's (see [`fused_slope`]).
    pub activation: Option<Activation>,
}

impl Default for InstanceNormOptions {
    /// PyTorch's eps; both gradients overwritten.
    fn default() -> Self {
        InstanceNormOptions {
            eps: 1e-5,
            accumulate_input: false,
            accumulate_params: false,
            activation: None,
        }
    }
}

/// The learnt parameters of an affine layer and their gradient.
#[derive(Clone, Copy)]
pub struct InstanceNormAffine<'a> {
    /// [2, channels] = [γ; β]
    pub affine: &'a wgpu::Buffer,
    /// [2, channels] = [dγ; dβ]
    pub daffine: &'a wgpu::Buffer,
}

/// The buffers of one instance-norm layer. All must be different buffers: WebGPU forbids a
/// buffer bound twice in one dispatch when either binding writes it.
pub struct InstanceNormBuffers<'a> {
    /// [batch, channels, pixels]
    pub input: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub output: &'a wgpu::Buffer,
    /// [`InstanceNormShape::saved_len`]: the planes' statistics, from forward to backward.
    pub saved: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub doutput: &'a wgpu::Buffer,
    /// [batch, channels, pixels]
    pub dinput: &'a wgpu::Buffer,
    /// None: PyTorch's default affine=False, y = x̂.
    pub affine: Option<InstanceNormAffine<'a>>,
}

impl InstanceNormBuffers<'_> {
    /// The buffers in binding order (after the uniform), once each is checked for size and
    /// distinctness; a layer without parameters binds one-element spares in their place.
    fn checked<'b>(
        &'b self,
        s: &InstanceNormShape,
        spares: &'b [wgpu::Buffer; 2],
    ) -> Result<[&'b wgpu::Buffer; 7]> {
        let tensor = s.tensor_len();
        let (affine, daffine, pair) = match &self.affine {
            Some(a) => (a.affine, a.daffine, s.affine_len()),
            None => (&spares[0], &spares[1], 1),
        };
        let named = [
            ("input", self.input, tensor),
            ("doutput", self.doutput, tensor),
            ("affine", affine, pair),
            ("saved", self.saved, s.saved_len()),
            ("output", self.output, tensor),
            ("dinput", self.dinput, tensor),
            ("daffine", daffine, pair),
        ];
        for (i, &(name, buffer, len)) in named.iter().enumerate() {
            check_len(InstanceNormShape::OP, name, buffer, len)?;
            if let Some((other, _, _)) = named[..i].iter().find(|(_, b, _)| *b == buffer) {
                return Err(Error::Invalid(format!(
                    "instance_norm: {other} and {name} are the same buffer; every buffer of \
                     the layer must be distinct"
                )));
            }
        }
        Ok(named.map(|(_, buffer, _)| buffer))
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct InstanceNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    accumulate: u32,
    segments: u32,
    slope: f32,
    pad: u32,
}

/// One instance-norm layer with its dispatches built: record `forward`, then `backward` in a
/// training step. There are no running statistics: sampling records `forward` too.
pub struct InstanceNorm {
    pub shape: InstanceNormShape,
    forward: [Dispatch; 3],
    backward: [Dispatch; 3],
}

impl InstanceNorm {
    pub fn new(
        gpu: &Gpu,
        shape: InstanceNormShape,
        options: InstanceNormOptions,
        buffers: &InstanceNormBuffers,
    ) -> Result<InstanceNorm> {
        shape.check()?;
        let spares = [gpu.storage("no affine", 1), gpu.storage("no daffine", 1)];
        let all = buffers.checked(&shape, &spares)?;
        if !(options.eps > 0.0 && options.eps.is_finite()) {
            return Err(Error::Invalid(format!(
                "instance_norm: eps must be positive and finite, not {}",
                options.eps
            )));
        }
        let affine = buffers.affine.is_some();
        let slope = match options.activation {
            None => None,
            Some(a) => Some(fused_slope(a).ok_or_else(|| {
                Error::Invalid(format!(
                    "instance_norm: only relu and leaky relu with a slope of 0 or more can \
                     follow in the same pass, not {a:?}"
                ))
            })?),
        };
        let params = InstanceNormParams {
            batch: shape.batch,
            channels: shape.channels,
            pixels: shape.pixels,
            eps: options.eps,
            accumulate: 0,
            segments: shape.segments(),
            slope: slope.unwrap_or(0.0),
            pad: 0,
        };
        let mut constants = Vec::new();
        if affine {
            constants.push(("AFFINE", 1));
        }
        if slope.is_some() {
            constants.push(("RECTIFY", 1));
        }
        let per_plane = grid_1d(shape.planes(), GROUP);
        let per_segment = grid_1d(shape.planes() * shape.segments() as usize, GROUP);
        // The elementwise passes take a vec4 a thread where no vec4 straddles two planes.
        let vec4 = shape.pixels.is_multiple_of(4);
        let per_element = grid_1d(shape.tensor_len() / if vec4 { 4 } else { 1 }, GROUP);
        let build = |entry: &'static str, label, accumulate: bool, grid| -> Result<Dispatch> {
            let params = InstanceNormParams {
                accumulate: accumulate as u32,
                ..params
            };
            let (shader, entry) = match entry {
                "normalize" if vec4 => (&SHADER_VEC4, "normalize4"),
                "backward_input" if vec4 => (&SHADER_VEC4, "backward_input4"),
                _ => (&SHADER, entry),
            };
            let mut d = Dispatch::new(gpu, shader, entry, &constants, &params, &all, grid)?;
            d.label = label;
            Ok(d)
        };
        let statistics = "instance norm statistics";
        let reduce = "instance norm backward_reduce";
        let mut backward_reduce = build("backward_reduce", reduce, false, per_plane)?;
        if affine {
            let per_channel = grid_1d(shape.channels as usize, GROUP);
            let params = build(
                "backward_params",
                reduce,
                options.accumulate_params,
                per_channel,
            )?;
            backward_reduce = backward_reduce.then(params);
        }
        Ok(InstanceNorm {
            shape,
            forward: [
                build("statistics_partial", statistics, false, per_segment)?,
                build("statistics", statistics, false, per_plane)?,
                build("normalize", "instance norm normalize", false, per_element)?,
            ],
            backward: [
                build("backward_partial", reduce, false, per_segment)?,
                backward_reduce,
                build(
                    "backward_input",
                    "instance norm backward_input",
                    options.accumulate_input,
                    per_element,
                )?,
            ],
        })
    }

    /// The planes' statistics into `saved`, then output.
    pub fn forward(&self) -> [&Dispatch; 3] {
        self.forward.each_ref()
    }

    /// dinput, and daffine for an affine layer (each overwritten or added to, as the options
    /// say), from the statistics that the last `forward` left in `saved`.
    pub fn backward(&self) -> [&Dispatch; 3] {
        self.backward.each_ref()
    }
}

//! Elementwise activations of `shaders/activation.wgsl`: ReLU, LeakyReLU, SELU, tanh and
//! sigmoid. Layout-agnostic: they see `len` elements.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "activation.wgsl",
    source: concat!(
        include_str!("../../shaders/activation_common.wgsl"),
        include_str!("../../shaders/activation.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

/// A vec4 a thread, for lengths of a multiple of 4.
pub const SHADER_VEC4: Shader = Shader {
    name: "activation_vec4.wgsl",
    source: concat!(
        include_str!("../../shaders/activation_common.wgsl"),
        include_str!("../../shaders/activation_vec4.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
    Access::ReadWrite,
];

/// The shader, entry point and grid for `len` elements: a vec4 a thread when `len` is a
/// multiple of 4.
fn variant(entry: &'static str, len: usize) -> (&'static Shader, &'static str, [u32; 3]) {
    match (entry, len.is_multiple_of(4)) {
        ("forward", true) => (&SHADER_VEC4, "forward4", grid_1d(len / 4, GROUP)),
        ("backward", true) => (&SHADER_VEC4, "backward4", grid_1d(len / 4, GROUP)),
        _ => (&SHADER, entry, grid_1d(len, GROUP)),
    }
}

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;

/// Which function; the numbering matches the shader's `kind`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(x, 0)
    Relu,
    /// x for x > 0, slope·x otherwise (PyTorch's default slope is 0.01, DCGAN's 0.2).
    LeakyRelu(f32),
    /// scale·x for x > 0, scale·α·(eˣ − 1) otherwise, with PyTorch's α and scale.
    Selu,
    Tanh,
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
}

impl Activation {
    pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;
    pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

    fn kind(self) -> u32 {
        match self {
            Activation::Relu => 0,
            Activation::LeakyRelu(_) => 1,
            Activation::Selu => 2,
            Activation::Tanh => 3,
            Activation::Sigmoid => 4,
        }
    }

    fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu(slope) => slope,
            _ => 0.0,
        }
    }

    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Activation::Relu => ("relu forward", "relu backward"),
            Activation::LeakyRelu(_) => ("leaky relu forward", "leaky relu backward"),
            Activation::Selu => ("selu forward", "selu backward"),
            Activation::Tanh => ("tanh forward", "tanh backward"),
            Activation::Sigmoid => ("sigmoid forward", "sigmoid backward"),
        }
    }

    fn params(self, len: usize, accumulate: bool) -> Result<ActivationParams> {
        if !self.slope().is_finite() {
            return Err(Error::Invalid(format!(
                "the slope of a leaky relu must be finite, not {}",
                self.slope()
            )));
        }
        let len = u32::try_from(len).map_err(|_| {
            crate::error::shape_error("activation", format!("{len} elements exceed 2^32"))
        })?;
        Ok(ActivationParams {
            len,
            kind: self.kind(),
            slope: self.slope(),
            accumulate: accumulate as u32,
        })
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ActivationParams {
    len: u32,
    kind: u32,
    slope: f32,
    accumulate: u32,
}

/// Two bindings of one dispatch must be different buffers when either is written.
fn check_distinct(
    op: &'static str,
    a: (&str, &wgpu::Buffer),
    b: (&str, &wgpu::Buffer),
) -> Result<()> {
    if a.1 == b.1 {
        return Err(Error::Invalid(format!(
            "{op}: {} and {} must be different buffers (WebGPU forbids reading and writing one \
             buffer in a dispatch)",
            a.0, b.0
        )));
    }
    Ok(())
}

/// output[..len] = f(input[..len])
pub fn forward(
    gpu: &Gpu,
    kind: Activation,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
    len: usize,
) -> Result<Dispatch> {
    let (label, _) = kind.labels();
    check_len(label, "input", input, len)?;
    check_len(label, "output", output, len)?;
    check_distinct(label, ("input", input), ("output", output))?;
    let params = kind.params(len, false)?;
    // The backward bindings must exist; forward never touches them.
    let (doutput, dinput) = (gpu.storage("unused", 1), gpu.storage("unused", 1));
    let (shader, entry, grid) = variant("forward", len);
    let mut d = Dispatch::new(
        gpu,
        shader,
        entry,
        &[],
        &params,
        &[input, &doutput, output, &dinput],
        grid,
    )?;
    d.label = label;
    Ok(d)
}

/// dinput[..len] (+)= doutput[..len] · f′(input[..len]), where `input` is the forward input;
/// `accumulate` adds into dinput instead of overwriting it.
pub fn backward(
    gpu: &Gpu,
    kind: Activation,
    input: &wgpu::Buffer,
    doutput: &wgpu::Buffer,
    dinput: &wgpu::Buffer,
    len: usize,
    accumulate: bool,
) -> Result<Dispatch> {
    let (_, label) = kind.labels();
    check_len(label, "input", input, len)?;
    check_len(label, "doutput", doutput, len)?;
    check_len(label, "dinput", dinput, len)?;
    check_distinct(label, ("input", input), ("dinput", dinput))?;
    check_distinct(label, ("doutput", doutput), ("dinput", dinput))?;
    let params = kind.params(len, accumulate)?;
    let output = gpu.storage("unused", 1);
    let (shader, entry, grid) = variant("backward", len);
    let mut d = Dispatch::new(
        gpu,
        shader,
        entry,
        &[],
        &params,
        &[input, doutput, &output, dinput],
        grid,
    )?;
    d.label = label;
    Ok(d)
}

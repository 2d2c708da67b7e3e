//! DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
//! Training") on `shaders/augment.wgsl`, whose header gives the maths: the authors' policy
//! `color,translation,cutout` on [batch, channels, height, width] images, with parameters drawn
//! per sample and every backward a gather, so that D's gradient reaches G through the
//! augmentation.
//!
//! A draw writes 8 Philox words per sample into `params` (random.wgsl's fill, keyed by seed,
//! stream and the GPU-side step) and turns them into the sample's brightness, saturation and
//! contrast factors, translation and cutout offset ([`SampleParams`]). Each augmented pass (the
//! real batch, the fake one) draws from its own stream, `streams::augment(k)`; recording
//! `random::advance` on the counter between steps gives each step fresh parameters.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::random::{self, Distribution};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

mod policy;
pub use policy::{AugmentShape, Kind, Policy, SampleParams};

pub const SHADER: Shader = Shader {
    name: "augment.wgsl",
    source: include_str!("../../shaders/augment.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // input
        Access::Read,      // doutput
        Access::ReadWrite, // params
        Access::ReadWrite, // saved
        Access::ReadWrite, // output
        Access::ReadWrite, // dinput
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;
const OP: &str = "augment";

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct AugmentParams {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    shift_h: u32,
    shift_w: u32,
    cutout_h: u32,
    cutout_w: u32,
    segments: u32,
    gradient: u32,
    accumulate: u32,
    pad: u32,
}

impl AugmentParams {
    fn of(s: &AugmentShape) -> AugmentParams {
        let [shift_h, shift_w] = s.translation_limit();
        let [cutout_h, cutout_w] = s.cutout_size();
        AugmentParams {
            batch: s.batch,
            channels: s.channels,
            height: s.height,
            width: s.width,
            shift_h,
            shift_w,
            cutout_h,
            cutout_w,
            segments: s.segments(),
            ..Default::default()
        }
    }
}

/// Where the random words come from: `random::fill`'s (seed, stream, counter[counter_index]).
#[derive(Clone, Copy)]
pub struct AugmentDraw<'a> {
    pub seed: u64,
    /// `streams::augment(k)` for the k-th augmented pass of a step.
    pub stream: u32,
    /// u32 words; word `counter_index` is the step.
    pub counter: &'a wgpu::Buffer,
    pub counter_index: u32,
}

/// The drawn parameters of every sample into `params` ([`AugmentShape::params_len`] words):
/// random.wgsl's fill of 8 Philox words per sample, then augment.wgsl's `draw` in place.
pub fn draw(
    gpu: &Gpu,
    shape: &AugmentShape,
    draw: AugmentDraw,
    params: &wgpu::Buffer,
) -> Result<Dispatch> {
    shape.check()?;
    check_len(OP, "params", params, shape.params_len())?;
    let fill = random::fill(
        gpu,
        Distribution::Bits,
        draw.seed,
        draw.stream,
        draw.counter,
        draw.counter_index,
        params,
        shape.params_len(),
    )?;
    let [read, saved, write, dwrite] = spares(gpu);
    let buffers = [&read, &read, params, &saved, &write, &dwrite];
    let mut words_to_params = Dispatch::new(
        gpu,
        &SHADER,
        "draw",
        &[],
        &AugmentParams::of(shape),
        &buffers,
        grid_1d(shape.batch as usize, GROUP),
    )?;
    words_to_params.label = "augment draw";
    Ok(fill.then(words_to_params))
}

/// One-element stand-ins for the bindings an entry point does not touch: one for both reads,
/// one for each writable binding (WebGPU refuses a buffer bound twice where either binding
/// writes it).
fn spares(gpu: &Gpu) -> [wgpu::Buffer; 4] {
    [(); 4].map(|_| gpu.storage("unused", 1))
}

/// Each (name, buffer, elements needed) holds enough elements and is no other's buffer: WebGPU
/// refuses a buffer bound twice in one dispatch where either binding writes it.
fn check_buffers(named: &[(&str, &wgpu::Buffer, usize)]) -> Result<()> {
    for (i, &(name, buffer, need)) in named.iter().enumerate() {
        check_len(OP, name, buffer, need)?;
        if let Some((other, _, _)) = named[..i].iter().find(|(_, b, _)| *b == buffer) {
            return Err(Error::Invalid(format!(
                "augment: {other} and {name} are the same buffer; they must be distinct"
            )));
        }
    }
    Ok(())
}

/// What an augmentation reads besides its tensor: the samples' drawn parameters and, for
/// color, room for the sample means ([`AugmentShape::saved_len`]; any buffer otherwise).
#[derive(Clone, Copy)]
pub struct Stage<'a> {
    pub kind: Kind,
    pub params: &'a wgpu::Buffer,
    pub saved: &'a wgpu::Buffer,
}

/// Which way a stage runs, with the tensor it reads and the one it writes.
#[derive(Clone, Copy)]
enum Way<'a> {
    Forward {
        input: &'a wgpu::Buffer,
        output: &'a wgpu::Buffer,
    },
    Backward {
        doutput: &'a wgpu::Buffer,
        dinput: &'a wgpu::Buffer,
        accumulate: bool,
    },
}

/// output = the augmentation `stage.kind` of input, with the parameters in `stage.params`.
pub fn forward(
    gpu: &Gpu,
    shape: &AugmentShape,
    stage: &Stage,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
) -> Result<Dispatch> {
    build(gpu, shape, stage, Way::Forward { input, output })
}

/// dinput (+)= the gradient through the augmentation `stage.kind` of doutput, with the
/// parameters of the last forward.
pub fn backward(
    gpu: &Gpu,
    shape: &AugmentShape,
    stage: &Stage,
    doutput: &wgpu::Buffer,
    dinput: &wgpu::Buffer,
    accumulate: bool,
) -> Result<Dispatch> {
    let way = Way::Backward {
        doutput,
        dinput,
        accumulate,
    };
    build(gpu, shape, stage, way)
}

/// The dispatches of one stage: for color, the sample means (of input forward, of doutput
/// backward) first.
fn build(gpu: &Gpu, shape: &AugmentShape, stage: &Stage, way: Way) -> Result<Dispatch> {
    shape.check()?;
    let [read, spare_saved, write, _] = spares(gpu);
    let color = stage.kind == Kind::Color;
    let saved = if color { stage.saved } else { &spare_saved };
    let (from, to, names, backward, accumulate) = match way {
        Way::Forward { input, output } => (input, output, ("input", "output"), false, false),
        Way::Backward {
            doutput,
            dinput,
            accumulate,
        } => (doutput, dinput, ("doutput", "dinput"), true, accumulate),
    };
    let len = shape.tensor_len();
    check_buffers(&[
        (names.0, from, len),
        (names.1, to, len),
        ("params", stage.params, shape.params_len()),
        ("saved", saved, if color { shape.saved_len() } else { 1 }),
    ])?;
    let buffers = if backward {
        [&read, from, stage.params, saved, &write, to]
    } else {
        [from, &read, stage.params, saved, to, &write]
    };
    let params = AugmentParams {
        gradient: backward as u32,
        accumulate: accumulate as u32,
        ..AugmentParams::of(shape)
    };
    let entry = match (stage.kind, backward) {
        (Kind::Color, false) => "color",
        (Kind::Translation, false) => "translation",
        (Kind::Cutout, false) => "cutout",
        (Kind::Color, true) => "color_backward",
        (Kind::Translation, true) => "translation_backward",
        (Kind::Cutout, true) => "cutout_backward",
    };
    let dispatch = |entry, grid| Dispatch::new(gpu, &SHADER, entry, &[], &params, &buffers, grid);
    let mut d = dispatch(entry, grid_1d(len, GROUP))?;
    if color {
        let segments = shape.batch as usize * shape.segments() as usize;
        d = dispatch("mean_partial", grid_1d(segments, GROUP))?
            .then(dispatch("mean", grid_1d(shape.batch as usize, GROUP))?)
            .then(d);
    }
    d.label = if backward {
        "augment backward"
    } else {
        "augment forward"
    };
    Ok(d)
}

/// The buffers of one augmented pass, each [batch, channels, height, width] but `params`, and
/// all distinct.
pub struct AugmentBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    /// u32 words, [`AugmentShape::params_len`]: the samples' parameters, from the draw to the
    /// forward and the backward.
    pub params: &'a wgpu::Buffer,
    pub doutput: &'a wgpu::Buffer,
    pub dinput: &'a wgpu::Buffer,
}

/// DiffAugment with a policy, its dispatches built: record `forward` (a fresh draw, then each
/// augmentation in the policy's order) and, when the input's gradient is wanted, `backward`
/// before the next `forward` redraws the parameters it uses.
///
/// Between two augmentations the tensor goes through buffers of its own, which the backward
/// reuses for the gradients in between: no backward reads an activation, only doutput and
/// the parameters, as every augmentation is affine in its input.
pub struct Augment {
    pub shape: AugmentShape,
    pub policy: Policy,
    draw: Dispatch,
    apply: Vec<Dispatch>,
    backward: Vec<Dispatch>,
    /// The tensors between augmentations and color's sample means, kept alive with the bind
    /// groups that point at them.
    _scratch: Vec<wgpu::Buffer>,
}

impl Augment {
    /// The augmentations of `policy` (at least one, each at most once) drawn from `draw`;
    /// `accumulate_input` adds the gradient into dinput instead of overwriting it.
    pub fn new(
        gpu: &Gpu,
        shape: AugmentShape,
        policy: &[Kind],
        draw: AugmentDraw,
        buffers: &AugmentBuffers,
        accumulate_input: bool,
    ) -> Result<Augment> {
        shape.check()?;
        let policy = Policy::new(policy)?;
        if policy.is_empty() {
            return Err(Error::Invalid(
                "augment: the policy is empty; name at least one of color, translation and \
                 cutout, or use the images as they are"
                    .into(),
            ));
        }
        let len = shape.tensor_len();
        check_buffers(&[
            ("input", buffers.input, len),
            ("output", buffers.output, len),
            ("params", buffers.params, shape.params_len()),
            ("doutput", buffers.doutput, len),
            ("dinput", buffers.dinput, len),
        ])?;
        let kinds = policy.kinds();
        let saved_len = if kinds.contains(&Kind::Color) {
            shape.saved_len()
        } else {
            1
        };
        let saved = gpu.storage("augment saved", saved_len);
        let between: Vec<wgpu::Buffer> = (1..kinds.len())
            .map(|_| gpu.storage("augment between", len))
            .collect();
        // x_0 = input, x_k = buffers between, x_n = output; likewise dx_0 = dinput, dx_n = doutput.
        let xs: Vec<&wgpu::Buffer> = [buffers.input]
            .into_iter()
            .chain(&between)
            .chain([buffers.output])
            .collect();
        let dxs: Vec<&wgpu::Buffer> = [buffers.dinput]
            .into_iter()
            .chain(&between)
            .chain([buffers.doutput])
            .collect();
        let stage = |k: usize| Stage {
            kind: kinds[k],
            params: buffers.params,
            saved: &saved,
        };
        let apply = (0..kinds.len())
            .map(|k| forward(gpu, &shape, &stage(k), xs[k], xs[k + 1]))
            .collect::<Result<Vec<_>>>()?;
        // Only the last to run, into dinput, may add; the ones between overwrite.
        let backward = (0..kinds.len())
            .rev()
            .map(|k| {
                let accumulate = accumulate_input && k == 0;
                backward(gpu, &shape, &stage(k), dxs[k + 1], dxs[k], accumulate)
            })
            .collect::<Result<Vec<_>>>()?;
        let draw = self::draw(gpu, &shape, draw, buffers.params)?;
        Ok(Augment {
            shape,
            policy,
            draw,
            apply,
            backward,
            _scratch: between.into_iter().chain([saved]).collect(),
        })
    }

    /// Fresh parameters for the counter's current step into `params`.
    pub fn draw(&self) -> &Dispatch {
        &self.draw
    }

    /// The augmentations with the parameters already in `params`: chosen ones, or the same
    /// draw applied again.
    pub fn apply(&self) -> Vec<&Dispatch> {
        self.apply.iter().collect()
    }

    /// A fresh draw, then output = the policy's augmentations of input.
    pub fn forward(&self) -> Vec<&Dispatch> {
        [&self.draw].into_iter().chain(&self.apply).collect()
    }

    /// dinput (+)= the gradient of output with respect to input, with the last draw.
    pub fn backward(&self) -> Vec<&Dispatch> {
        self.backward.iter().collect()
    }
}

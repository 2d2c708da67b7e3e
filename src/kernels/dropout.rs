//! Dropout in train mode (PyTorch's `Dropout(p)`) on `shaders/dropout.wgsl`: a counter-based
//! draw (random.wgsl's Philox `fill`, keyed by seed, stream and the GPU-side step) writes one
//! word per element into `mask`, the forward turns it into the element's mask (0 or 1) and
//! writes input · mask / (1 − p), and the backward multiplies by the same mask and scale. In
//! eval mode dropout is the identity: record nothing and read the input.
//!
//! Each dropout layer draws from its own stream, `streams::dropout(k)`; recording
//! `random::advance` on the counter between steps gives each step a fresh mask.

use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::random::{self, Distribution};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "dropout.wgsl",
    source: include_str!("../../shaders/dropout.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,      // input
        Access::Read,      // doutput
        Access::ReadWrite, // mask
        Access::ReadWrite, // output
        Access::ReadWrite, // dinput
    ],
    lanes: None,
};

/// Threads per workgroup; matches GROUP in the shader.
const GROUP: u32 = 256;
const OP: &str = "dropout";

/// floor(p · 2³²): a Philox word below it drops its element, so P(drop) is within 2⁻³² of p.
/// `p` must lie in [0, 1).
pub fn drop_threshold(p: f32) -> u32 {
    (p as f64 * 4_294_967_296.0) as u32
}

/// Where the random words come from: `random::fill`'s (seed, stream, counter[counter_index]).
#[derive(Clone, Copy)]
pub struct DropoutDraw<'a> {
    pub seed: u64,
    /// `streams::dropout(k)` for the k-th dropout layer of a model.
    pub stream: u32,
    /// u32 words; word `counter_index` is the step.
    pub counter: &'a wgpu::Buffer,
    pub counter_index: u32,
}

/// The buffers of one dropout layer, each of `len` elements and all distinct.
pub struct DropoutBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    /// u32: the random words, then (after `forward`) each element's mask, 0 or 1.
    pub mask: &'a wgpu::Buffer,
    pub doutput: &'a wgpu::Buffer,
    pub dinput: &'a wgpu::Buffer,
}

impl DropoutBuffers<'_> {
    /// The buffers in binding order (after the uniform), once each is checked for size and
    /// distinctness.
    fn checked(&self, len: usize) -> Result<[&wgpu::Buffer; 5]> {
        let named = [
            ("input", self.input),
            ("doutput", self.doutput),
            ("mask", self.mask),
            ("output", self.output),
            ("dinput", self.dinput),
        ];
        for (i, &(name, buffer)) in named.iter().enumerate() {
            check_len(OP, name, buffer, len)?;
            if let Some((other, _)) = named[..i].iter().find(|(_, b)| *b == buffer) {
                return Err(Error::Invalid(format!(
                    "dropout: {other} and {name} are the same buffer; every buffer of the layer \
                     must be distinct"
                )));
            }
        }
        Ok(named.map(|(_, buffer)| buffer))
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct DropoutParams {
    len: u32,
    threshold: u32,
    scale: f32,
    accumulate: u32,
}

/// One train-mode dropout layer with its dispatches built.
pub struct Dropout {
    pub len: usize,
    pub p: f32,
    forward: Dispatch,
    backward: Dispatch,
}

impl Dropout {
    /// Dropout of probability `p` in [0, 1) over `len` elements; `accumulate_input` adds the
    /// gradient into dinput instead of overwriting it.
    pub fn new(
        gpu: &Gpu,
        len: usize,
        p: f32,
        draw: DropoutDraw,
        buffers: &DropoutBuffers,
        accumulate_input: bool,
    ) -> Result<Dropout> {
        // p = 1 would drop everything and scale by 1/0; PyTorch allows it (output zeros), but
        // a layer that passes nothing is a configuration mistake here.
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Invalid(format!(
                "dropout: the probability must lie in [0, 1), not {p}"
            )));
        }
        let len32 = u32::try_from(len)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::Invalid(format!("dropout of {len} elements: 1 to 2^32 − 1")))?;
        let all = buffers.checked(len)?;
        let params = DropoutParams {
            len: len32,
            threshold: drop_threshold(p),
            scale: 1.0 / (1.0 - p),
            accumulate: 0,
        };
        let draw = random::fill(
            gpu,
            Distribution::Bits,
            draw.seed,
            draw.stream,
            draw.counter,
            draw.counter_index,
            buffers.mask,
            len,
        )?;
        let grid = grid_1d(len, GROUP);
        let mut forward = Dispatch::new(gpu, &SHADER, "forward", &[], &params, &all, grid)?;
        forward.label = "dropout forward";
        let backward_params = DropoutParams {
            accumulate: accumulate_input as u32,
            ..params
        };
        let mut backward =
            Dispatch::new(gpu, &SHADER, "backward", &[], &backward_params, &all, grid)?;
        backward.label = "dropout backward";
        Ok(Dropout {
            len,
            p,
            forward: draw.then(forward),
            backward,
        })
    }

    /// A fresh mask for the counter's current step into `mask`, then output.
    pub fn forward(&self) -> [&Dispatch; 1] {
        [&self.forward]
    }

    /// dinput (+)= doutput · mask / (1 − p), with the mask of the last `forward`.
    pub fn backward(&self) -> [&Dispatch; 1] {
        [&self.backward]
    }
}

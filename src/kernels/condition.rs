//! Class conditioning (`shaders/condition.wgsl`): labels by batch index, one-hot channels
//! appended for G's input and D's, and the image channels of a gradient taken back out.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::Result;

pub const SHADER: Shader = Shader {
    name: "condition.wgsl",
    source: include_str!("../../shaders/condition.wgsl"),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    lanes: None,
};

/// [batch, channels, pixels] with `classes` one-hot channels appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct ConditionShape {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
    pub classes: u32,
}

impl ConditionShape {
    pub fn plain_len(&self) -> usize {
        (self.batch * self.channels * self.pixels) as usize
    }
    pub fn conditioned_len(&self) -> usize {
        (self.batch * (self.channels + self.classes) * self.pixels) as usize
    }
    fn check(&self, op: &'static str) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.pixels == 0 || self.classes == 0 {
            return Err(shape_error(
                op,
                format!("every size must be positive: {self:?}"),
            ));
        }
        Ok(())
    }
}

fn build(
    gpu: &Gpu,
    entry: &'static str,
    s: &ConditionShape,
    buffers: [Option<&wgpu::Buffer>; 5],
    len: usize,
) -> Result<Dispatch> {
    let spares: Vec<wgpu::Buffer> = buffers
        .iter()
        .filter(|b| b.is_none())
        .map(|_| gpu.storage("unused", 1))
        .collect();
    let mut spare = spares.iter();
    let all: Vec<&wgpu::Buffer> = buffers
        .iter()
        .map(|b| b.unwrap_or_else(|| spare.next().expect("one spare per gap")))
        .collect();
    let mut d = Dispatch::new(gpu, &SHADER, entry, &[], s, &all, grid_1d(len, 256))?;
    d.label = entry;
    Ok(d)
}

/// out_labels[b] = labels[index[b]] for a dataset of `count` labels.
pub fn gather_labels(
    gpu: &Gpu,
    labels: &wgpu::Buffer,
    count: usize,
    index: &wgpu::Buffer,
    batch: u32,
    out_labels: &wgpu::Buffer,
) -> Result<Dispatch> {
    check_len("gather_labels", "labels", labels, count)?;
    check_len("gather_labels", "index", index, batch as usize)?;
    check_len("gather_labels", "out_labels", out_labels, batch as usize)?;
    let s = ConditionShape {
        batch,
        channels: 1,
        pixels: 1,
        classes: 1,
    };
    build(
        gpu,
        "gather_labels",
        &s,
        [None, Some(labels), Some(index), None, Some(out_labels)],
        batch as usize,
    )
}

/// out = [x, one_hot(labels)] along the channels.
pub fn append_onehot(
    gpu: &Gpu,
    s: &ConditionShape,
    x: &wgpu::Buffer,
    labels: &wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("append_onehot")?;
    check_len("append_onehot", "x", x, s.plain_len())?;
    check_len("append_onehot", "labels", labels, s.batch as usize)?;
    check_len("append_onehot", "out", out, s.conditioned_len())?;
    build(
        gpu,
        "append_onehot",
        s,
        [Some(x), Some(labels), None, Some(out), None],
        s.conditioned_len(),
    )
}

/// out = the first `channels` channels of x, which has `channels + classes`.
pub fn take_channels(
    gpu: &Gpu,
    s: &ConditionShape,
    x: &wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<Dispatch> {
    s.check("take_channels")?;
    check_len("take_channels", "x", x, s.conditioned_len())?;
    check_len("take_channels", "out", out, s.plain_len())?;
    build(
        gpu,
        "take_channels",
        s,
        [Some(x), None, None, Some(out), None],
        s.plain_len(),
    )
}

//! One module per WGSL file: parameter structs, shape checks at the Rust boundary, and the
//! construction of [`Dispatch`]es. A `Dispatch` owns its uniform parameters and bind group,
//! so it is built once (when a model is built) and recorded every step with no allocation.

use std::sync::Arc;

use crate::gpu::{Access, Gpu, Shader};
use crate::{Error, Result};

pub mod activation;
pub mod attention;
pub mod augment;
pub mod batch_norm;
pub mod condition;
pub mod conv;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod image_pool;
pub mod info_loss;
pub mod instance_norm;
pub mod jitter;
pub mod join;
pub mod loss;
pub mod modulate;
pub mod optim;
pub mod penalty;
pub mod pixel_loss;
pub mod pixel_shuffle;
pub mod random;
pub mod reflection_pad;
pub mod softmax;
pub mod spectral_norm;
pub mod tensor;
pub mod upsample;

/// Every shader of the crate, for validation and for building pipelines.
pub const SHADERS: &[&Shader] = &[
    &activation::SHADER,
    &activation::SHADER_VEC4,
    &attention::SHADER,
    &augment::SHADER,
    &batch_norm::SHADER,
    &condition::SHADER,
    &modulate::SHADER,
    &crate::display::SHADER,
    &dropout::SHADER,
    &conv::SHADER,
    &conv::SHADER_VEC4_OUT,
    &image_pool::SHADER,
    &info_loss::SHADER,
    &instance_norm::SHADER,
    &instance_norm::SHADER_VEC4,
    &jitter::SHADER,
    &join::SHADER,
    &join::SHADER_VEC4,
    &loss::SHADER,
    &optim::SHADER,
    &optim::SHADER_VEC4,
    &penalty::SHADER,
    &pixel_loss::SHADER,
    &pixel_shuffle::SHADER,
    &random::SHADER,
    &reflection_pad::SHADER,
    &softmax::SHADER,
    &spectral_norm::SHADER,
    &tensor::SHADER,
    &upsample::SHADER,
    &crate::gpu::LANES_PROBE,
];

/// One operation, ready to record: usually one compute dispatch, sometimes a short sequence
/// (a split reduction and its final sum). Pipelines, bind groups and parameters are built once.
#[derive(Clone)]
pub struct Dispatch {
    pub label: &'static str,
    steps: Vec<Step>,
}

#[derive(Clone)]
struct Step {
    shader: &'static str,
    entry: &'static str,
    pipeline: Arc<wgpu::ComputePipeline>,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
    /// Kept alive with the bind group that points at it.
    _params: wgpu::Buffer,
}

impl Dispatch {
    /// Builds the bind group of `entry` in `shader`: `params` (if the shader's first binding is
    /// a uniform) followed by `buffers`, in binding order.
    pub fn new<P: bytemuck::Pod>(
        gpu: &Gpu,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, u32)],
        params: &P,
        buffers: &[&wgpu::Buffer],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        Self::with_textures(
            gpu,
            shader,
            entry,
            constants,
            params,
            buffers,
            &[],
            workgroups,
        )
    }

    /// [`Dispatch::new`] for a shader whose last bindings are textures: `textures`, in
    /// binding order after the buffers.
    #[allow(clippy::too_many_arguments)]
    pub fn with_textures<P: bytemuck::Pod>(
        gpu: &Gpu,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, u32)],
        params: &P,
        buffers: &[&wgpu::Buffer],
        textures: &[&wgpu::TextureView],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        let limit = gpu.device.limits().max_compute_workgroups_per_dimension;
        if workgroups.iter().any(|&w| w > limit) {
            return Err(Error::Invalid(format!(
                "{entry}: a grid of {workgroups:?} workgroups exceeds the device limit of {limit} per dimension"
            )));
        }
        let pipeline = gpu.pipeline(shader, entry, constants);
        let uniform = gpu.uniform(entry, params);
        let mut all: Vec<&wgpu::Buffer> = Vec::with_capacity(buffers.len() + 1);
        if shader.bindings.first() == Some(&Access::Uniform) {
            all.push(&uniform);
        }
        all.extend_from_slice(buffers);
        if all.len() + textures.len() != shader.bindings.len() {
            return Err(Error::Invalid(format!(
                "{entry}: {} buffers and {} textures given for {} bindings",
                all.len(),
                textures.len(),
                shader.bindings.len()
            )));
        }
        let resources = all.iter().map(|b| b.as_entire_binding()).chain(
            textures
                .iter()
                .map(|&t| wgpu::BindingResource::TextureView(t)),
        );
        let entries: Vec<wgpu::BindGroupEntry> = resources
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Ok(Dispatch {
            label: entry,
            steps: vec![Step {
                shader: shader.name,
                entry,
                pipeline,
                bind_group,
                workgroups,
                _params: uniform,
            }],
        })
    }

    /// This operation followed by `next`, recorded as one.
    pub fn then(mut self, next: Dispatch) -> Dispatch {
        self.steps.extend(next.steps);
        self
    }

    /// Each dispatch on its own, labelled by its entry point: for benchmarks that say where a
    /// kernel's time goes.
    pub fn apart(&self) -> Vec<Dispatch> {
        self.steps
            .iter()
            .map(|s| Dispatch {
                label: s.entry,
                steps: vec![s.clone()],
            })
            .collect()
    }

    /// The (shader, entry point) of each dispatch, in order: for tests that check which
    /// variant of a kernel a shape gets.
    pub fn kernels(&self) -> Vec<(&'static str, &'static str)> {
        self.steps.iter().map(|s| (s.shader, s.entry)).collect()
    }

    /// How many compute dispatches recording this adds.
    pub fn dispatch_count(&self) -> usize {
        self.steps.len()
    }

    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        for step in &self.steps {
            if step.workgroups.contains(&0) {
                continue;
            }
            pass.set_pipeline(&step.pipeline);
            pass.set_bind_group(0, &step.bind_group, &[]);
            let [x, y, z] = step.workgroups;
            pass.dispatch_workgroups(x, y, z);
        }
    }
}

/// Checks that `buffer` holds at least `len` 4-byte elements.
pub(crate) fn check_len(
    op: &'static str,
    what: &str,
    buffer: &wgpu::Buffer,
    len: usize,
) -> Result<()> {
    let have = buffer.size() as usize / 4;
    if have < len {
        return Err(crate::error::shape_error(
            op,
            format!("{what} holds {have} elements but the shape needs {len}"),
        ));
    }
    Ok(())
}

/// Splits `n` work items over workgroups of `size`, using the y dimension when x would exceed
/// WebGPU's 65,535 workgroups per dimension. Kernels recover the index as `(y * nx + x) * size + i`.
pub(crate) fn grid_1d(n: usize, size: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(size as u64).max(1);
    if groups <= 65_535 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(65_535);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}

/// Which way a shader of four tensors bound [input, doutput, output, dinput] runs: its forward
/// entry point reads input and writes output, its backward one reads doutput and writes dinput.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Forward,
    Backward,
}

/// The dispatch of `pass` of `op` on such a shader (entry point `forward` or `backward`),
/// reading `from` and writing `to`, each checked for its length in elements. The two tensors
/// of the other pass are bound to one-element spares.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tensor_pass<P: bytemuck::Pod>(
    gpu: &Gpu,
    (op, shader): (&'static str, &Shader),
    pass: Pass,
    params: &P,
    (from, from_len): (&wgpu::Buffer, usize),
    (to, to_len): (&wgpu::Buffer, usize),
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let (entry, from_name, to_name) = match pass {
        Pass::Forward => ("forward", "input", "output"),
        Pass::Backward => ("backward", "doutput", "dinput"),
    };
    check_len(op, from_name, from, from_len)?;
    check_len(op, to_name, to, to_len)?;
    // WebGPU refuses a buffer bound twice in one dispatch when either binding writes it.
    if from == to {
        return Err(Error::Invalid(format!(
            "{op}: {from_name} and {to_name} are the same buffer; they must be distinct"
        )));
    }
    let spares = [gpu.storage("unused", 1), gpu.storage("unused", 1)];
    let buffers = match pass {
        Pass::Forward => [from, &spares[0], to, &spares[1]],
        Pass::Backward => [&spares[0], from, &spares[1], to],
    };
    Dispatch::new(gpu, shader, entry, &[], params, &buffers, workgroups)
}

/// Refuses one buffer given for two of the named roles.
pub(crate) fn check_distinct(op: &'static str, named: &[(&str, &wgpu::Buffer)]) -> Result<()> {
    for (i, (a, buffer_a)) in named.iter().enumerate() {
        if let Some((b, _)) = named[i + 1..]
            .iter()
            .find(|(_, buffer_b)| buffer_a == buffer_b)
        {
            return Err(Error::Invalid(format!(
                "{op}: {a} and {b} are the same buffer; they must be distinct"
            )));
        }
    }
    Ok(())
}

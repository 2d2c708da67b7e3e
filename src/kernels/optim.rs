//! The optimizers of `shaders/optim.wgsl`, in place over f32 parameters: Adam and SGD with
//! momentum as torch.optim, the step counter Adam reads on the GPU, weight clipping, and the
//! exponential moving average of weights (G_ema).
//!
//! One optimizer (say G's Adam) owns a uniform of hyper-parameters shared by the updates of all
//! its tensors; [`Adam::set_lr`] rewrites it between steps without rebuilding anything.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, grid_1d, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "optim.wgsl",
    source: concat!(
        include_str!("../../shaders/optim_common.wgsl"),
        include_str!("../../shaders/optim.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

/// Adam a vec4 a thread, for tensors of a multiple of 4 elements.
pub const SHADER_VEC4: Shader = Shader {
    name: "optim_vec4.wgsl",
    source: concat!(
        include_str!("../../shaders/optim_common.wgsl"),
        include_str!("../../shaders/optim_vec4.wgsl")
    ),
    bindings: BINDINGS,
    lanes: None,
};

const BINDINGS: &[Access] = &[
    Access::Uniform,   // params
    Access::Uniform,   // hyper
    Access::ReadWrite, // param
    Access::Read,      // grad
    Access::ReadWrite, // m
    Access::ReadWrite, // v
    Access::ReadWrite, // momentum
    Access::ReadWrite, // counter
    Access::ReadWrite, // avg
];

const GROUP: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct OptimParams {
    len: u32,
    counter_index: u32,
    clip: f32,
    beta: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    momentum: f32,
    _pad: [u32; 2],
}

/// torch.optim.Adam's hyper-parameters; `Default` is PyTorch's (DCGAN uses lr 2e-4, β1 0.5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// L2 penalty added to the gradient: g + weight_decay·p.
    pub weight_decay: f32,
}

impl AdamConfig {
    /// Refuses what torch.optim refuses; `who` starts the message ("D's Adam").
    pub fn check(&self, who: &str) -> Result<()> {
        check_hyper(who, &Adam::hyper(self))
    }
}

impl SgdConfig {
    /// Refuses what torch.optim refuses; `who` starts the message ("G's SGD").
    pub fn check(&self, who: &str) -> Result<()> {
        check_hyper(who, &Sgd::hyper(self))
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// torch.optim.SGD's hyper-parameters, without dampening or Nesterov.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// Refuses what torch.optim refuses: negative or non-finite rates, β outside [0, 1); the
/// message names the value.
fn check_hyper(op: &str, h: &Hyper) -> Result<()> {
    let rates = [
        ("learning rate", h.lr),
        ("eps", h.eps),
        ("weight decay", h.weight_decay),
        ("momentum", h.momentum),
    ];
    if let Some((name, v)) = rates.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
        return Err(Error::Invalid(format!(
            "{op}'s {name} must be a finite number ≥ 0, not {v}"
        )));
    }
    let betas = [("β1", h.beta1), ("β2", h.beta2)];
    if let Some((name, b)) = betas.iter().find(|(_, b)| !(0.0..1.0).contains(b)) {
        return Err(Error::Invalid(format!(
            "{op}'s {name} must lie in [0, 1), not {b}"
        )));
    }
    Ok(())
}

/// The buffers one entry point reads or writes; the others get a one-element stand-in.
#[derive(Default)]
struct Bindings<'a> {
    hyper: Option<&'a wgpu::Buffer>,
    param: Option<&'a wgpu::Buffer>,
    grad: Option<&'a wgpu::Buffer>,
    m: Option<&'a wgpu::Buffer>,
    v: Option<&'a wgpu::Buffer>,
    momentum: Option<&'a wgpu::Buffer>,
    counter: Option<&'a wgpu::Buffer>,
    avg: Option<&'a wgpu::Buffer>,
}

fn build(
    gpu: &Gpu,
    shader: &Shader,
    entry: &'static str,
    params: OptimParams,
    b: Bindings,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let spare_hyper = gpu.uniform("unused hyper", &Hyper::default());
    // A stand-in apiece: one buffer at two writable bindings would alias.
    let storage = [b.param, b.grad, b.m, b.v, b.momentum, b.counter, b.avg];
    let spares: Vec<wgpu::Buffer> = storage.iter().map(|_| gpu.storage("unused", 1)).collect();
    let mut buffers = vec![b.hyper.unwrap_or(&spare_hyper)];
    buffers.extend(storage.iter().zip(&spares).map(|(b, s)| b.unwrap_or(s)));
    Dispatch::new(gpu, shader, entry, &[], &params, &buffers, workgroups)
}

fn check_update(op: &'static str, len: usize, buffers: &[(&str, &wgpu::Buffer)]) -> Result<()> {
    if len == 0 || len > u32::MAX as usize {
        return Err(shape_error(op, format!("len {len} is not in 1..=u32::MAX")));
    }
    for (what, b) in buffers {
        check_len(op, what, b, len)?;
    }
    Ok(())
}

/// counter[index] += 1, one thread. Record it once per step, before the updates that read it.
pub fn tick(gpu: &Gpu, counter: &wgpu::Buffer, index: usize) -> Result<Dispatch> {
    check_len("tick", "counter", counter, index.saturating_add(1))?;
    let params = OptimParams {
        counter_index: index as u32,
        ..Default::default()
    };
    let b = Bindings {
        counter: Some(counter),
        ..Default::default()
    };
    build(gpu, &SHADER, "tick", params, b, [1, 1, 1])
}

/// param[..len] = clamp(param, −c, c): the WGAN critic's weight clipping (c = 0.01).
pub fn clip(gpu: &Gpu, param: &wgpu::Buffer, len: usize, c: f32) -> Result<Dispatch> {
    check_update("clip", len, &[("param", param)])?;
    if !(c.is_finite() && c >= 0.0) {
        return Err(Error::Invalid(format!(
            "clip: bound {c} must be finite and ≥ 0"
        )));
    }
    let params = OptimParams {
        len: len as u32,
        clip: c,
        ..Default::default()
    };
    let b = Bindings {
        param: Some(param),
        ..Default::default()
    };
    build(gpu, &SHADER, "clip", params, b, grid_1d(len, GROUP))
}

/// avg[..len] = β·avg + (1 − β)·param: the exponential moving average of a generator's weights
/// that StyleGAN and ProGAN sample from (G_ema, β = 0.999 typically), recorded after G's
/// optimizer step. β = 1 keeps avg, β = 0 copies param.
pub fn ema(
    gpu: &Gpu,
    avg: &wgpu::Buffer,
    param: &wgpu::Buffer,
    len: usize,
    beta: f32,
) -> Result<Dispatch> {
    if !(0.0..=1.0).contains(&beta) {
        return Err(Error::Invalid(format!(
            "ema: the decay β must lie in [0, 1], not {beta}"
        )));
    }
    average("ema", avg, param, len)?;
    let params = OptimParams {
        len: len as u32,
        beta,
        ..Default::default()
    };
    let b = Bindings {
        param: Some(param),
        avg: Some(avg),
        ..Default::default()
    };
    build(gpu, &SHADER, "ema", params, b, grid_1d(len, GROUP))
}

/// avg[..len] = param: starts the moving average of [`ema`] at the weights (G_ema = copy of G).
pub fn ema_copy(
    gpu: &Gpu,
    avg: &wgpu::Buffer,
    param: &wgpu::Buffer,
    len: usize,
) -> Result<Dispatch> {
    average("ema_copy", avg, param, len)?;
    let params = OptimParams {
        len: len as u32,
        ..Default::default()
    };
    let b = Bindings {
        param: Some(param),
        avg: Some(avg),
        ..Default::default()
    };
    build(gpu, &SHADER, "ema_copy", params, b, grid_1d(len, GROUP))
}

/// The checks of the average's two buffers: long enough, and distinct (both are bound
/// writable, and WebGPU refuses one buffer at two writable bindings).
fn average(op: &'static str, avg: &wgpu::Buffer, param: &wgpu::Buffer, len: usize) -> Result<()> {
    check_update(op, len, &[("avg", avg), ("param", param)])?;
    if avg == param {
        return Err(Error::Invalid(format!(
            "{op}: avg and param are the same buffer; the average needs its own"
        )));
    }
    Ok(())
}

/// Adam over any number of tensors, with its step count t in `counter[counter_index]`.
pub struct Adam {
    config: AdamConfig,
    hyper: wgpu::Buffer,
    counter: wgpu::Buffer,
    counter_index: usize,
}

impl Adam {
    /// `counter` (u32, zeroed for a fresh optimizer) holds t at `counter_index`.
    pub fn new(
        gpu: &Gpu,
        config: AdamConfig,
        counter: &wgpu::Buffer,
        counter_index: usize,
    ) -> Result<Adam> {
        check_len("adam", "counter", counter, counter_index.saturating_add(1))?;
        let hyper = Self::hyper(&config);
        check_hyper("Adam", &hyper)?;
        Ok(Adam {
            config,
            hyper: gpu.uniform("adam hyper", &hyper),
            counter: counter.clone(),
            counter_index,
        })
    }

    fn hyper(c: &AdamConfig) -> Hyper {
        Hyper {
            lr: c.lr,
            beta1: c.beta1,
            beta2: c.beta2,
            eps: c.eps,
            weight_decay: c.weight_decay,
            ..Default::default()
        }
    }

    pub fn config(&self) -> AdamConfig {
        self.config
    }

    /// t += 1: record once per step, before this optimizer's updates.
    pub fn tick(&self, gpu: &Gpu) -> Result<Dispatch> {
        tick(gpu, &self.counter, self.counter_index)
    }

    /// One Adam step of param[..len] from grad, with first and second moments m and v
    /// (zeroed for a fresh optimizer), at the step count t the last tick left.
    pub fn update(
        &self,
        gpu: &Gpu,
        param: &wgpu::Buffer,
        grad: &wgpu::Buffer,
        m: &wgpu::Buffer,
        v: &wgpu::Buffer,
        len: usize,
    ) -> Result<Dispatch> {
        let named = [("param", param), ("grad", grad), ("m", m), ("v", v)];
        check_update("adam", len, &named)?;
        let params = OptimParams {
            len: len as u32,
            counter_index: self.counter_index as u32,
            ..Default::default()
        };
        let b = Bindings {
            hyper: Some(&self.hyper),
            param: Some(param),
            grad: Some(grad),
            m: Some(m),
            v: Some(v),
            counter: Some(&self.counter),
            ..Default::default()
        };
        if len.is_multiple_of(4) {
            let grid = grid_1d(len / 4, GROUP);
            return build(gpu, &SHADER_VEC4, "adam4", params, b, grid);
        }
        build(
            gpu,
            &SHADER,
            "adam",
            params,
            b,
            grid_1d(len.div_ceil(4), GROUP),
        )
    }

    /// A new learning rate for every update built from this optimizer, from the next
    /// submission on.
    pub fn set_lr(&mut self, gpu: &Gpu, lr: f32) -> Result<()> {
        let config = AdamConfig { lr, ..self.config };
        let hyper = Self::hyper(&config);
        check_hyper("Adam", &hyper)?;
        gpu.queue
            .write_buffer(&self.hyper, 0, bytemuck::bytes_of(&hyper));
        self.config = config;
        Ok(())
    }
}

/// SGD with momentum over any number of tensors.
pub struct Sgd {
    config: SgdConfig,
    hyper: wgpu::Buffer,
}

impl Sgd {
    pub fn new(gpu: &Gpu, config: SgdConfig) -> Result<Sgd> {
        let hyper = Self::hyper(&config);
        check_hyper("SGD", &hyper)?;
        Ok(Sgd {
            config,
            hyper: gpu.uniform("sgd hyper", &hyper),
        })
    }

    fn hyper(c: &SgdConfig) -> Hyper {
        Hyper {
            lr: c.lr,
            weight_decay: c.weight_decay,
            momentum: c.momentum,
            ..Default::default()
        }
    }

    pub fn config(&self) -> SgdConfig {
        self.config
    }

    /// One step of param[..len] from grad, with its momentum buffer (zeroed for a fresh
    /// optimizer; needed even at momentum 0, where it holds the last gradient).
    pub fn update(
        &self,
        gpu: &Gpu,
        param: &wgpu::Buffer,
        grad: &wgpu::Buffer,
        momentum: &wgpu::Buffer,
        len: usize,
    ) -> Result<Dispatch> {
        let named = [("param", param), ("grad", grad), ("momentum", momentum)];
        check_update("sgd", len, &named)?;
        let params = OptimParams {
            len: len as u32,
            ..Default::default()
        };
        let b = Bindings {
            hyper: Some(&self.hyper),
            param: Some(param),
            grad: Some(grad),
            momentum: Some(momentum),
            ..Default::default()
        };
        build(gpu, &SHADER, "sgd", params, b, grid_1d(len, GROUP))
    }

    /// A new learning rate for every update built from this optimizer, from the next
    /// submission on.
    pub fn set_lr(&mut self, gpu: &Gpu, lr: f32) -> Result<()> {
        let config = SgdConfig { lr, ..self.config };
        let hyper = Self::hyper(&config);
        check_hyper("SGD", &hyper)?;
        gpu.queue
            .write_buffer(&self.hyper, 0, bytemuck::bytes_of(&hyper));
        self.config = config;
        Ok(())
    }
}

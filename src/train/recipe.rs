//! What a training recipe is: the networks it owns (named as its family's reference
//! implementation names them, each with its optimizer), its stats and counters (GPU slots asked
//! for by name), and one ordered list of the updates in a step. Recording a step and profiling
//! it both read that list, so the two cannot disagree.

use crate::gpu::Gpu;
use crate::graph::program::Net;
use crate::kernels::optim::{clip, Adam, Sgd};
use crate::kernels::Dispatch;
use crate::train::Optimizer;
use crate::Result;

/// A named stretch of a step's dispatches (for profiles: "D step: loss").
pub struct Phase<'a> {
    pub name: &'static str,
    pub dispatches: Vec<&'a Dispatch>,
    /// Recorded in every `every`-th run of its update only (counting from the run's first):
    /// a lazy regulariser's phase. 1: every time.
    pub every: u32,
}

impl<'a> Phase<'a> {
    pub fn new(name: &'static str, dispatches: impl IntoIterator<Item = &'a Dispatch>) -> Self {
        Phase {
            name,
            dispatches: dispatches.into_iter().collect(),
            every: 1,
        }
    }

    /// The phase recorded only in every `n`-th run of its update.
    pub fn every(self, n: u32) -> Self {
        Phase {
            every: n.max(1),
            ..self
        }
    }

    /// Whether the `index`-th run of its update (from 0) records it.
    pub fn runs_at(&self, index: u64) -> bool {
        index.is_multiple_of(self.every as u64)
    }
}

/// One update of a step (D's, G's), recorded `times` times in a row.
pub struct Update<'a> {
    pub name: &'static str,
    pub times: u32,
    pub phases: Vec<Phase<'a>>,
}

/// Named slots of a small GPU buffer: the f32 stats a step writes, or the u32 counters (the
/// RNG's step, each Adam's t) it keeps. Asked for by name, so recipes share no global layout.
pub struct Slots {
    names: Vec<&'static str>,
    pub buffer: wgpu::Buffer,
}

impl Slots {
    pub fn new(gpu: &Gpu, label: &str, names: &[&'static str]) -> Slots {
        Slots {
            names: names.to_vec(),
            buffer: gpu.storage(label, names.len()),
        }
    }

    /// The slot of `name`. Names are the recipe's own constants, so an unknown one is a bug.
    pub fn slot(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|&n| n == name)
            .unwrap_or_else(|| panic!("no slot named {name}"))
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A network a recipe trains, under the name its reference implementation gives it.
pub struct Trained<'a> {
    pub name: &'static str,
    pub net: &'a Net,
    /// None for a network no optimizer steps (a moving average of another's weights).
    pub optimizer: Option<&'a Optimizer>,
}

/// A buffer a recipe keeps from step to step besides its networks (CycleGAN's pools of past
/// fakes): saved in a checkpoint as `state.<name>`, so that a resumed run goes on exactly.
pub struct State<'a> {
    pub name: &'static str,
    pub buffer: &'a wgpu::Buffer,
    /// f32 elements.
    pub len: usize,
}

pub trait Recipe {
    /// The family, as the CLI names it ("dcgan").
    fn family(&self) -> &'static str;
    /// The networks with their optimizers, in checkpoint order.
    fn nets(&self) -> Vec<Trained<'_>>;
    /// The updates of one step, in recording order.
    fn updates(&self) -> Vec<Update<'_>>;
    fn stats(&self) -> &Slots;
    fn counters(&self) -> &Slots;
    /// Buffers kept across steps besides the networks' (none by default).
    fn state(&self) -> Vec<State<'_>> {
        Vec::new()
    }
}

/// Every dispatch of one step of `recipe`, in order, named by its phase (a lazy phase
/// included, as in the steps that run it).
pub fn step_dispatches(recipe: &dyn Recipe) -> Vec<(&'static str, &Dispatch)> {
    let mut out = Vec::new();
    for update in recipe.updates() {
        for _ in 0..update.times {
            for phase in &update.phases {
                out.extend(phase.dispatches.iter().map(|&d| (phase.name, d)));
            }
        }
    }
    out
}

/// Records step `step` (from 0) of `recipe`, or only its update named `update`. The j-th run
/// of an update recorded `times` times a step is its run `step · times + j`, which decides
/// whether a lazy phase runs in it.
pub fn record(
    recipe: &dyn Recipe,
    update: Option<&str>,
    step: u64,
    pass: &mut wgpu::ComputePass<'_>,
) {
    for u in recipe.updates() {
        if update.is_some_and(|name| name != u.name) {
            continue;
        }
        for j in 0..u.times {
            let index = step * u.times as u64 + j as u64;
            for phase in u.phases.iter().filter(|p| p.runs_at(index)) {
                phase.dispatches.iter().for_each(|d| d.record(pass));
            }
        }
    }
}

/// One optimizer over the parameters of one or more networks (CycleGAN's optimizer_G steps
/// G_A and G_B together), built once, advancing its own counter slot (Adam's t) once a step.
pub struct NetOptimizer {
    kind: Kind,
    tick: Option<Dispatch>,
    updates: Vec<Dispatch>,
}

/// Kept so that a schedule can set the learning rate between submissions.
enum Kind {
    Adam(Adam),
    Sgd(Sgd),
}

/// The tensors an optimizer steps: every parameter but spectral norm's u and v, which only the
/// power iteration moves.
fn trained<'a>(nets: &'a [&'a Net]) -> impl Iterator<Item = &'a crate::graph::program::Param> {
    nets.iter()
        .flat_map(|n| n.all_params())
        .filter(|p| p.spec.trained())
}

impl NetOptimizer {
    /// `clip_to`: WGAN's weight clipping after each update.
    pub fn new(
        gpu: &Gpu,
        nets: &[&Net],
        optimizer: Optimizer,
        counters: &Slots,
        slot: &str,
        clip_to: Option<f32>,
    ) -> Result<NetOptimizer> {
        let mut updates = Vec::new();
        let tick;
        let kind = match optimizer {
            Optimizer::Adam(config) => {
                let adam = Adam::new(gpu, config, &counters.buffer, counters.slot(slot))?;
                tick = Some(adam.tick(gpu)?);
                for p in trained(nets) {
                    updates.push(adam.update(
                        gpu,
                        &p.value,
                        &p.grad,
                        &p.state[0],
                        &p.state[1],
                        p.len(),
                    )?);
                }
                Kind::Adam(adam)
            }
            Optimizer::Sgd(config) => {
                let sgd = Sgd::new(gpu, config)?;
                tick = None;
                for p in trained(nets) {
                    updates.push(sgd.update(gpu, &p.value, &p.grad, &p.state[0], p.len())?);
                }
                Kind::Sgd(sgd)
            }
        };
        if let Some(c) = clip_to {
            for p in trained(nets) {
                updates.push(clip(gpu, &p.value, p.len(), c)?);
            }
        }
        Ok(NetOptimizer {
            kind,
            tick,
            updates,
        })
    }

    /// A new learning rate for every update, from the next submission on.
    pub fn set_lr(&mut self, gpu: &Gpu, lr: f32) -> Result<()> {
        match &mut self.kind {
            Kind::Adam(a) => a.set_lr(gpu, lr),
            Kind::Sgd(s) => s.set_lr(gpu, lr),
        }
    }

    /// Its dispatches in recording order.
    pub fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        self.tick.iter().chain(&self.updates)
    }
}

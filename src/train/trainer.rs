//! The trainer, generic over a recipe's family: it owns the recipe (networks, passes, losses
//! and optimizers, all built once) and the data it trains on, records bursts of steps into one
//! submission, reads the stats by name, and saves and resumes through one checkpoint format.

use std::sync::Arc;

use crate::gpu::Gpu;
use crate::kernels::Dispatch;
use crate::train::recipe::{self, Recipe};
use crate::train::recipes::dcgan::Dcgan;
use crate::Result;

/// A recipe the trainer, checkpoints and CLI can drive: how it is configured, what data it
/// trains on, and how its configuration goes into a checkpoint and comes back.
pub trait Family: Recipe + Sized {
    /// Everything that rebuilds the same recipe: architecture, losses, optimizers, seed.
    type Config: Clone + std::fmt::Debug;
    /// What it trains on, resident on the GPU (one dataset, or one per domain).
    type Data;
    /// The family as the CLI and a checkpoint's metadata name it.
    const NAME: &'static str;
    /// Refuses a configuration before anything is allocated, naming what is wrong.
    fn check(config: &Self::Config) -> Result<()>;
    /// The recipe for `config` on `data`; refuses data the networks cannot take.
    fn build(gpu: &Gpu, config: &Self::Config, data: &Self::Data) -> Result<Self>;
    fn config_to_json(config: &Self::Config) -> String;
    fn config_from_json(json: &str) -> Result<Self::Config>;
    /// Refuses to resume a run saved with `saved` under `config` when a tensor would change
    /// shape or meaning (a learning rate may change; a width may not).
    fn check_resume(saved: &Self::Config, config: &Self::Config) -> Result<()>;
    /// Sets what a schedule changes between steps (CycleGAN's learning-rate decay) for the
    /// steps from `step` on; called before every submission.
    fn schedule(&mut self, _gpu: &Gpu, _step: u64) -> Result<()> {
        Ok(())
    }
    /// Steps from `step` until the schedule next changes something: no submission runs past
    /// it, so every step trains with the settings its own step number gives.
    fn steps_to_change(&self, _step: u64) -> u64 {
        u64::MAX
    }
}

/// A GAN being trained: its recipe, the data on the GPU, and the steps done.
pub struct Trainer<R: Family = Dcgan> {
    pub gpu: Arc<Gpu>,
    pub config: R::Config,
    pub recipe: R,
    pub data: R::Data,
    /// Completed steps (for DCGAN, alternating steps: k D updates then one G update).
    pub step: u64,
}

impl<R: Family> Trainer<R> {
    /// A new run of `config` on `data`, its networks drawn from the config's seed.
    pub fn start(gpu: Arc<Gpu>, config: R::Config, data: R::Data) -> Result<Self> {
        R::check(&config)?;
        let recipe = R::build(&gpu, &config, &data)?;
        Ok(Trainer {
            gpu,
            config,
            recipe,
            data,
            step: 0,
        })
    }

    /// Records `steps` steps into one encoder and submits them once (in as many submissions
    /// as the recipe's schedule changes in between).
    pub fn train(&mut self, steps: u32) -> Result<()> {
        let mut left = steps as u64;
        while left > 0 {
            self.recipe.schedule(&self.gpu, self.step)?;
            let n = left.min(self.recipe.steps_to_change(self.step).max(1));
            let first = self.step;
            self.submit(|t, pass| {
                (first..first + n).for_each(|step| recipe::record(&t.recipe, None, step, pass))
            });
            self.step += n;
            left -= n;
        }
        Ok(())
    }

    /// Only the update named `name` of a step (e.g. DCGAN's "D"); for tests and inspection.
    pub fn train_update(&self, name: &str) {
        self.submit(|t, pass| recipe::record(&t.recipe, Some(name), t.step, pass));
    }

    fn submit(&self, record: impl FnOnce(&Self, &mut wgpu::ComputePass<'_>)) {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            record(self, &mut pass);
        }
        self.gpu.queue.submit([encoder.finish()]);
    }

    /// Every dispatch of one step, in order, named by where it belongs.
    pub fn step_dispatches(&self) -> Vec<(&'static str, &Dispatch)> {
        recipe::step_dispatches(&self.recipe)
    }

    /// The stats of the last step under the recipe's names. Rarely: it waits for the GPU.
    pub async fn read_named_stats(&self) -> Result<Vec<(&'static str, f32)>> {
        let stats = self.recipe.stats();
        let v = self.gpu.read_f32(&stats.buffer).await?;
        Ok(stats.names().iter().copied().zip(v).collect())
    }
}

//! The training loop's view of an image-to-image run (CycleGAN, pix2pix): the trainer, the
//! family's loss names and the grid a person watches. What differs between the families is
//! given as data; the loop is `run::train`'s.

use std::sync::Arc;

use webgan::train::{Family, Trainer};
use webgan::{Gpu, Result};

use crate::run::Training;

/// The grid of fixed examples, drawn from the generators as they are now.
pub type Grid = Box<dyn Fn(&Gpu) -> Result<(u32, u32, Vec<u8>)>>;

/// The losses by name from a read of a recipe's stats buffer.
pub type Losses<R> = fn(&R, &[f32]) -> Vec<(&'static str, f32)>;

pub struct TranslationRun<R: Family> {
    pub gpu: Arc<Gpu>,
    pub trainer: Trainer<R>,
    pub batch: u32,
    /// The reference's loss names, in the order `losses` gives them.
    pub names: &'static [&'static str],
    pub losses: Losses<R>,
    /// The progress bar's line from the losses.
    pub message: fn(&[f32]) -> String,
    pub grid: Grid,
}

impl<R: Family> Training for TranslationRun<R> {
    fn step(&self) -> u64 {
        self.trainer.step
    }

    fn batch(&self) -> u32 {
        self.batch
    }

    fn train(&mut self, steps: u32) -> Result<()> {
        self.trainer.train(steps)?;
        let _ = self.gpu.device.poll(wgpu::PollType::wait_indefinitely());
        Ok(())
    }

    fn stat_names(&self) -> Vec<&'static str> {
        self.names.to_vec()
    }

    fn stats(&self) -> Result<Vec<f32>> {
        let values: Vec<f32> = pollster::block_on(self.trainer.read_named_stats())?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        Ok((self.losses)(&self.trainer.recipe, &values)
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn message(&self, stats: &[f32]) -> String {
        (self.message)(stats)
    }

    fn preview(&self) -> Result<(u32, u32, Vec<u8>)> {
        (self.grid)(&self.gpu)
    }

    fn save(&self) -> Result<Vec<u8>> {
        pollster::block_on(self.trainer.save())
    }

    fn until_boundary(&self) -> u64 {
        self.trainer.recipe.steps_to_change(self.trainer.step)
    }

    fn divergence_advice(&self) -> &'static str {
        "lower learning rates (--lr-g, --lr-d)"
    }
}

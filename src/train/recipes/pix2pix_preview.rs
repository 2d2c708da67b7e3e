//! What a person watches while pix2pix trains: fixed held-out pairs, each as input | output |
//! target, as the reference's visuals show real_A, fake_B and real_B.

use crate::gpu::Gpu;
use crate::train::recipes::pix2pix::Pix2Pix;
use crate::train::sample::Grid;
use crate::train::translate::Translator;
use crate::Result;

pub struct Pix2PixPreview {
    /// The examples, [count, c, s, s] in [−1, 1]: A's (inputs), then B's (targets).
    real: [Vec<f32>; 2],
    channels: [u32; 2],
    size: u32,
    fake_b: Translator,
}

/// `rows` ([count, len] u8) scaled to [−1, 1].
fn scaled(rows: &[u8], count: usize, len: usize) -> Vec<f32> {
    rows[..count * len]
        .iter()
        .map(|&v| v as f32 / 127.5 - 1.0)
        .collect()
}

impl Pix2PixPreview {
    /// `a` and `b`: `count` pairs as u8 rows (CHW) at the networks' size, row for row.
    pub fn new(gpu: &Gpu, recipe: &Pix2Pix, a: &[u8], b: &[u8], count: u32) -> Result<Self> {
        let (ca, cb) = (recipe.run.input_nc, recipe.run.output_nc);
        let size = recipe.run.size;
        let len = |c: u32| (c * size * size) as usize;
        let n = count as usize;
        // G as it will be used: eval mode (running statistics, no dropout).
        let fake_b = Translator::new(gpu, &recipe.g, count, None)?;
        let real = [scaled(a, n, len(ca)), scaled(b, n, len(cb))];
        fake_b.set_images(gpu, &real[0])?;
        Ok(Pix2PixPreview {
            real,
            channels: [ca, cb],
            size,
            fake_b,
        })
    }

    /// G's translations of the examples.
    pub async fn outputs(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let mut out = Translator::run_all(gpu, &[&self.fake_b]).await?;
        Ok(out.pop().unwrap_or_default())
    }

    /// input | output | target, a row per example: (width, height, RGBA).
    pub async fn grid(&self, gpu: &Gpu) -> Result<(u32, u32, Vec<u8>)> {
        let fake = self.outputs(gpu).await?;
        let n = self.fake_b.count as usize;
        let s = self.size as usize;
        let [ca, cb] = self.channels.map(|c| c as usize);
        let c = ca.max(cb);
        let mut grid = Grid::new(3 * n, c, s, 3);
        for i in 0..n {
            let cells = [(&self.real[0], ca), (&fake, cb), (&self.real[1], cb)];
            for (k, (images, ci)) in cells.into_iter().enumerate() {
                let image = &images[i * ci * s * s..][..ci * s * s];
                grid.place(3 * i + k, &image.repeat(c / ci));
            }
        }
        Ok(grid.rgba())
    }
}

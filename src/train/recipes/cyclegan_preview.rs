//! What a person watches while CycleGAN trains: fixed examples of each domain, each beside
//! its translation and its way back (A | G_A(A) | G_B(G_A(A)), then B | G_B(B) | G_A(G_B(B))),
//! as the reference's visuals show them.

use crate::gpu::Gpu;
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::sample::Grid;
use crate::train::translate::Translator;
use crate::Result;

pub struct CycleGanPreview {
    /// The examples, [count, c, s, s] in [−1, 1]: A's, then B's.
    real: [Vec<f32>; 2],
    channels: [u32; 2],
    size: u32,
    fake_b: Translator,
    rec_a: Translator,
    fake_a: Translator,
    rec_b: Translator,
}

/// The three rows' images of a preview, each [count, c, s, s].
pub struct Visuals {
    pub real_a: Vec<f32>,
    pub fake_b: Vec<f32>,
    pub rec_a: Vec<f32>,
    pub real_b: Vec<f32>,
    pub fake_a: Vec<f32>,
    pub rec_b: Vec<f32>,
}

impl CycleGanPreview {
    /// `a` and `b`: examples of each domain as u8 rows (CHW), as many of each.
    pub fn new(gpu: &Gpu, recipe: &CycleGan, a: &[u8], b: &[u8], count: u32) -> Result<Self> {
        let shape_a = recipe.g_a.graph.input();
        let shape_b = recipe.g_b.graph.input();
        let scaled = |rows: &[u8], len: usize| -> Vec<f32> {
            rows[..count as usize * len]
                .iter()
                .map(|&v| v as f32 / 127.5 - 1.0)
                .collect()
        };
        let fake_b = Translator::new(gpu, &recipe.g_a, count, None)?;
        let rec_a = Translator::new(gpu, &recipe.g_b, count, Some(fake_b.output()))?;
        let fake_a = Translator::new(gpu, &recipe.g_b, count, None)?;
        let rec_b = Translator::new(gpu, &recipe.g_a, count, Some(fake_a.output()))?;
        let real = [scaled(a, shape_a.len()), scaled(b, shape_b.len())];
        fake_b.set_images(gpu, &real[0])?;
        fake_a.set_images(gpu, &real[1])?;
        Ok(CycleGanPreview {
            real,
            channels: [shape_a.c, shape_b.c],
            size: shape_a.h,
            fake_b,
            rec_a,
            fake_a,
            rec_b,
        })
    }

    pub async fn visuals(&self, gpu: &Gpu) -> Result<Visuals> {
        let order = [&self.fake_b, &self.rec_a, &self.fake_a, &self.rec_b];
        let mut out = Translator::run_all(gpu, &order).await?.into_iter();
        let mut next = || out.next().unwrap_or_default();
        Ok(Visuals {
            real_a: self.real[0].clone(),
            fake_b: next(),
            rec_a: next(),
            real_b: self.real[1].clone(),
            fake_a: next(),
            rec_b: next(),
        })
    }

    /// The visuals as one RGBA grid, three columns, a row per example: (width, height, RGBA).
    pub async fn grid(&self, gpu: &Gpu) -> Result<(u32, u32, Vec<u8>)> {
        let v = self.visuals(gpu).await?;
        let n = self.fake_b.count as usize;
        let s = self.size as usize;
        let [ca, cb] = self.channels.map(|c| c as usize);
        // One grid for both domains: gray images spread to RGB when the other is in colour.
        let c = ca.max(cb);
        let mut grid = Grid::new(6 * n, c, s, 3);
        let rows = [
            (&v.real_a, ca, &v.fake_b, cb, &v.rec_a, ca),
            (&v.real_b, cb, &v.fake_a, ca, &v.rec_b, cb),
        ];
        for (half, (x, cx, y, cy, z, cz)) in rows.into_iter().enumerate() {
            for i in 0..n {
                let cell = 3 * (half * n + i);
                for (k, (images, ci)) in [(x, cx), (y, cy), (z, cz)].into_iter().enumerate() {
                    let image = &images[i * ci * s * s..][..ci * s * s];
                    grid.place(cell + k, &spread(image, ci, c));
                }
            }
        }
        Ok(grid.rgba())
    }
}

/// A `from`-channel image as `to` channels: gray repeated into each colour plane.
fn spread(image: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        image.to_vec()
    } else {
        image.repeat(to / from)
    }
}

//! One pix2pix step on the CPU, the specification of `train::recipes::pix2pix`: the same
//! draws (one index, crop and flip for both images of a pair; G's dropout masks), the same
//! passes in the same order, the same losses and optimizers.

use crate::kernels::jitter::JitterShape;
use crate::kernels::pixel_loss::PixelLoss;
use crate::reference::gan::{fresh_state, update};
use crate::reference::graph::CpuNet;
use crate::reference::{jitter, loss, pixel_loss, random, tensor};
use crate::streams::{self, BATCH_INDICES};
use crate::train::recipes::pix2pix::{stat, GanMode, Pix2PixRun};

pub struct CpuPix2Pix {
    pub run: Pix2PixRun,
    pub g: CpuNet,
    pub d: CpuNet,
    pub g_state: Vec<[Vec<f32>; 2]>,
    pub d_state: Vec<[Vec<f32>; 2]>,
    pub rng_step: u32,
    pub g_t: u32,
    pub d_t: u32,
}

/// A loss of one logit against its target.
type Pointwise = fn(f64, f64) -> f64;

/// The GAN loss's mean over patch logits against `t`, and its gradient times `scale`.
fn gan(mode: GanMode, x: &[f64], t: f64, scale: f64) -> (f64, Vec<f64>) {
    let n = x.len() as f64;
    let (f, df): (Pointwise, Pointwise) = match mode {
        GanMode::Vanilla => (loss::bce, loss::bce_backward),
        GanMode::Lsgan => (loss::least_squares, loss::least_squares_backward),
    };
    let value = x.iter().map(|&v| f(v, t)).sum::<f64>() / n;
    (value, x.iter().map(|&v| scale * df(v, t) / n).collect())
}

/// [batch, ca + cb, p]: a's and b's channels stacked image by image.
fn stack(a: &[f64], ca: usize, b: &[f64], cb: usize, batch: usize, p: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(batch * (ca + cb) * p);
    for i in 0..batch {
        out.extend_from_slice(&a[i * ca * p..][..ca * p]);
        out.extend_from_slice(&b[i * cb * p..][..cb * p]);
    }
    out
}

fn add_grads(a: &mut [Vec<Vec<f64>>], b: &[Vec<Vec<f64>>]) {
    for (x, y) in a.iter_mut().flatten().zip(b.iter().flatten()) {
        x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
    }
}

impl CpuPix2Pix {
    /// `g` and `d` hold the GPU's initial weights.
    pub fn new(run: Pix2PixRun, g: CpuNet, d: CpuNet) -> CpuPix2Pix {
        let (g_state, d_state) = (fresh_state(&g), fresh_state(&d));
        CpuPix2Pix {
            run,
            g,
            d,
            g_state,
            d_state,
            rng_step: 0,
            g_t: 0,
            d_t: 0,
        }
    }

    /// One step on pairs `a`, `b` ([count, row] u8 at the load size, row for row): D's
    /// update, then G's. Returns the losses by the reference's names.
    pub fn step(&mut self, a: &[u8], b: &[u8]) -> Vec<(&'static str, f64)> {
        let r = self.run;
        let (n, bz) = (r.batch, r.batch as usize);
        let (ca, cb) = (r.input_nc as usize, r.output_nc as usize);
        let p = (r.size * r.size) as usize;
        self.rng_step += 1;
        let step = self.rng_step;
        let load = r.load_side();
        let count = a.len() / (ca * (load * load) as usize);
        let idx = random::indices(r.seed, BATCH_INDICES, step, count as u32, bz);
        let batch = |data: &[u8], c: u32| {
            let shape = JitterShape {
                batch: n,
                channels: c,
                load,
                crop: r.size,
                flip: r.flip,
            };
            let loaded = tensor::gather_u8(data, (c * load * load) as usize, &idx);
            let crops = jitter::draw(&shape, r.seed, streams::jitter(0), step);
            jitter::jitter(&shape, &crops, &loaded)
        };
        let real_a = batch(a, r.input_nc);
        let real_b = batch(b, r.output_nc);

        self.g.rng = Some((r.seed, step));
        let (fake_b, g_acts) = self.g.forward(&real_a, n, true, true);
        let ab_fake = stack(&real_a, ca, &fake_b, cb, bz, p);
        let ab_real = stack(&real_a, ca, &real_b, cb, bz, p);

        // D: the fake pair, then the real one, 0.5 of each gradient.
        let (score, acts) = self.d.forward(&ab_fake, n, true, true);
        let (d_fake, dscore) = gan(r.gan_mode, &score, 0.0, 0.5);
        let (_, mut d_grads) = self.d.backward(&ab_fake, &acts, &dscore, n);
        let (score, acts) = self.d.forward(&ab_real, n, true, true);
        let (d_real, dscore) = gan(r.gan_mode, &score, 1.0, 0.5);
        add_grads(
            &mut d_grads,
            &self.d.backward(&ab_real, &acts, &dscore, n).1,
        );
        self.d_t += 1;
        update(
            &mut self.d,
            &d_grads,
            &mut self.d_state,
            r.d_optimizer,
            self.d_t,
            None,
        );

        // G, through the updated D.
        let (score, acts) = self.d.forward(&ab_fake, n, true, true);
        let (g_gan, dscore) = gan(r.gan_mode, &score, 1.0, 1.0);
        let (dab, _) = self.d.backward(&ab_fake, &acts, &dscore, n);
        let lambda = r.lambda_l1 as f64;
        let g_l1 = pixel_loss::pixel_loss(PixelLoss::L1, &fake_b, &real_b, lambda);
        let dl1 = pixel_loss::pixel_loss_backward(PixelLoss::L1, &fake_b, &real_b, lambda);
        let mut dfake = Vec::with_capacity(fake_b.len());
        for i in 0..bz {
            dfake.extend_from_slice(&dab[(i * (ca + cb) + ca) * p..][..cb * p]);
        }
        dfake.iter_mut().zip(&dl1).for_each(|(d, l)| *d += l);
        let (_, g_grads) = self.g.backward(&real_a, &g_acts, &dfake, n);
        self.g_t += 1;
        update(
            &mut self.g,
            &g_grads,
            &mut self.g_state,
            r.g_optimizer,
            self.g_t,
            None,
        );
        vec![
            (stat::G_GAN, g_gan),
            (stat::G_L1, g_l1),
            (stat::D_REAL, d_real),
            (stat::D_FAKE, d_fake),
        ]
    }
}

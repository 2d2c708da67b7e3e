//! One CycleGAN step on the CPU, the specification of `train::recipes::cyclegan`: the same
//! random draws, the same passes in the same order, the same losses and optimizers.

use crate::kernels::pixel_loss::PixelLoss;
use crate::reference::gan::{fresh_state, update};
use crate::reference::graph::CpuNet;
use crate::reference::image_pool::ImagePool;
use crate::reference::{jitter, loss, pixel_loss, random, tensor};
use crate::streams::{self, BATCH_INDICES, SECOND_BATCH_INDICES};
use crate::train::recipes::cyclegan::{jitter_shape, stat, CycleGanConfig};

pub struct CpuCycleGan {
    pub config: CycleGanConfig,
    pub g_a: CpuNet,
    pub g_b: CpuNet,
    pub d_a: CpuNet,
    pub d_b: CpuNet,
    /// Optimizer state over G_A's then G_B's parameters, and over D_A's then D_B's.
    pub g_state: Vec<[Vec<f32>; 2]>,
    pub d_state: Vec<[Vec<f32>; 2]>,
    pub rng_step: u32,
    pub g_t: u32,
    pub d_t: u32,
    /// fake_A_pool and fake_B_pool.
    pub pools: [ImagePool<f64>; 2],
}

/// mean (x − t)² and its gradient times `scale`.
fn least_squares(x: &[f64], t: f64, scale: f64) -> (f64, Vec<f64>) {
    let n = x.len() as f64;
    let value = x.iter().map(|&v| loss::least_squares(v, t)).sum::<f64>() / n;
    let grad = x
        .iter()
        .map(|&v| scale * loss::least_squares_backward(v, t) / n)
        .collect();
    (value, grad)
}

/// λ·mean |x − t| and its gradient.
fn l1(x: &[f64], t: &[f64], weight: f64) -> (f64, Vec<f64>) {
    (
        pixel_loss::pixel_loss(PixelLoss::L1, x, t, weight),
        pixel_loss::pixel_loss_backward(PixelLoss::L1, x, t, weight),
    )
}

fn add(a: &mut [f64], b: &[f64]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

fn add_grads(a: &mut [Vec<Vec<f64>>], b: &[Vec<Vec<f64>>]) {
    for (x, y) in a.iter_mut().flatten().zip(b.iter().flatten()) {
        add(x, y);
    }
}

impl CpuCycleGan {
    pub fn new(config: CycleGanConfig, nets: [CpuNet; 4]) -> CpuCycleGan {
        let [g_a, g_b, d_a, d_b] = nets;
        let g_state = [fresh_state(&g_a), fresh_state(&g_b)].concat();
        let d_state = [fresh_state(&d_a), fresh_state(&d_b)].concat();
        let pool = |k, net: &CpuNet| {
            let len = net.arch.input().len();
            ImagePool::new(
                config.pool_size as usize,
                len,
                config.seed,
                streams::image_pool(k),
            )
        };
        let pools = [pool(0, &g_a), pool(1, &g_b)];
        CpuCycleGan {
            pools,
            config,
            g_a,
            g_b,
            d_a,
            d_b,
            g_state,
            d_state,
            rng_step: 0,
            g_t: 0,
            d_t: 0,
        }
    }

    /// One step on datasets `a` and `b` ([count, row_len] u8 each): the generators' update,
    /// then the discriminators'. Returns the losses by the reference's names (the identity
    /// losses 0 without an identity loss).
    pub fn step(&mut self, a: &[u8], b: &[u8]) -> Vec<(&'static str, f64)> {
        let c = self.config;
        let n = c.batch;
        let bz = n as usize;
        self.rng_step += 1;
        // Each domain's batch: rows at the load size, drawn, then cropped and flipped.
        let step = self.rng_step;
        let batch = |k: u32, data: &[u8], net: &CpuNet, stream| {
            let shape = jitter_shape(&c, net.arch.input());
            let row = (shape.channels * shape.load * shape.load) as usize;
            let idx = random::indices(c.seed, stream, step, (data.len() / row) as u32, bz);
            let loaded = tensor::gather_u8(data, row, &idx);
            let crops = jitter::draw(&shape, c.seed, streams::jitter(k), step);
            jitter::jitter(&shape, &crops, &loaded)
        };
        let real_a = batch(0, a, &self.g_a, BATCH_INDICES);
        let real_b = batch(1, b, &self.g_b, SECOND_BATCH_INDICES);

        // The generators, in the GPU's order.
        let (fake_b, ga_fake) = self.g_a.forward(&real_a, n, true, true);
        let (rec_a, gb_rec) = self.g_b.forward(&fake_b, n, true, true);
        let (fake_a, gb_fake) = self.g_b.forward(&real_b, n, true, true);
        let (rec_b, ga_rec) = self.g_a.forward(&fake_a, n, true, true);
        let identity = (c.lambda_identity > 0.0).then(|| {
            (
                self.g_a.forward(&real_b, n, true, true),
                self.g_b.forward(&real_a, n, true, true),
            )
        });
        let (score_a, da_gen) = self.d_a.forward(&fake_b, n, true, false);
        let (score_b, db_gen) = self.d_b.forward(&fake_a, n, true, false);
        let (loss_g_a, dscore_a) = least_squares(&score_a, 1.0, 1.0);
        let (loss_g_b, dscore_b) = least_squares(&score_b, 1.0, 1.0);
        let (lambda_a, lambda_b) = (c.lambda_a as f64, c.lambda_b as f64);
        let idt = c.lambda_identity as f64;
        let (cycle_a, drec_a) = l1(&rec_a, &real_a, lambda_a);
        let (cycle_b, drec_b) = l1(&rec_b, &real_b, lambda_b);

        let (mut dfake_b, _) = self.d_a.backward(&fake_b, &da_gen, &dscore_a, n);
        let (mut dfake_a, _) = self.d_b.backward(&fake_a, &db_gen, &dscore_b, n);
        let (cycled_b, mut gb_grads) = self.g_b.backward(&fake_b, &gb_rec, &drec_a, n);
        add(&mut dfake_b, &cycled_b);
        let (cycled_a, mut ga_grads) = self.g_a.backward(&fake_a, &ga_rec, &drec_b, n);
        add(&mut dfake_a, &cycled_a);
        let (mut idt_a_loss, mut idt_b_loss) = (0.0, 0.0);
        if let Some(((idt_a, ga_idt), (idt_b, gb_idt))) = &identity {
            let didt_a;
            let didt_b;
            (idt_a_loss, didt_a) = l1(idt_a, &real_b, lambda_b * idt);
            (idt_b_loss, didt_b) = l1(idt_b, &real_a, lambda_a * idt);
            add_grads(
                &mut ga_grads,
                &self.g_a.backward(&real_b, ga_idt, &didt_a, n).1,
            );
            add_grads(
                &mut gb_grads,
                &self.g_b.backward(&real_a, gb_idt, &didt_b, n).1,
            );
        }
        add_grads(
            &mut ga_grads,
            &self.g_a.backward(&real_a, &ga_fake, &dfake_b, n).1,
        );
        add_grads(
            &mut gb_grads,
            &self.g_b.backward(&real_b, &gb_fake, &dfake_a, n).1,
        );
        self.g_t += 1;
        let split = self.g_a.params.iter().flatten().count();
        let (state_a, state_b) = self.g_state.split_at_mut(split);
        update(
            &mut self.g_a,
            &ga_grads,
            state_a,
            c.g_optimizer,
            self.g_t,
            None,
        );
        update(
            &mut self.g_b,
            &gb_grads,
            state_b,
            c.g_optimizer,
            self.g_t,
            None,
        );

        // The discriminators, on the fakes made before G's update, mixed with earlier ones
        // by the pools.
        let d_step = |d: &mut CpuNet, real: &[f64], fake: &[f64]| {
            let (score, acts) = d.forward(real, n, true, true);
            let (real_loss, dscore) = least_squares(&score, 1.0, 0.5);
            let (_, mut grads) = d.backward(real, &acts, &dscore, n);
            let (score, acts) = d.forward(fake, n, true, true);
            let (fake_loss, dscore) = least_squares(&score, 0.0, 0.5);
            add_grads(&mut grads, &d.backward(fake, &acts, &dscore, n).1);
            (0.5 * (real_loss + fake_loss), grads)
        };
        let pooled_a = self.pools[0].query(&fake_a, self.rng_step);
        let pooled_b = self.pools[1].query(&fake_b, self.rng_step);
        let (loss_d_a, da_grads) = d_step(&mut self.d_a, &real_b, &pooled_b);
        let (loss_d_b, db_grads) = d_step(&mut self.d_b, &real_a, &pooled_a);
        self.d_t += 1;
        let split = self.d_a.params.iter().flatten().count();
        let (state_a, state_b) = self.d_state.split_at_mut(split);
        update(
            &mut self.d_a,
            &da_grads,
            state_a,
            c.d_optimizer,
            self.d_t,
            None,
        );
        update(
            &mut self.d_b,
            &db_grads,
            state_b,
            c.d_optimizer,
            self.d_t,
            None,
        );
        vec![
            (stat::D_A, loss_d_a),
            (stat::G_A, loss_g_a),
            (stat::CYCLE_A, cycle_a),
            (stat::IDT_A, idt_a_loss),
            (stat::D_B, loss_d_b),
            (stat::G_B, loss_g_b),
            (stat::CYCLE_B, cycle_b),
            (stat::IDT_B, idt_b_loss),
        ]
    }
}

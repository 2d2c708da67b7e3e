//! One alternating GAN step on the CPU, the specification of `train::Trainer`: the same random
//! draws (Philox streams and counters), the same losses, the same optimizers (in f32, as the GPU).

use crate::kernels::augment::{AugmentShape, SampleParams};
use crate::kernels::condition::ConditionShape;
use crate::kernels::info_loss::InfoShape;
use crate::reference::graph::{Activations, CpuNet};
use crate::reference::info_loss;
use crate::reference::{augment, condition, loss, optim, random, tensor};
use crate::streams::augment as augment_stream;
use crate::train::recipes::dcgan::augmented;
use crate::train::{GanLoss, Optimizer, Prior, TrainConfig};

/// Both networks and their optimizer state; parameters are f32 values held in f64.
pub struct CpuGan {
    pub config: TrainConfig,
    pub g: CpuNet,
    pub d: CpuNet,
    /// The moving average of G's weights, when the config keeps one.
    pub g_ema: Option<CpuNet>,
    /// Per parameter tensor, in `all_params` order: optimizer state (m, v) or (momentum, −).
    pub g_state: Vec<[Vec<f32>; 2]>,
    pub d_state: Vec<[Vec<f32>; 2]>,
    pub rng_step: u32,
    pub g_t: u32,
    pub d_t: u32,
}

/// The losses of a step: D's (real + fake halves) and G's.
#[derive(Clone, Copy, Debug)]
pub struct StepLosses {
    pub d_loss: f64,
    pub g_loss: f64,
    /// InfoGAN: Q's (categorical cross-entropy, continuous ½ squared error) in G's step.
    pub info: Option<(f64, f64)>,
}

use crate::reference::penalty::{self, Penalty};
use crate::streams::{
    BATCH_INDICES as STREAM_INDICES, CONTINUOUS_CODES as STREAM_CODES,
    FAKE_CLASSES as STREAM_LABELS, NOISE as STREAM_Z, PENALTY_MIX as STREAM_MIX,
};

pub(crate) fn fresh_state(net: &CpuNet) -> Vec<[Vec<f32>; 2]> {
    net.params
        .iter()
        .flatten()
        .map(|p| [vec![0.0; p.len()], vec![0.0; p.len()]])
        .collect()
}

/// One optimizer step over every parameter tensor of `net`.
pub(crate) fn update(
    net: &mut CpuNet,
    grads: &[Vec<Vec<f64>>],
    state: &mut [[Vec<f32>; 2]],
    optimizer: Optimizer,
    t: u32,
    clip: Option<f32>,
) {
    // Spectral norm's u and v are state, not parameters: no optimizer steps them.
    let trained: Vec<bool> = (0..net.arch.nodes.len())
        .flat_map(|i| net.arch.params_of(i))
        .map(|spec| spec.trained())
        .collect();
    let params = net.params.iter_mut().flatten();
    let grads = grads.iter().flatten();
    let tensors = params.zip(grads).zip(state.iter_mut()).zip(trained);
    for (((p, g), [s0, s1]), trained) in tensors {
        if !trained {
            continue;
        }
        let mut p32: Vec<f32> = p.iter().map(|&v| v as f32).collect();
        let g32: Vec<f32> = g.iter().map(|&v| v as f32).collect();
        match optimizer {
            Optimizer::Adam(c) => optim::adam(&mut p32, &g32, s0, s1, t, &c),
            Optimizer::Sgd(c) => optim::sgd(&mut p32, &g32, s0, &c),
        }
        if let Some(c) = clip {
            optim::clip(&mut p32, c);
        }
        *p = p32.into_iter().map(f64::from).collect();
    }
}

impl CpuGan {
    pub fn new(config: TrainConfig, g: CpuNet, d: CpuNet) -> CpuGan {
        let (g_state, d_state) = (fresh_state(&g), fresh_state(&d));
        // The average starts as G.
        let g_ema = config.ema.map(|_| g.clone());
        CpuGan {
            config,
            g,
            d,
            g_ema,
            g_state,
            d_state,
            rng_step: 0,
            g_t: 0,
            d_t: 0,
        }
    }

    /// G's input: fresh z, and when conditional fresh classes appended one-hot; with the classes.
    /// InfoGAN: z with fresh codes (its categorical code one-hot, then the continuous ones),
    /// with the categorical values and the continuous codes.
    fn draw_z(&mut self) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
        self.rng_step += 1;
        let c = self.config;
        let len = (c.batch * c.model.nz) as usize;
        let z = match c.prior {
            Prior::Normal => random::normal(c.seed, STREAM_Z, self.rng_step, len),
            Prior::Uniform => random::uniform(c.seed, STREAM_Z, self.rng_step, len),
        };
        let z: Vec<f64> = z.into_iter().map(f64::from).collect();
        let codes = c.model.codes;
        if !codes.is_none() {
            let (b, nz) = (c.batch as usize, c.model.nz as usize);
            let (k, m) = (codes.categorical as usize, codes.continuous as usize);
            let values = if k > 0 {
                random::indices(c.seed, STREAM_LABELS, self.rng_step, k as u32, b)
            } else {
                vec![]
            };
            let continuous: Vec<f64> = random::uniform(c.seed, STREAM_CODES, self.rng_step, b * m)
                .into_iter()
                .map(f64::from)
                .collect();
            let mut latent = Vec::with_capacity(b * (nz + k + m));
            for i in 0..b {
                latent.extend_from_slice(&z[i * nz..(i + 1) * nz]);
                latent.extend((0..k).map(|j| if j as u32 == values[i] { 1.0 } else { 0.0 }));
                latent.extend_from_slice(&continuous[i * m..(i + 1) * m]);
            }
            return (latent, values, continuous);
        }
        if c.model.classes == 0 {
            return (z, vec![], vec![]);
        }
        let labels = random::indices(
            c.seed,
            STREAM_LABELS,
            self.rng_step,
            c.model.classes,
            c.batch as usize,
        );
        (
            condition::latent(&z, c.model.nz, c.model.classes, &labels),
            labels,
            vec![],
        )
    }

    /// InfoGAN: Q's output on a D pass (`acts`), and d(λ·info loss)/dQ for the codes given;
    /// None for the other models.
    fn info_gradient(
        &self,
        acts: &Activations,
        values: &[u32],
        continuous: &[f64],
    ) -> Option<Vec<f64>> {
        let codes = self.config.model.codes;
        if codes.is_none() {
            return None;
        }
        let s = InfoShape {
            batch: self.config.batch,
            categorical: codes.categorical,
            continuous: codes.continuous,
        };
        let q = &acts.values[self.d.arch.outputs[1].0];
        let weight = self.config.info_reg_coeff as f64;
        Some(info_loss::info_loss_backward(
            &s, weight, q, values, continuous,
        ))
    }

    /// D's backward from d logits, and from dQ when InfoGAN's Q head is there (zero when no
    /// loss reads it, as on the real batch).
    fn d_backward(
        &self,
        acts: &Activations,
        dlogits: &[f64],
        dq: Option<Vec<f64>>,
    ) -> (Vec<f64>, Vec<Vec<Vec<f64>>>) {
        let b = self.config.batch;
        if self.d.arch.outputs.len() == 1 {
            return self.d.backward(&[], acts, dlogits, b);
        }
        let q_len = b as usize * self.d.arch.shape(self.d.arch.outputs[1]).len();
        let dq = dq.unwrap_or_else(|| vec![0.0; q_len]);
        let (mut dx, dp) = self.d.backward_all(acts, &[dlogits, &dq], b);
        (dx.swap_remove(0), dp)
    }

    fn augment_shape(&self) -> AugmentShape {
        let c = self.config;
        let image = c.model.image();
        AugmentShape {
            batch: c.batch,
            channels: image.c,
            height: image.h,
            width: image.w,
        }
    }

    /// DiffAugment of `images` with the k-th augmented pass's stream (`augmented::REAL`, ...)
    /// at the current step, and the parameters drawn; the images as they are without a policy.
    fn augmented(&self, images: Vec<f64>, k: u32) -> (Vec<f64>, Option<Vec<SampleParams>>) {
        let c = self.config;
        let kinds = c.augment.kinds();
        if kinds.is_empty() {
            return (images, None);
        }
        let s = self.augment_shape();
        let params = augment::draw(&s, c.seed, augment_stream(k), self.rng_step);
        (augment::forward(&s, &kinds, &images, &params), Some(params))
    }

    /// Images as D sees them: with one-hot class planes when conditional (InfoGAN's codes are
    /// for Q to find, not for D to see).
    fn for_d(&self, images: Vec<f64>, labels: &[u32]) -> Vec<f64> {
        let c = self.config;
        if c.model.classes == 0 {
            return images;
        }
        let image = c.model.image();
        let s = ConditionShape {
            batch: c.batch,
            channels: image.c,
            pixels: image.pixels(),
            classes: c.model.classes,
        };
        condition::append_onehot(&s, &images, labels)
    }

    /// k discriminator updates then one generator update, on `dataset` ([count, row_len] u8,
    /// with one label per image when conditional).
    pub fn step(&mut self, dataset: &[u8], row_len: usize, labels: &[u32]) -> StepLosses {
        let c = self.config;
        let b = c.batch;
        let (real_kind, fake_kind, g_kind) = c.loss.kernels();
        let count = (dataset.len() / row_len) as u32;
        let mut d_loss = 0.0;
        for _ in 0..c.d_steps {
            self.rng_step += 1;
            let index = random::indices(c.seed, STREAM_INDICES, self.rng_step, count, b as usize);
            let real_labels: Vec<u32> = index
                .iter()
                .map(|&i| labels.get(i as usize).copied().unwrap_or(0))
                .collect();
            let real = tensor::gather_u8(dataset, row_len, &index);
            let (real, _) = self.augmented(real, augmented::REAL);
            let real = self.for_d(real, &real_labels);
            let (z, fake_labels, continuous) = self.draw_z();
            let (fake, _) = self.g.forward(&z, b, true, true);
            let (fake, _) = self.augmented(fake, augmented::FAKE_D);
            let fake = self.for_d(fake, &fake_labels);
            let real_targets = vec![1.0 - c.label_smoothing as f64; b as usize];
            let fake_targets = vec![0.0; b as usize];

            let (logits, acts) = self.d.forward(&real, b, true, true);
            d_loss = loss::mean_loss(real_kind, &logits, &real_targets);
            let dlogits = loss::mean_loss_backward(real_kind, &logits, &real_targets);
            let (_, mut grads) = self.d_backward(&acts, &dlogits, None);

            let (logits, acts) = self.d.forward(&fake, b, true, true);
            d_loss += loss::mean_loss(fake_kind, &logits, &fake_targets);
            let dlogits = loss::mean_loss_backward(fake_kind, &logits, &fake_targets);
            let dq = self.info_gradient(&acts, &fake_labels, &continuous);
            let (_, fake_grads) = self.d_backward(&acts, &dlogits, dq);
            for (g, f) in grads.iter_mut().flatten().zip(fake_grads.iter().flatten()) {
                g.iter_mut().zip(f).for_each(|(a, b)| *a += b);
            }
            // Lazy R1 in every r1_every-th D update (d_t counts the updates done before).
            let lazy_skips = c.r1.is_some() && !self.d_t.is_multiple_of(c.r1_every);
            if let Some(p) = c.penalty().filter(|_| !lazy_skips) {
                let x = match p {
                    // x̂ = t·real + (1 − t)·fake, t = (e + 1)/2 per sample.
                    Penalty::Gp { .. } => {
                        let e = random::uniform(c.seed, STREAM_MIX, self.rng_step, b as usize);
                        let per = real.len() / b as usize;
                        (0..real.len())
                            .map(|i| {
                                let t = 0.5 * (e[i / per] as f64 + 1.0);
                                t * real[i] + (1.0 - t) * fake[i]
                            })
                            .collect()
                    }
                    Penalty::R1 { .. } => real.clone(),
                };
                let penalised = penalty::penalty(&mut self.d, &x, b, p)
                    .expect("the trainer built this critic for its penalty");
                d_loss += penalised.value;
                for (g, f) in grads
                    .iter_mut()
                    .flatten()
                    .zip(penalised.params.iter().flatten())
                {
                    g.iter_mut().zip(f).for_each(|(a, b)| *a += b);
                }
            }
            self.d_t += 1;
            let clip = (c.loss == GanLoss::Wgan).then_some(c.clip);
            update(
                &mut self.d,
                &grads,
                &mut self.d_state,
                c.d_optimizer,
                self.d_t,
                clip,
            );
        }

        let (z, fake_labels, continuous) = self.draw_z();
        let (fake, g_acts) = self.g.forward(&z, b, true, true);
        let (fake, augment_params) = self.augmented(fake, augmented::FAKE_G);
        let fake = self.for_d(fake, &fake_labels);
        // Through D in train mode, without moving its running statistics.
        let (logits, d_acts) = self.d.forward(&fake, b, true, false);
        let g_loss = loss::mean_loss(g_kind, &logits, &[]);
        let dlogits = loss::mean_loss_backward(g_kind, &logits, &[]);
        let dq = self.info_gradient(&d_acts, &fake_labels, &continuous);
        let info = dq.as_ref().map(|_| {
            let codes = c.model.codes;
            let s = InfoShape {
                batch: b,
                categorical: codes.categorical,
                continuous: codes.continuous,
            };
            let q = &d_acts.values[self.d.arch.outputs[1].0];
            info_loss::info_loss(&s, q, &fake_labels, &continuous)
        });
        let (mut dfake, _) = self.d_backward(&d_acts, &dlogits, dq);
        if c.model.classes > 0 {
            let image = c.model.image();
            let s = ConditionShape {
                batch: b,
                channels: image.c,
                pixels: image.pixels(),
                classes: c.model.classes,
            };
            dfake = condition::take_channels(&s, &dfake);
        }
        if let Some(params) = &augment_params {
            let kinds = c.augment.kinds();
            dfake = augment::backward(&self.augment_shape(), &kinds, &dfake, params);
        }
        let (_, grads) = self.g.backward(&z, &g_acts, &dfake, b);
        self.g_t += 1;
        update(
            &mut self.g,
            &grads,
            &mut self.g_state,
            c.g_optimizer,
            self.g_t,
            None,
        );
        if let (Some(avg), Some(beta)) = (&mut self.g_ema, c.ema) {
            let trained: Vec<bool> = (0..self.g.arch.nodes.len())
                .flat_map(|i| self.g.arch.params_of(i))
                .map(|spec| spec.trained())
                .collect();
            let params = avg.params.iter_mut().flatten();
            for ((a, p), trained) in params.zip(self.g.params.iter().flatten()).zip(trained) {
                // Spectral norm's u and v are copied, as the GPU's average copies them.
                if !trained {
                    a.clone_from(p);
                    continue;
                }
                let mut a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let p32: Vec<f32> = p.iter().map(|&v| v as f32).collect();
                optim::ema(&mut a32, &p32, beta);
                *a = a32.into_iter().map(f64::from).collect();
            }
            avg.running.clone_from(&self.g.running);
        }
        StepLosses {
            d_loss,
            g_loss,
            info,
        }
    }
}

//! DCGAN (Radford et al. 2016), conditional too: k discriminator updates on a real batch
//! (label 1) and a fake one (label 0) with G frozen, then one generator update with fresh noise
//! through a frozen D. The networks are PyTorch's `netG` and `netD` of `examples/dcgan`.

use crate::gpu::Gpu;
use crate::graph::penalty::PenaltyPass;
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::kernels::optim;
use crate::kernels::penalty::{interpolate, total};
use crate::kernels::random::{self, Distribution};
use crate::kernels::Dispatch;
use crate::reference::penalty::Penalty;
use crate::streams::PENALTY_MIX;
use crate::train::recipe::{NetOptimizer, Phase, Recipe, Slots, Trained, Update};
use crate::train::recipes::dcgan_glue::{Glue, Passes};
use crate::train::{config_json, Family, GanLoss, GpuDataset, TrainConfig};
use crate::{Error, Result};

/// The stats a step writes.
pub mod stat {
    pub const D_LOSS: &str = "d_loss";
    pub const G_LOSS: &str = "g_loss";
    pub const D_REAL: &str = "d_real";
    pub const D_FAKE_BEFORE: &str = "d_fake_before";
    pub const D_FAKE_AFTER: &str = "d_fake_after";
    pub const REAL_CALLED_REAL: &str = "real_called_real";
    pub const FAKE_CALLED_FAKE: &str = "fake_called_fake";
    /// InfoGAN: Q's mean cross-entropy on the categorical code, and mean ½ squared error on
    /// the continuous ones, in G's step (0 for the other models).
    pub const INFO_CATEGORICAL: &str = "info_categorical";
    pub const INFO_CONTINUOUS: &str = "info_continuous";
    pub const ALL: [&str; 9] = [
        D_LOSS,
        G_LOSS,
        D_REAL,
        D_FAKE_BEFORE,
        D_FAKE_AFTER,
        REAL_CALLED_REAL,
        FAKE_CALLED_FAKE,
        INFO_CATEGORICAL,
        INFO_CONTINUOUS,
    ];
}

/// The counters a step keeps: the RNG's step and each Adam's t. Checkpoints store them in this
/// order as `state.counters`; the fourth is unused and kept so that they keep their shape.
pub mod counter {
    pub const RNG: &str = "rng";
    pub const D_ADAM: &str = "netD adam";
    pub const G_ADAM: &str = "netG adam";
    pub const ALL: [&str; 4] = [RNG, D_ADAM, G_ADAM, "unused"];
}

/// DCGAN's augmented passes, each drawing from `streams::augment(k)` of its own k.
pub mod augmented {
    /// The real batch.
    pub const REAL: u32 = 0;
    /// The fakes in D's step.
    pub const FAKE_D: u32 = 1;
    /// The fakes in G's step, whose backward carries D's gradient to G.
    pub const FAKE_G: u32 = 2;
}

/// Update names: `Trainer::train_update` records one of them alone.
pub const D_UPDATE: &str = "D";
pub const G_UPDATE: &str = "G";

pub struct Dcgan {
    pub g: Net,
    pub d: Net,
    /// The moving average of G's weights, when the config asks for one.
    pub g_ema: Option<Net>,
    config: TrainConfig,
    stats: Slots,
    counters: Slots,
    g_train: Pass,
    d_real: Pass,
    d_fake: Pass,
    d_gen: Pass,
    d_optimizer: NetOptimizer,
    g_optimizer: NetOptimizer,
    /// After G's update: the average moved towards G's weights, G's running statistics copied.
    g_average: Vec<Dispatch>,
    /// WGAN-GP's or R1's penalty on D, after D's loss gradients and before its update.
    penalty: Option<Penalised>,
    glue: Glue,
    /// Kept alive for the passes that write and read them.
    _fakes: [wgpu::Buffer; 4],
}

impl Dcgan {
    /// G and D initialised from the config's seed, their passes and the step's glue.
    pub fn new(gpu: &Gpu, config: &TrainConfig, dataset: &GpuDataset) -> Result<Dcgan> {
        let (g_arch, d_arch) = config.model.build_for(config.penalised())?;
        // The average starts as G: the same graph drawn from the same seed.
        let g_ema = config
            .ema
            .map(|_| Net::new(gpu, g_arch.clone(), config.seed));
        let g = Net::new(gpu, g_arch, config.seed);
        let d = Net::new(gpu, d_arch, config.seed ^ 0xd15c);
        let b = config.batch;
        let image_len = config.model.image().len() as u32;
        let counters = Slots::new(gpu, "counters", &counter::ALL);
        let stats = Slots::new(gpu, "stats", &stat::ALL);

        // G's images, and D's view of them: with one-hot class planes when conditional.
        let fake = gpu.storage("fake images", (b * image_len) as usize);
        let dfake = gpu.storage("d fake images", (b * image_len) as usize);
        // What D sees of them: augmented (DiffAugment), then with class planes (conditional).
        let (seen, dseen) = if config.augment.is_empty() {
            (fake.clone(), dfake.clone())
        } else {
            (
                gpu.storage("augmented fakes", (b * image_len) as usize),
                gpu.storage("d augmented fakes", (b * image_len) as usize),
            )
        };
        let d_len = (b as usize) * d.graph.input().len();
        let (fake_d, dfake_d) = if config.model.classes > 0 {
            (
                gpu.storage("conditioned fakes", d_len),
                gpu.storage("d conditioned fakes", d_len),
            )
        } else {
            (seen.clone(), dseen.clone())
        };
        let train = |param_grads, input_grad, update_running| PassOptions {
            batch: b,
            train: true,
            update_running,
            param_grads,
            input_grad,
            backward: true,
        };
        let g_train = Pass::new(
            gpu,
            &g,
            train(ParamGrads::Overwrite, false, true),
            PassBuffers {
                output: Some(fake.clone()),
                doutput: Some(dfake.clone()),
                ..Default::default()
            },
        )?;
        let d_real = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Overwrite, false, true),
            PassBuffers::default(),
        )?;
        let d_fake = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Accumulate, false, true),
            PassBuffers {
                input: Some(fake_d.clone()),
                ..Default::default()
            },
        )?;
        // Through a frozen D: no parameter gradients, and its running statistics left alone.
        let d_gen = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Skip, true, false),
            PassBuffers {
                input: Some(fake_d),
                dinput: Some(dfake_d),
                ..Default::default()
            },
        )?;
        let clip = (config.loss == GanLoss::Wgan).then_some(config.clip);
        let d_optimizer = NetOptimizer::new(
            gpu,
            &[&d],
            config.d_optimizer,
            &counters,
            counter::D_ADAM,
            clip,
        )?;
        let g_optimizer = NetOptimizer::new(
            gpu,
            &[&g],
            config.g_optimizer,
            &counters,
            counter::G_ADAM,
            None,
        )?;
        let mut g_average = Vec::new();
        if let (Some(ema), Some(beta)) = (&g_ema, config.ema) {
            for (avg, p) in ema.all_params().zip(g.all_params()) {
                // Spectral norm's u and v are G's estimate of its weights' top singular pair:
                // copied, since an average of unit vectors is no unit vector and would scale
                // the averaged weights' σ down.
                g_average.push(if p.spec.trained() {
                    optim::ema(gpu, &avg.value, &p.value, p.len(), beta)?
                } else {
                    optim::ema_copy(gpu, &avg.value, &p.value, p.len())?
                });
            }
            for (avg, running) in ema.running.iter().zip(&g.running) {
                if let (Some(avg), Some(running)) = (avg, running) {
                    let len = running.size() as usize / 4;
                    g_average.push(optim::ema_copy(gpu, avg, running, len)?);
                }
            }
        }
        let passes = Passes {
            g: &g_train,
            d_real: &d_real,
            d_fake: &d_fake,
            d_gen: &d_gen,
            fake: &fake,
            dfake: &dfake,
            seen: &seen,
            dseen: &dseen,
        };
        let glue = Glue::new(gpu, config, dataset, &passes, &counters, &stats)?;
        let penalty = Penalised::new(gpu, config, &d, &d_real, &d_fake, &counters, &stats)?;
        Ok(Dcgan {
            g,
            d,
            g_ema,
            config: *config,
            stats,
            counters,
            g_train,
            d_real,
            d_fake,
            d_gen,
            d_optimizer,
            g_optimizer,
            g_average,
            penalty,
            glue,
            _fakes: [fake, dfake, seen, dseen],
        })
    }
}

/// A penalty on D's input gradient and what feeds it: WGAN-GP's interpolates of the real and
/// fake batches as D sees them (t per sample uniform in (0, 1)), or R1's real batch.
struct Penalised {
    /// WGAN-GP: the draw of t and the interpolates.
    mix: Vec<Dispatch>,
    pass: PenaltyPass,
    /// The penalty into D's loss.
    total: Dispatch,
    _buffers: Vec<wgpu::Buffer>,
}

impl Penalised {
    fn new(
        gpu: &Gpu,
        config: &TrainConfig,
        d: &Net,
        d_real: &Pass,
        d_fake: &Pass,
        counters: &Slots,
        stats: &Slots,
    ) -> Result<Option<Penalised>> {
        let b = config.batch;
        let per_sample = d.graph.input().len();
        let (penalty, mix, input, buffers) = match config.penalty() {
            Some(penalty @ Penalty::Gp { .. }) => {
                let t = gpu.storage("penalty mix", b as usize);
                let x = gpu.storage("interpolates", b as usize * per_sample);
                let rng = counters.slot(counter::RNG) as u32;
                let mix = vec![
                    random::fill(
                        gpu,
                        Distribution::Uniform,
                        config.seed,
                        PENALTY_MIX,
                        &counters.buffer,
                        rng,
                        &t,
                        b as usize,
                    )?,
                    interpolate(gpu, &d_real.input, &d_fake.input, &t, &x, b, per_sample)?,
                ];
                (penalty, mix, x.clone(), vec![t, x])
            }
            Some(penalty @ Penalty::R1 { .. }) => (penalty, vec![], d_real.input.clone(), vec![]),
            None => return Ok(None),
        };
        let pass = PenaltyPass::new(gpu, d, b, penalty, Some(input))?;
        let total = total(gpu, &pass.terms, b, &stats.buffer, stats.slot(stat::D_LOSS))?;
        Ok(Some(Penalised {
            mix,
            pass,
            total,
            _buffers: buffers,
        }))
    }

    fn dispatches(&self) -> Vec<&Dispatch> {
        let mut all: Vec<&Dispatch> = self.mix.iter().collect();
        all.extend(self.pass.dispatches());
        all.push(&self.total);
        all
    }
}

impl Recipe for Dcgan {
    fn family(&self) -> &'static str {
        "dcgan"
    }

    fn nets(&self) -> Vec<Trained<'_>> {
        let mut nets = vec![
            Trained {
                name: "netG",
                net: &self.g,
                optimizer: Some(&self.config.g_optimizer),
            },
            Trained {
                name: "netD",
                net: &self.d,
                optimizer: Some(&self.config.d_optimizer),
            },
        ];
        nets.extend(self.g_ema.as_ref().map(|net| Trained {
            name: "netG_ema",
            net,
            optimizer: None,
        }));
        nets
    }

    fn updates(&self) -> Vec<Update<'_>> {
        let glue = &self.glue;
        let d = vec![
            // A fresh real batch and fresh noise; G runs forward only, building no gradients.
            Phase::new("D step: draw", glue.draw_real.iter().chain(&glue.draw_z)),
            Phase::new("D step: G forward", self.g_train.dispatches(true)),
            Phase::new("D step: augment, glue", &glue.fake_for_d_step),
            Phase::new("D step: D forward (real)", self.d_real.dispatches(true)),
            Phase::new("D step: loss", &glue.real_loss),
            Phase::new("D step: D backward (real)", self.d_real.dispatches(false)),
            Phase::new("D step: D forward (fake)", self.d_fake.dispatches(true)),
            Phase::new("D step: loss", &glue.fake_loss),
            Phase::new("D step: D backward (fake)", self.d_fake.dispatches(false)),
            // Lazy R1 runs in every r1_every-th D update only, its weight scaled to match.
            Phase::new(
                "D step: penalty",
                self.penalty.iter().flat_map(Penalised::dispatches),
            )
            .every(self.config.r1_every),
            Phase::new("D step: optimizer", self.d_optimizer.dispatches()),
        ];
        // Fresh noise, through D without touching its parameters, optimizer or statistics.
        let g = vec![
            Phase::new("G step: draw", &glue.draw_z),
            Phase::new("G step: G forward", self.g_train.dispatches(true)),
            Phase::new("G step: augment, glue", &glue.fake_for_g_step),
            Phase::new("G step: D forward", self.d_gen.dispatches(true)),
            Phase::new("G step: loss", &glue.generator_loss),
            Phase::new("G step: D backward", self.d_gen.dispatches(false)),
            Phase::new("G step: glue, augment backward", &glue.image_gradient),
            Phase::new("G step: G backward", self.g_train.dispatches(false)),
            Phase::new("G step: optimizer", self.g_optimizer.dispatches()),
            Phase::new("G step: moving average", &self.g_average),
        ];
        vec![
            Update {
                name: D_UPDATE,
                times: self.config.d_steps,
                phases: d,
            },
            Update {
                name: G_UPDATE,
                times: 1,
                phases: g,
            },
        ]
    }

    fn stats(&self) -> &Slots {
        &self.stats
    }

    fn counters(&self) -> &Slots {
        &self.counters
    }
}

impl Family for Dcgan {
    type Config = TrainConfig;
    type Data = GpuDataset;
    const NAME: &'static str = "dcgan";

    fn check(config: &TrainConfig) -> Result<()> {
        config.check()?;
        config.check_fits()
    }

    fn build(gpu: &Gpu, config: &TrainConfig, dataset: &GpuDataset) -> Result<Dcgan> {
        let image_len = config.model.image().len() as u32;
        if dataset.row_len != image_len {
            return Err(Error::Invalid(format!(
                "the dataset's images have {} values but {} needs {}×{}×{}",
                dataset.row_len,
                config.model.preset.name(),
                config.model.channels,
                config.model.preset.image_size(),
                config.model.preset.image_size()
            )));
        }
        let classes = config.model.classes;
        if classes > 0 && (dataset.labels.is_none() || dataset.classes != classes) {
            return Err(Error::Invalid(format!(
                "a conditional model of {classes} classes needs a dataset labelled with {classes} classes (this one has {})",
                dataset.classes
            )));
        }
        Dcgan::new(gpu, config, dataset)
    }

    fn config_to_json(config: &TrainConfig) -> String {
        config_json::to_json(config)
    }

    fn config_from_json(json: &str) -> Result<TrainConfig> {
        config_json::from_json(json)
    }

    fn check_resume(saved: &TrainConfig, config: &TrainConfig) -> Result<()> {
        let same_shapes = config.model == saved.model
            && config.batch == saved.batch
            && std::mem::discriminant(&config.d_optimizer)
                == std::mem::discriminant(&saved.d_optimizer)
            && std::mem::discriminant(&config.g_optimizer)
                == std::mem::discriminant(&saved.g_optimizer)
            && config.ema.is_some() == saved.ema.is_some();
        if !same_shapes {
            return Err(Error::Invalid(
                "a resumed run keeps its model, batch, optimizers and whether it averages G".into(),
            ));
        }
        Ok(())
    }
}

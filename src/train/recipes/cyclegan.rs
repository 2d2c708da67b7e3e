//! CycleGAN (Zhu et al. 2017) as its reference implementation (junyanz/pytorch-CycleGAN-and-
//! pix2pix, `models/cycle_gan_model.py`) trains it: two generators netG_A (A → B) and netG_B
//! (B → A), two discriminators netD_A (judging B-domain images) and netD_B, one Adam over both
//! generators and one over both discriminators. Each step, with the discriminators frozen, G's
//! loss is LSGAN(D_A(G_A(a)), 1) + LSGAN(D_B(G_B(b)), 1) plus the cycle losses
//! λ_A·|G_B(G_A(a)) − a| and λ_B·|G_A(G_B(b)) − b| plus the identity losses
//! λ_B·λ_idt·|G_A(b) − b| and λ_A·λ_idt·|G_B(a) − a|; then each D's loss is
//! 0.5·(LSGAN(D(real), 1) + LSGAN(D(fake), 0)) on the same fakes.
//!
//! A generator's output is read twice (by a discriminator and by the other generator for the
//! cycle), so its gradient is the discriminator's, added to by the other generator's pass.
//! The six uses of the generators run as three passes where the networks allow it (see
//! `cyclegan_stacks`), with the values of six.
//! D's step judges fakes drawn from pools of past ones (the reference's `--pool_size`, 50),
//! and the networks are any graphs: the family's ResNet generator and PatchGAN discriminator
//! are built on this recipe.

use crate::gpu::Gpu;
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::graph::{Graph, Shape3};
use crate::kernels::image_pool::{ImagePool, ImagePoolShape, PoolDraw};
use crate::kernels::jitter::{Jitter, JitterDraw, JitterShape};
use crate::kernels::loss::{loss, Loss, LossOptions};
use crate::kernels::pixel_loss::{pixel_loss, PixelLoss, PixelLossOptions};
use crate::kernels::random::{self, Distribution};
use crate::kernels::tensor;
use crate::kernels::Dispatch;
use crate::streams::{self, BATCH_INDICES, SECOND_BATCH_INDICES};
use crate::train::recipe::{NetOptimizer, Phase, Recipe, Slots, State, Trained, Update};
use crate::train::recipes::cyclegan_run::LinearDecay;
use crate::train::recipes::cyclegan_stacks::{self, Stack, Use};
use crate::train::{GpuDataset, Optimizer};
use crate::{Error, Result};

/// The reference's options (`--lambda_A`, `--lambda_B`, `--lambda_identity`, Adam's `--lr`
/// and `--beta1`), with its defaults in [`CycleGanConfig::new`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CycleGanConfig {
    pub batch: u32,
    pub lambda_a: f32,
    pub lambda_b: f32,
    pub lambda_identity: f32,
    pub g_optimizer: Optimizer,
    pub d_optimizer: Optimizer,
    pub seed: u64,
    /// `--pool_size`: past fakes each discriminator draws from (0: the fakes as made).
    pub pool_size: u32,
    /// `--load_size`: the side the datasets hold, from which each step takes a random crop of
    /// the networks' side (0: the networks' side, no crop).
    pub load_size: u32,
    /// Mirror half the images of each batch left to right (false: the reference's `--no_flip`).
    pub flip: bool,
}

impl CycleGanConfig {
    /// λ_A = λ_B = 10, λ_identity = 0.5, Adam 2e-4 with β1 0.5, batch 1, pools of 50, random
    /// flips (and no crop: the datasets at the networks' side).
    pub fn new() -> CycleGanConfig {
        // The same Adam as DCGAN's: lr 2e-4, β1 0.5.
        let adam = Optimizer::dcgan();
        CycleGanConfig {
            batch: 1,
            lambda_a: 10.0,
            lambda_b: 10.0,
            lambda_identity: 0.5,
            g_optimizer: adam,
            d_optimizer: adam,
            seed: 1,
            pool_size: 50,
            load_size: 0,
            flip: true,
        }
    }
}

impl Default for CycleGanConfig {
    fn default() -> Self {
        CycleGanConfig::new()
    }
}

/// The four networks, as graphs: generators map an image to one of the same shape,
/// discriminators an image to a map of patch logits.
pub struct CycleGanNets {
    pub g_a: Graph,
    pub g_b: Graph,
    pub d_a: Graph,
    pub d_b: Graph,
}

/// The stats, as the reference's `loss_names`.
pub mod stat {
    pub const D_A: &str = "D_A";
    pub const G_A: &str = "G_A";
    pub const CYCLE_A: &str = "cycle_A";
    pub const IDT_A: &str = "idt_A";
    pub const D_B: &str = "D_B";
    pub const G_B: &str = "G_B";
    pub const CYCLE_B: &str = "cycle_B";
    pub const IDT_B: &str = "idt_B";
    pub const ALL: [&str; 8] = [D_A, G_A, CYCLE_A, IDT_A, D_B, G_B, CYCLE_B, IDT_B];
}

pub mod counter {
    pub const RNG: &str = "rng";
    pub const G_ADAM: &str = "optimizer_G adam";
    pub const D_ADAM: &str = "optimizer_D adam";
    pub const ALL: [&str; 3] = [RNG, G_ADAM, D_ADAM];
}

pub const G_UPDATE: &str = "G";
pub const D_UPDATE: &str = "D";

/// The discriminators' passes in G's step (frozen, judging the fakes as made).
struct Passes {
    /// D_A on fake_B, D_B on fake_A.
    da_gen: Pass,
    db_gen: Pass,
}

pub struct CycleGan {
    pub g_a: Net,
    pub g_b: Net,
    pub d_a: Net,
    pub d_b: Net,
    pub config: CycleGanConfig,
    /// The batch of each domain, gathered from its dataset each step: real_A, real_B.
    pub real: [wgpu::Buffer; 2],
    stats: Slots,
    counters: Slots,
    passes: Passes,
    /// The generators' passes in forward order: fake_B = G_A(real_A) and idt_A = G_A(real_B);
    /// fake_A = G_B(real_B), idt_B = G_B(real_A) and rec_A = G_B(fake_B); rec_B =
    /// G_A(fake_A); stacked where the networks allow (see `cyclegan_stacks`).
    generators: Vec<Stack>,
    /// D's step: D_A on real_B and the pool's fake_B, D_B on real_A and the pool's fake_A,
    /// stacked where the networks allow.
    discriminators: Vec<Stack>,
    draw: Vec<Dispatch>,
    g_losses: Vec<Dispatch>,
    d_losses: Vec<Dispatch>,
    g_optimizer: NetOptimizer,
    d_optimizer: NetOptimizer,
    /// The reference's fake_A_pool and fake_B_pool: D_B and D_A judge a mix of this step's
    /// fakes and earlier ones.
    pools: [ImagePool; 2],
    /// The learning-rate policy; None keeps the rates.
    decay: Option<LinearDecay>,
    /// Kept alive for the bind groups that use them.
    _buffers: Vec<wgpu::Buffer>,
}

/// Refuses networks that do not fit together, and weights or optimizers the reference would
/// refuse.
pub(crate) fn check_config(config: &CycleGanConfig, nets: &CycleGanNets) -> Result<()> {
    let (a, b) = (nets.g_a.input(), nets.g_b.input());
    let same = |what: &str, got: crate::graph::Shape3, want: crate::graph::Shape3| {
        if got == want {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "CycleGAN's {what} is {got:?} where {want:?} is needed"
            )))
        }
    };
    same("G_A's output", nets.g_a.output(), b)?;
    same("G_B's output", nets.g_b.output(), a)?;
    same("D_A's input", nets.d_a.input(), b)?;
    same("D_B's input", nets.d_b.input(), a)?;
    // G_A(b) must be comparable with b: the reference asserts input_nc == output_nc.
    if config.lambda_identity > 0.0 && a != b {
        return Err(Error::Invalid(format!(
            "CycleGAN's identity loss compares G_A(b) with b, so A ({a:?}) and B ({b:?}) must have one shape; set lambda_identity to 0 to train without it"
        )));
    }
    let weights = [
        ("λ_A", config.lambda_a),
        ("λ_B", config.lambda_b),
        ("λ_identity", config.lambda_identity),
    ];
    if let Some((name, w)) = weights.iter().find(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::Invalid(format!(
            "CycleGAN's {name} must be a finite number ≥ 0, not {w}"
        )));
    }
    if config.batch == 0 {
        return Err(Error::Invalid("CycleGAN's batch must be at least 1".into()));
    }
    config.g_optimizer.check("G")?;
    config.d_optimizer.check("D")
}

/// The jitter of one domain's batch: from the datasets' side to the networks'.
pub fn jitter_shape(config: &CycleGanConfig, input: Shape3) -> JitterShape {
    JitterShape {
        batch: config.batch,
        channels: input.c,
        load: if config.load_size == 0 {
            input.h
        } else {
            config.load_size
        },
        crop: input.h,
        flip: config.flip,
    }
}

fn check_data(config: &CycleGanConfig, nets: &CycleGanNets, data: [&GpuDataset; 2]) -> Result<()> {
    let (a, b) = (nets.g_a.input(), nets.g_b.input());
    for (what, d, shape) in [("A", data[0], a), ("B", data[1], b)] {
        let j = jitter_shape(config, shape);
        let want = (j.channels * j.load * j.load) as usize;
        if d.row_len as usize != want {
            return Err(Error::Invalid(format!(
                "the {what} images have {} values, and {}×{}×{} are needed (the load size, cropped to the networks' {}×{})",
                d.row_len, j.channels, j.load, j.load, j.crop, j.crop
            )));
        }
    }
    Ok(())
}

impl CycleGan {
    /// The four networks initialised from the config's seed (each its own), their passes and
    /// losses, training on images of domain A from `data[0]` and of B from `data[1]`.
    pub fn new(
        gpu: &Gpu,
        config: &CycleGanConfig,
        nets: CycleGanNets,
        data: [&GpuDataset; 2],
    ) -> Result<CycleGan> {
        check_config(config, &nets)?;
        check_data(config, &nets, data)?;
        let seed = config.seed;
        let g_a = Net::new(gpu, nets.g_a, seed);
        let g_b = Net::new(gpu, nets.g_b, seed ^ 0xb);
        let d_a = Net::new(gpu, nets.d_a, seed ^ 0xd15c);
        let d_b = Net::new(gpu, nets.d_b, seed ^ 0xd15b);
        let b = config.batch;
        let bz = b as usize;
        let counters = Slots::new(gpu, "counters", &counter::ALL);
        let stats = Slots::new(gpu, "stats", &stat::ALL);
        let len_a = bz * g_a.graph.input().len();
        let len_b = bz * g_b.graph.input().len();
        let real_a = gpu.storage("real A", len_a);
        let real_b = gpu.storage("real B", len_b);
        let fake_b = gpu.storage("fake B", len_b);
        let fake_a = gpu.storage("fake A", len_a);
        let dfake_b = gpu.storage("d fake B", len_b);
        let dfake_a = gpu.storage("d fake A", len_a);
        // The pools query this step's fakes after the counter's advance at the step's start:
        // the first step's counter is 1.
        let rng = counters.slot(counter::RNG) as u32;
        let pool = |k: u32, len: usize, fake: &wgpu::Buffer, name: &str| {
            let shape = ImagePoolShape {
                batch: b,
                image_len: (len / bz) as u32,
                pool_size: config.pool_size,
            };
            let draw = PoolDraw {
                seed,
                stream: streams::image_pool(k),
                counter: &counters.buffer,
                counter_index: rng,
                first_step: 1,
            };
            ImagePool::new(gpu, shape, draw, fake, &gpu.storage(name, len))
        };
        let pools = [
            pool(0, len_a, &fake_a, "pooled fake A")?,
            pool(1, len_b, &fake_b, "pooled fake B")?,
        ];
        let (pooled_a, pooled_b) = (pools[0].output().clone(), pools[1].output().clone());

        let options = |param_grads, input_grad| PassOptions {
            batch: b,
            train: true,
            update_running: true,
            param_grads,
            input_grad,
            backward: true,
        };
        let pass =
            |net: &Net, o: PassOptions, buffers: PassBuffers| Pass::new(gpu, net, o, buffers);
        use ParamGrads::Skip;
        let identity = config.lambda_identity > 0.0;
        // Each generator use's output and its gradient: the fakes' are read by the
        // discriminators, the pools and the other generator; the others only by their L1.
        let own = |name: &str, len: usize| gpu.storage(name, len);
        // Without the identity loss its buffers go unused: a float each.
        let idt = |len| if identity { len } else { 1 };
        let (idt_a, didt_a) = (own("idt A", idt(len_b)), own("d idt A", idt(len_b)));
        let (idt_b, didt_b) = (own("idt B", idt(len_a)), own("d idt B", idt(len_a)));
        let (rec_a, drec_a) = (own("rec A", len_a), own("d rec A", len_a));
        let (rec_b, drec_b) = (own("rec B", len_b), own("d rec B", len_b));
        let use_of =
            |net, input: &wgpu::Buffer, output: &wgpu::Buffer, doutput: &wgpu::Buffer| Use {
                net,
                input: input.clone(),
                output: output.clone(),
                doutput: doutput.clone(),
                dinput: None,
            };
        // In forward order, so that consecutive uses of one generator can share a pass.
        let mut uses = vec![use_of(0, &real_a, &fake_b, &dfake_b)];
        if identity {
            uses.push(use_of(0, &real_b, &idt_a, &didt_a));
        }
        uses.push(use_of(1, &real_b, &fake_a, &dfake_a));
        if identity {
            uses.push(use_of(1, &real_a, &idt_b, &didt_b));
        }
        uses.push(Use {
            dinput: Some(dfake_b.clone()),
            ..use_of(1, &fake_b, &rec_a, &drec_a)
        });
        uses.push(Use {
            dinput: Some(dfake_a.clone()),
            ..use_of(0, &fake_a, &rec_b, &drec_b)
        });
        let generators = cyclegan_stacks::build(gpu, &[&g_a, &g_b], &uses, b)?;
        let passes = Passes {
            // The discriminators frozen: their gradient reaches the fakes, not their weights.
            da_gen: pass(
                &d_a,
                PassOptions {
                    update_running: false,
                    ..options(Skip, true)
                },
                PassBuffers {
                    input: Some(fake_b.clone()),
                    dinput: Some(dfake_b.clone()),
                    ..Default::default()
                },
            )?,
            db_gen: pass(
                &d_b,
                PassOptions {
                    update_running: false,
                    ..options(Skip, true)
                },
                PassBuffers {
                    input: Some(fake_a.clone()),
                    dinput: Some(dfake_a.clone()),
                    ..Default::default()
                },
            )?,
        };
        let patches_a = bz * d_a.graph.output().len();
        let patches_b = bz * d_b.graph.output().len();
        let logits = |len| (gpu.storage("logits", len), gpu.storage("d logits", len));
        let [(real_logits_a, dreal_logits_a), (fake_logits_a, dfake_logits_a)] =
            [logits(patches_a), logits(patches_a)];
        let [(real_logits_b, dreal_logits_b), (fake_logits_b, dfake_logits_b)] =
            [logits(patches_b), logits(patches_b)];
        let d_uses = [
            use_of(0, &real_b, &real_logits_a, &dreal_logits_a),
            use_of(0, &pooled_b, &fake_logits_a, &dfake_logits_a),
            use_of(1, &real_a, &real_logits_b, &dreal_logits_b),
            use_of(1, &pooled_a, &fake_logits_b, &dfake_logits_b),
        ];
        let discriminators = cyclegan_stacks::build(gpu, &[&d_a, &d_b], &d_uses, b)?;

        // Each domain's batch drawn and gathered on the GPU.
        let mut draw = vec![random::advance(gpu, &counters.buffer, rng)?];
        let mut buffers = vec![];
        for (k, data, stream, real) in [
            (0, data[0], BATCH_INDICES, &real_a),
            (1, data[1], SECOND_BATCH_INDICES, &real_b),
        ] {
            // Gathered at the load size, then cropped and flipped into the batch, each domain
            // with its own draws (the reference transforms A and B independently).
            let shape = jitter_shape(
                config,
                if k == 0 {
                    g_a.graph.input()
                } else {
                    g_b.graph.input()
                },
            );
            let identity = shape.load == shape.crop && !shape.flip;
            let loaded = if identity {
                real.clone()
            } else {
                gpu.storage("loaded batch", shape.input_len())
            };
            let indices = gpu.storage("batch indices", bz);
            draw.push(random::fill(
                gpu,
                Distribution::Indices(data.count),
                seed,
                stream,
                &counters.buffer,
                rng,
                &indices,
                bz,
            )?);
            draw.push(tensor::gather_u8(
                gpu,
                &data.pixels,
                data.count as usize,
                data.row_len as usize,
                &indices,
                bz,
                &loaded,
            )?);
            if !identity {
                let draw_crops = JitterDraw {
                    seed,
                    stream: streams::jitter(k),
                    counter: &counters.buffer,
                    counter_index: rng,
                };
                let jitter = Jitter::new(gpu, shape, draw_crops, &loaded, real)?;
                draw.push(jitter.dispatch().clone());
                buffers.push(loaded);
            }
            buffers.push(indices);
        }

        // LSGAN against 1 (real) or 0 (fake) over each patch logit.
        let s = &stats;
        let p = &passes;
        let targets = |n: usize, value: f32| gpu.storage_from("targets", &vec![value; n]);
        let (ones_a, zeros_a) = (targets(patches_a, 1.0), targets(patches_a, 0.0));
        let (ones_b, zeros_b) = (targets(patches_b, 1.0), targets(patches_b, 0.0));
        let lsgan = |(x, dx): (&wgpu::Buffer, &wgpu::Buffer),
                     target: &wgpu::Buffer,
                     n,
                     slot: &str,
                     scale,
                     accumulate_loss| {
            loss(
                gpu,
                Loss::LeastSquares,
                x,
                Some(target),
                n,
                dx,
                &s.buffer,
                s.slot(slot),
                LossOptions {
                    scale,
                    accumulate_loss,
                    accumulate_grad: false,
                },
            )
        };
        let l1 = |(x, dx): (&wgpu::Buffer, &wgpu::Buffer), target, len, slot: &str, weight| {
            pixel_loss(
                gpu,
                PixelLoss::L1,
                x,
                target,
                len,
                dx,
                None,
                &s.buffer,
                s.slot(slot),
                PixelLossOptions {
                    weight,
                    ..Default::default()
                },
            )
        };
        let c = config;
        let mut g_losses = vec![
            lsgan(
                (&p.da_gen.output, &p.da_gen.doutput),
                &ones_a,
                patches_a,
                stat::G_A,
                1.0,
                false,
            )?,
            lsgan(
                (&p.db_gen.output, &p.db_gen.doutput),
                &ones_b,
                patches_b,
                stat::G_B,
                1.0,
                false,
            )?,
            l1((&rec_a, &drec_a), &real_a, len_a, stat::CYCLE_A, c.lambda_a)?,
            l1((&rec_b, &drec_b), &real_b, len_b, stat::CYCLE_B, c.lambda_b)?,
        ];
        if identity {
            let weight = c.lambda_identity;
            g_losses.push(l1(
                (&idt_a, &didt_a),
                &real_b,
                len_b,
                stat::IDT_A,
                c.lambda_b * weight,
            )?);
            g_losses.push(l1(
                (&idt_b, &didt_b),
                &real_a,
                len_a,
                stat::IDT_B,
                c.lambda_a * weight,
            )?);
        }
        // loss_D = 0.5·(real + fake); the stat holds the sum, halved when read.
        let (a, b_) = (patches_a, patches_b);
        let d_losses = vec![
            lsgan(
                (&real_logits_a, &dreal_logits_a),
                &ones_a,
                a,
                stat::D_A,
                0.5,
                false,
            )?,
            lsgan(
                (&fake_logits_a, &dfake_logits_a),
                &zeros_a,
                a,
                stat::D_A,
                0.5,
                true,
            )?,
            lsgan(
                (&real_logits_b, &dreal_logits_b),
                &ones_b,
                b_,
                stat::D_B,
                0.5,
                false,
            )?,
            lsgan(
                (&fake_logits_b, &dfake_logits_b),
                &zeros_b,
                b_,
                stat::D_B,
                0.5,
                true,
            )?,
        ];
        let g_optimizer = NetOptimizer::new(
            gpu,
            &[&g_a, &g_b],
            c.g_optimizer,
            &counters,
            counter::G_ADAM,
            None,
        )?;
        let d_optimizer = NetOptimizer::new(
            gpu,
            &[&d_a, &d_b],
            c.d_optimizer,
            &counters,
            counter::D_ADAM,
            None,
        )?;
        buffers.extend([
            fake_a,
            fake_b,
            dfake_a,
            dfake_b,
            ones_a,
            zeros_a,
            ones_b,
            zeros_b,
            idt_a,
            didt_a,
            idt_b,
            didt_b,
            rec_a,
            drec_a,
            rec_b,
            drec_b,
            real_logits_a,
            dreal_logits_a,
            fake_logits_a,
            dfake_logits_a,
            real_logits_b,
            dreal_logits_b,
            fake_logits_b,
            dfake_logits_b,
        ]);
        Ok(CycleGan {
            g_a,
            g_b,
            d_a,
            d_b,
            config: *config,
            real: [real_a, real_b],
            stats,
            counters,
            passes,
            generators,
            discriminators,
            draw,
            g_losses,
            d_losses,
            g_optimizer,
            d_optimizer,
            pools,
            decay: None,
            _buffers: buffers,
        })
    }

    /// The batch of each pass over the generators in G's step and over the discriminators in
    /// D's step, in forward order: (2b, 3b, b) and (2b, 2b) where the networks stack their uses,
    /// b six and four times where they do not.
    pub fn pass_batches(&self) -> (Vec<u32>, Vec<u32>) {
        let batches = |s: &[Stack]| s.iter().map(|s| s.batch).collect();
        (batches(&self.generators), batches(&self.discriminators))
    }

    /// Trains with the reference's linear learning-rate decay.
    pub fn with_decay(mut self, decay: LinearDecay) -> CycleGan {
        self.decay = Some(decay);
        self
    }

    /// The fraction of the configured learning rates step `step` trains at.
    pub fn lr_factor(&self, step: u64) -> f32 {
        self.decay.map_or(1.0, |d| d.factor(step))
    }

    /// Steps from `step` until the learning rates change.
    pub fn steps_to_lr_change(&self, step: u64) -> u64 {
        self.decay.map_or(u64::MAX, |d| d.steps_to_change(step))
    }

    /// Both optimizers at `factor` of their configured rates, from the next submission on.
    pub fn set_lr_factor(&mut self, gpu: &Gpu, factor: f32) -> Result<()> {
        let c = &self.config;
        let (g, d) = (c.g_optimizer.lr() * factor, c.d_optimizer.lr() * factor);
        self.g_optimizer.set_lr(gpu, g)?;
        self.d_optimizer.set_lr(gpu, d)
    }

    /// The losses by the reference's names, from a read of the stats buffer.
    pub fn losses(&self, values: &[f32]) -> Vec<(&'static str, f32)> {
        stat::ALL
            .iter()
            .map(|&name| {
                let v = values[self.stats.slot(name)];
                let halved = matches!(name, stat::D_A | stat::D_B);
                (name, if halved { 0.5 * v } else { v })
            })
            .collect()
    }
}

impl Recipe for CycleGan {
    fn family(&self) -> &'static str {
        "cyclegan"
    }

    fn nets(&self) -> Vec<Trained<'_>> {
        let c = &self.config;
        vec![
            Trained {
                name: "netG_A",
                net: &self.g_a,
                optimizer: Some(&c.g_optimizer),
            },
            Trained {
                name: "netG_B",
                net: &self.g_b,
                optimizer: Some(&c.g_optimizer),
            },
            Trained {
                name: "netD_A",
                net: &self.d_a,
                optimizer: Some(&c.d_optimizer),
            },
            Trained {
                name: "netD_B",
                net: &self.d_b,
                optimizer: Some(&c.d_optimizer),
            },
        ]
    }

    fn updates(&self) -> Vec<Update<'_>> {
        let p = &self.passes;
        fn forward<'a>(passes: &[&'a Pass]) -> Vec<&'a Dispatch> {
            passes.iter().flat_map(|q| q.dispatches(true)).collect()
        }
        fn backward<'a>(passes: &[&'a Pass]) -> Vec<&'a Dispatch> {
            passes.iter().flat_map(|q| q.dispatches(false)).collect()
        }
        let g = vec![
            Phase::new("G step: draw", &self.draw),
            Phase::new(
                "G step: G forward",
                self.generators.iter().flat_map(Stack::forward),
            ),
            Phase::new("G step: D forward", forward(&[&p.da_gen, &p.db_gen])),
            Phase::new("G step: loss", &self.g_losses),
            // The discriminators' gradients write the fakes' gradients; the cycle passes
            // (last forward, so first backward) then add theirs, before the passes that made
            // the fakes read them.
            Phase::new("G step: D backward", backward(&[&p.da_gen, &p.db_gen])),
            Phase::new(
                "G step: G backward",
                self.generators.iter().rev().flat_map(Stack::backward),
            ),
            Phase::new("G step: optimizer", self.g_optimizer.dispatches()),
        ];
        let d = vec![
            Phase::new(
                "D step: image pools",
                self.pools.iter().filter_map(ImagePool::query),
            ),
            Phase::new(
                "D step: D forward",
                self.discriminators.iter().flat_map(Stack::forward),
            ),
            Phase::new("D step: loss", &self.d_losses),
            Phase::new(
                "D step: D backward",
                self.discriminators.iter().rev().flat_map(Stack::backward),
            ),
            Phase::new("D step: optimizer", self.d_optimizer.dispatches()),
        ];
        vec![
            Update {
                name: G_UPDATE,
                times: 1,
                phases: g,
            },
            Update {
                name: D_UPDATE,
                times: 1,
                phases: d,
            },
        ]
    }

    fn stats(&self) -> &Slots {
        &self.stats
    }

    fn counters(&self) -> &Slots {
        &self.counters
    }

    fn state(&self) -> Vec<State<'_>> {
        let names = ["fake_A_pool", "fake_B_pool"];
        names
            .into_iter()
            .zip(&self.pools)
            .filter_map(|(name, p)| {
                p.pool().map(|buffer| State {
                    name,
                    buffer,
                    len: p.shape.pool_len(),
                })
            })
            .collect()
    }
}

//! pix2pix (Isola et al. 2017) as its reference implementation (junyanz/pytorch-CycleGAN-and-
//! pix2pix, `models/pix2pix_model.py`) trains it: a U-Net generator netG maps A to B, a
//! PatchGAN netD judges the pair (A, B) stacked along channels. Each step G makes fake_B from
//! real_A once; D's update on 0.5·(GAN(D(A, fake_B), 0) + GAN(D(A, B), 1)); then, through the
//! updated D, G's on GAN(D(A, fake_B), 1) + λ·|fake_B − B|.
//!
//! D's input is the two images stacked: copies of A and B (or fake_B) into one buffer, and on
//! the way back the B channels of D's input gradient are fake_B's, to which λ·L1 adds.

use serde_json::{json, Value};

use crate::gpu::Gpu;
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions, PassRng};
use crate::graph::Graph;
use crate::kernels::jitter::{load_size, Jitter, JitterDraw, JitterShape};
use crate::kernels::join::copy_channels;
use crate::kernels::loss::{loss, Loss, LossOptions};
use crate::kernels::pixel_loss::{pixel_loss, PixelLoss, PixelLossOptions};
use crate::kernels::random::{self, Distribution};
use crate::kernels::{tensor, Dispatch};
use crate::model::{NLayerDiscriminator, Norm, UnetGenerator};
use crate::streams::{self, BATCH_INDICES};
use crate::train::config_json::{optimizer_from, optimizer_json, Fields};
use crate::train::fits::largest;
use crate::train::recipe::{NetOptimizer, Phase, Recipe, Slots, Trained, Update};
use crate::train::recipes::cyclegan_run::LinearDecay;
use crate::train::{Family, GpuDataset, Optimizer, MAX_BINDING_BYTES};
use crate::{Error, Result};

/// The reference's `--gan_mode`: pix2pix trains with `vanilla` (BCE on logits); `lsgan` is
/// CycleGAN's least squares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GanMode {
    Vanilla,
    Lsgan,
}

impl GanMode {
    pub fn name(self) -> &'static str {
        match self {
            GanMode::Vanilla => "vanilla",
            GanMode::Lsgan => "lsgan",
        }
    }

    pub fn parse(name: &str) -> Result<GanMode> {
        match name {
            "vanilla" => Ok(GanMode::Vanilla),
            "lsgan" => Ok(GanMode::Lsgan),
            other => Err(Error::Invalid(format!(
                "unknown GAN loss '{other}' for pix2pix: choose vanilla or lsgan"
            ))),
        }
    }

    fn loss(self) -> Loss {
        match self {
            GanMode::Vanilla => Loss::Bce,
            GanMode::Lsgan => Loss::LeastSquares,
        }
    }
}

/// Everything that rebuilds the same pix2pix run, under the reference's option names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pix2PixRun {
    /// The networks' side (`--crop_size`); the datasets hold pairs at `load_size`.
    pub size: u32,
    /// Channels of A (the input) and B (the target).
    pub input_nc: u32,
    pub output_nc: u32,
    pub ngf: u32,
    pub ndf: u32,
    /// U-Net levels: log2(size), so that the innermost is 1×1 (unet_256: 8).
    pub num_downs: u32,
    pub n_layers_d: u32,
    pub norm: Norm,
    /// Dropout(0.5) in the U-Net's inner decoder blocks: the noise pix2pix's G trains with.
    pub use_dropout: bool,
    pub gan_mode: GanMode,
    pub lambda_l1: f32,
    pub batch: u32,
    pub g_optimizer: Optimizer,
    pub d_optimizer: Optimizer,
    pub seed: u64,
    /// `--load_size` (0: the networks' side, no crop) and random flips; one crop and flip for
    /// both images of a pair.
    pub load_size: u32,
    pub flip: bool,
    pub decay: LinearDecay,
}

/// The stats, as the reference's `loss_names`.
pub mod stat {
    pub const G_GAN: &str = "G_GAN";
    pub const G_L1: &str = "G_L1";
    pub const D_REAL: &str = "D_real";
    pub const D_FAKE: &str = "D_fake";
    pub const ALL: [&str; 4] = [G_GAN, G_L1, D_REAL, D_FAKE];
}

pub mod counter {
    pub const RNG: &str = "rng";
    pub const G_ADAM: &str = "optimizer_G adam";
    pub const D_ADAM: &str = "optimizer_D adam";
    pub const ALL: [&str; 3] = [RNG, G_ADAM, D_ADAM];
}

pub const G_UPDATE: &str = "G";
pub const D_UPDATE: &str = "D";

impl Pix2PixRun {
    /// The reference's pix2pix defaults for `size`×`size` pairs: a U-Net deep enough to reach
    /// 1×1, batch norm, dropout, the 70×70 PatchGAN, vanilla GAN loss, λ_L1 = 100, Adam 2e-4 β1
    /// 0.5, batch 1, loaded at 286/256 of the size with a random crop and flip, 100 + 100
    /// epochs of linear decay.
    pub fn new(size: u32, input_nc: u32, output_nc: u32) -> Result<Pix2PixRun> {
        Ok(Pix2PixRun {
            size,
            input_nc,
            output_nc,
            ngf: 64,
            ndf: 64,
            num_downs: UnetGenerator::num_downs_for(size)?,
            n_layers_d: 3,
            norm: Norm::Batch,
            use_dropout: true,
            gan_mode: GanMode::Vanilla,
            lambda_l1: 100.0,
            batch: 1,
            g_optimizer: Optimizer::dcgan(),
            d_optimizer: Optimizer::dcgan(),
            seed: 1,
            load_size: load_size(size).min(crate::model::MAX_SIDE),
            flip: true,
            decay: LinearDecay::new(1),
        })
    }

    /// The side the datasets hold their images at.
    pub fn load_side(&self) -> u32 {
        match self.load_size {
            0 => self.size,
            load => load,
        }
    }

    /// netG (A → B) and netD (the pair stacked: input_nc + output_nc channels).
    pub fn nets(&self) -> Result<(Graph, Graph)> {
        let g = UnetGenerator {
            input_nc: self.input_nc,
            output_nc: self.output_nc,
            num_downs: self.num_downs,
            ngf: self.ngf,
            norm: self.norm,
            use_dropout: self.use_dropout,
        };
        let d = NLayerDiscriminator {
            input_nc: self.input_nc + self.output_nc,
            ndf: self.ndf,
            n_layers: self.n_layers_d,
            norm: self.norm,
        };
        Ok((
            g.build(self.size, self.size)?,
            d.build(self.size, self.size)?,
        ))
    }

    fn jitter(&self, channels: u32) -> JitterShape {
        JitterShape {
            batch: self.batch,
            channels,
            load: self.load_side(),
            crop: self.size,
            flip: self.flip,
        }
    }

    /// Refuses a run before anything is allocated.
    pub fn check(&self) -> Result<()> {
        if !(1..=64).contains(&self.batch) {
            return Err(Error::Invalid(format!(
                "pix2pix's batch must be from 1 to 64, not {}",
                self.batch
            )));
        }
        for (what, c) in [("input_nc", self.input_nc), ("output_nc", self.output_nc)] {
            if c != 1 && c != 3 {
                return Err(Error::Invalid(format!(
                    "pix2pix's images have 1 channel (gray) or 3 (RGB): {what} is {c}"
                )));
            }
        }
        if !(self.lambda_l1.is_finite() && self.lambda_l1 >= 0.0) {
            return Err(Error::Invalid(format!(
                "λ_L1 must be a finite number ≥ 0, not {}",
                self.lambda_l1
            )));
        }
        let d = &self.decay;
        if d.epoch_steps == 0 || d.n_epochs > 100_000 || d.n_epochs_decay > 100_000 {
            return Err(Error::Invalid(format!(
                "pix2pix's schedule needs at least one step an epoch and at most 100,000 epochs each way: {d:?}"
            )));
        }
        let load = self.load_side();
        if !(self.size..=crate::model::MAX_SIDE).contains(&load) {
            return Err(Error::Invalid(format!(
                "pix2pix's load size must lie between the image size {} and {}, not {load}",
                self.size,
                crate::model::MAX_SIDE
            )));
        }
        self.g_optimizer.check("G")?;
        self.d_optimizer.check("D")?;
        let (g, d) = self.nets()?;
        for (net, who) in [(&g, "G"), (&d, "D")] {
            let (bytes, what) = largest(net, self.batch as u64);
            if bytes > MAX_BINDING_BYTES as u64 {
                return Err(Error::Invalid(format!(
                    "pix2pix at {0}×{0}, width {1} and batch {2} is too large for a GPU: {who}'s {what} would take {3} MiB, and one GPU buffer holds {4} MiB; choose a smaller size, width or batch",
                    self.size,
                    self.ngf.max(self.ndf),
                    self.batch,
                    bytes >> 20,
                    MAX_BINDING_BYTES >> 20
                )));
            }
        }
        for c in [self.input_nc, self.output_nc] {
            self.jitter(c).check(MAX_BINDING_BYTES as u64)?;
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        json!({
            "size": self.size, "input_nc": self.input_nc, "output_nc": self.output_nc,
            "ngf": self.ngf, "ndf": self.ndf, "num_downs": self.num_downs,
            "n_layers_D": self.n_layers_d, "norm": self.norm.name(),
            "use_dropout": self.use_dropout, "gan_mode": self.gan_mode.name(),
            "lambda_L1": self.lambda_l1, "batch_size": self.batch,
            "g_optimizer": optimizer_json(&self.g_optimizer),
            "d_optimizer": optimizer_json(&self.d_optimizer),
            "seed": self.seed.to_string(),
            "load_size": self.load_size, "no_flip": !self.flip,
            "epoch_steps": self.decay.epoch_steps, "n_epochs": self.decay.n_epochs,
            "n_epochs_decay": self.decay.n_epochs_decay,
        })
        .to_string()
    }

    pub fn from_json(text: &str) -> Result<Pix2PixRun> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::Checkpoint(format!("the configuration is not valid JSON: {e}")))?;
        let f = Fields(&v);
        let flag = |key: &str| {
            f.get(key)?
                .as_bool()
                .ok_or_else(|| Error::Checkpoint(format!("`{key}` is not true or false")))
        };
        let run = Pix2PixRun {
            size: f.u32("size")?,
            input_nc: f.u32("input_nc")?,
            output_nc: f.u32("output_nc")?,
            ngf: f.u32("ngf")?,
            ndf: f.u32("ndf")?,
            num_downs: f.u32("num_downs")?,
            n_layers_d: f.u32("n_layers_D")?,
            norm: Norm::parse(f.str("norm")?)?,
            use_dropout: flag("use_dropout")?,
            gan_mode: GanMode::parse(f.str("gan_mode")?)?,
            lambda_l1: f.f32("lambda_L1")?,
            batch: f.u32("batch_size")?,
            g_optimizer: optimizer_from(f.get("g_optimizer")?)?,
            d_optimizer: optimizer_from(f.get("d_optimizer")?)?,
            seed: f
                .str("seed")?
                .parse()
                .map_err(|_| Error::Checkpoint("`seed` is not a whole number".into()))?,
            load_size: f.u32("load_size")?,
            flip: !flag("no_flip")?,
            decay: LinearDecay {
                epoch_steps: f.get("epoch_steps")?.as_u64().ok_or_else(|| {
                    Error::Checkpoint("`epoch_steps` is not a whole number".into())
                })?,
                n_epochs: f.u32("n_epochs")?,
                n_epochs_decay: f.u32("n_epochs_decay")?,
            },
        };
        run.check()?;
        Ok(run)
    }
}

pub struct Pix2Pix {
    pub g: Net,
    pub d: Net,
    pub run: Pix2PixRun,
    /// This step's pair: real_A and real_B, [batch, c, size, size].
    pub real: [wgpu::Buffer; 2],
    stats: Slots,
    counters: Slots,
    g_pass: Pass,
    d_fake: Pass,
    d_real: Pass,
    d_gen: Pass,
    draw: Vec<Dispatch>,
    /// real_A and real_B into D's real input, real_A into its fake input.
    stack_real: Vec<Dispatch>,
    /// fake_B into D's fake input.
    stack_fake: Dispatch,
    d_fake_loss: Dispatch,
    d_real_loss: Dispatch,
    g_gan_loss: Dispatch,
    /// fake_B's gradient: the B channels of D's input gradient, then λ·L1's added.
    g_image_grad: Vec<Dispatch>,
    g_optimizer: NetOptimizer,
    d_optimizer: NetOptimizer,
    /// Kept alive for the bind groups that use them.
    _buffers: Vec<wgpu::Buffer>,
}

impl Pix2Pix {
    /// netG and netD from the run's seed, training on pairs: row i of `data[0]` (A, at the
    /// load size) with row i of `data[1]` (B).
    pub fn new(gpu: &Gpu, run: &Pix2PixRun, data: [&GpuDataset; 2]) -> Result<Pix2Pix> {
        run.check()?;
        let (g_arch, d_arch) = run.nets()?;
        let (ca, cb) = (run.input_nc, run.output_nc);
        let load = run.load_side();
        for (what, d, c) in [("A", data[0], ca), ("B", data[1], cb)] {
            if d.row_len != c * load * load {
                return Err(Error::Invalid(format!(
                    "the {what} images have {} values, and pix2pix loads {c}×{load}×{load}",
                    d.row_len
                )));
            }
        }
        if data[0].count != data[1].count {
            return Err(Error::Invalid(format!(
                "pairs need as many A images as B images, not {} and {}",
                data[0].count, data[1].count
            )));
        }
        let seed = run.seed;
        let g = Net::new(gpu, g_arch, seed);
        let d = Net::new(gpu, d_arch, seed ^ 0xd15c);
        let (b, bz) = (run.batch, run.batch as usize);
        let pixels = run.size * run.size;
        let counters = Slots::new(gpu, "counters", &counter::ALL);
        let stats = Slots::new(gpu, "stats", &stat::ALL);
        let rng = counters.slot(counter::RNG) as u32;
        let len = |c: u32| bz * (c * pixels) as usize;
        let real_a = gpu.storage("real A", len(ca));
        let real_b = gpu.storage("real B", len(cb));
        let fake_b = gpu.storage("fake B", len(cb));
        let dfake_b = gpu.storage("d fake B", len(cb));
        let ab_real = gpu.storage("real AB", len(ca + cb));
        let ab_fake = gpu.storage("fake AB", len(ca + cb));
        let dab_fake = gpu.storage("d fake AB", len(ca + cb));

        let train = |param_grads, input_grad| PassOptions {
            batch: b,
            train: true,
            update_running: true,
            param_grads,
            input_grad,
            backward: true,
        };
        let g_pass = Pass::new(
            gpu,
            &g,
            train(ParamGrads::Overwrite, false),
            PassBuffers {
                input: Some(real_a.clone()),
                output: Some(fake_b.clone()),
                doutput: Some(dfake_b.clone()),
                rng: Some(PassRng {
                    seed,
                    counters: counters.buffer.clone(),
                    index: rng,
                }),
                ..Default::default()
            },
        )?;
        let with_input = |input: &wgpu::Buffer| PassBuffers {
            input: Some(input.clone()),
            ..Default::default()
        };
        // The reference's order: D on the fake pair, then on the real one, their gradients
        // summed; then G's loss through the updated D (in train mode, as PyTorch's netD is).
        let d_fake = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Overwrite, false),
            with_input(&ab_fake),
        )?;
        let d_real = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Accumulate, false),
            with_input(&ab_real),
        )?;
        let d_gen = Pass::new(
            gpu,
            &d,
            train(ParamGrads::Skip, true),
            PassBuffers {
                input: Some(ab_fake.clone()),
                dinput: Some(dab_fake.clone()),
                ..Default::default()
            },
        )?;

        // The pair drawn together: one index and one crop and flip for both images.
        let mut draw = vec![random::advance(gpu, &counters.buffer, rng)?];
        let indices = gpu.storage("batch indices", bz);
        draw.push(random::fill(
            gpu,
            Distribution::Indices(data[0].count),
            seed,
            BATCH_INDICES,
            &counters.buffer,
            rng,
            &indices,
            bz,
        )?);
        let mut buffers = vec![indices.clone()];
        for (d_set, c, real) in [(data[0], ca, &real_a), (data[1], cb, &real_b)] {
            let shape = run.jitter(c);
            let identity = shape.load == shape.crop && !shape.flip;
            let loaded = if identity {
                real.clone()
            } else {
                gpu.storage("loaded batch", shape.input_len())
            };
            draw.push(tensor::gather_u8(
                gpu,
                &d_set.pixels,
                d_set.count as usize,
                d_set.row_len as usize,
                &indices,
                bz,
                &loaded,
            )?);
            if !identity {
                let crops = JitterDraw {
                    seed,
                    stream: streams::jitter(0),
                    counter: &counters.buffer,
                    counter_index: rng,
                };
                draw.push(
                    Jitter::new(gpu, shape, crops, &loaded, real)?
                        .dispatch()
                        .clone(),
                );
                buffers.push(loaded);
            }
        }
        let stack = |src: &wgpu::Buffer, c, dst: &wgpu::Buffer, at| {
            copy_channels(gpu, b, pixels, c, (src, c, 0), (dst, ca + cb, at), false)
        };
        let stack_real = vec![
            stack(&real_a, ca, &ab_real, 0)?,
            stack(&real_b, cb, &ab_real, ca)?,
            stack(&real_a, ca, &ab_fake, 0)?,
        ];
        let stack_fake = stack(&fake_b, cb, &ab_fake, ca)?;

        let patches = bz * d.graph.output().len();
        let targets = |value: f32| gpu.storage_from("targets", &vec![value; patches]);
        let (ones, zeros) = (targets(1.0), targets(0.0));
        let s = &stats;
        let gan = |pass: &Pass, target: &wgpu::Buffer, slot: &str, scale| {
            loss(
                gpu,
                run.gan_mode.loss(),
                &pass.output,
                Some(target),
                patches,
                &pass.doutput,
                &s.buffer,
                s.slot(slot),
                LossOptions {
                    scale,
                    accumulate_loss: false,
                    accumulate_grad: false,
                },
            )
        };
        // loss_D = 0.5·(fake + real): each half's gradient scaled by 0.5, its stat unscaled.
        let d_fake_loss = gan(&d_fake, &zeros, stat::D_FAKE, 0.5)?;
        let d_real_loss = gan(&d_real, &ones, stat::D_REAL, 0.5)?;
        let g_gan_loss = gan(&d_gen, &ones, stat::G_GAN, 1.0)?;
        let g_image_grad = vec![
            copy_channels(
                gpu,
                b,
                pixels,
                cb,
                (&dab_fake, ca + cb, ca),
                (&dfake_b, cb, 0),
                false,
            )?,
            pixel_loss(
                gpu,
                PixelLoss::L1,
                &fake_b,
                &real_b,
                len(cb),
                &dfake_b,
                None,
                &s.buffer,
                s.slot(stat::G_L1),
                PixelLossOptions {
                    weight: run.lambda_l1,
                    accumulate_grad: true,
                    ..Default::default()
                },
            )?,
        ];
        let g_optimizer = NetOptimizer::new(
            gpu,
            &[&g],
            run.g_optimizer,
            &counters,
            counter::G_ADAM,
            None,
        )?;
        let d_optimizer = NetOptimizer::new(
            gpu,
            &[&d],
            run.d_optimizer,
            &counters,
            counter::D_ADAM,
            None,
        )?;
        buffers.extend([fake_b, dfake_b, ab_real, ab_fake, dab_fake, ones, zeros]);
        Ok(Pix2Pix {
            g,
            d,
            run: *run,
            real: [real_a, real_b],
            stats,
            counters,
            g_pass,
            d_fake,
            d_real,
            d_gen,
            draw,
            stack_real,
            stack_fake,
            d_fake_loss,
            d_real_loss,
            g_gan_loss,
            g_image_grad,
            g_optimizer,
            d_optimizer,
            _buffers: buffers,
        })
    }

    /// The losses by the reference's names, from a read of the stats buffer.
    pub fn losses(&self, values: &[f32]) -> Vec<(&'static str, f32)> {
        stat::ALL
            .iter()
            .map(|&name| (name, values[self.stats.slot(name)]))
            .collect()
    }

    /// Both optimizers at `factor` of their configured rates, from the next submission on.
    pub fn set_lr_factor(&mut self, gpu: &Gpu, factor: f32) -> Result<()> {
        let (g, d) = (self.run.g_optimizer.lr(), self.run.d_optimizer.lr());
        self.g_optimizer.set_lr(gpu, g * factor)?;
        self.d_optimizer.set_lr(gpu, d * factor)
    }
}

impl Recipe for Pix2Pix {
    fn family(&self) -> &'static str {
        "pix2pix"
    }

    fn nets(&self) -> Vec<Trained<'_>> {
        vec![
            Trained {
                name: "netG",
                net: &self.g,
                optimizer: Some(&self.run.g_optimizer),
            },
            Trained {
                name: "netD",
                net: &self.d,
                optimizer: Some(&self.run.d_optimizer),
            },
        ]
    }

    fn updates(&self) -> Vec<Update<'_>> {
        let d = vec![
            Phase::new("D step: draw", self.draw.iter().chain(&self.stack_real)),
            Phase::new("D step: G forward", self.g_pass.dispatches(true)),
            Phase::new("D step: glue", [&self.stack_fake]),
            Phase::new("D step: D forward (fake)", self.d_fake.dispatches(true)),
            Phase::new("D step: loss", [&self.d_fake_loss]),
            Phase::new("D step: D backward (fake)", self.d_fake.dispatches(false)),
            Phase::new("D step: D forward (real)", self.d_real.dispatches(true)),
            Phase::new("D step: loss", [&self.d_real_loss]),
            Phase::new("D step: D backward (real)", self.d_real.dispatches(false)),
            Phase::new("D step: optimizer", self.d_optimizer.dispatches()),
        ];
        let g = vec![
            Phase::new("G step: D forward", self.d_gen.dispatches(true)),
            Phase::new("G step: loss", [&self.g_gan_loss]),
            Phase::new("G step: D backward", self.d_gen.dispatches(false)),
            Phase::new("G step: L1, glue", &self.g_image_grad),
            Phase::new("G step: G backward", self.g_pass.dispatches(false)),
            Phase::new("G step: optimizer", self.g_optimizer.dispatches()),
        ];
        vec![
            Update {
                name: D_UPDATE,
                times: 1,
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

impl Family for Pix2Pix {
    type Config = Pix2PixRun;
    /// A's images, then B's, row for row.
    type Data = [GpuDataset; 2];
    const NAME: &'static str = "pix2pix";

    fn check(run: &Pix2PixRun) -> Result<()> {
        run.check()
    }

    fn build(gpu: &Gpu, run: &Pix2PixRun, data: &[GpuDataset; 2]) -> Result<Pix2Pix> {
        Pix2Pix::new(gpu, run, [&data[0], &data[1]])
    }

    fn config_to_json(run: &Pix2PixRun) -> String {
        run.to_json()
    }

    fn config_from_json(json: &str) -> Result<Pix2PixRun> {
        Pix2PixRun::from_json(json)
    }

    fn check_resume(saved: &Pix2PixRun, run: &Pix2PixRun) -> Result<()> {
        let kind = |o: &Optimizer| std::mem::discriminant(o);
        let same = Pix2PixRun {
            g_optimizer: saved.g_optimizer,
            d_optimizer: saved.d_optimizer,
            lambda_l1: saved.lambda_l1,
            decay: saved.decay,
            ..*run
        } == *saved
            && kind(&saved.g_optimizer) == kind(&run.g_optimizer)
            && kind(&saved.d_optimizer) == kind(&run.d_optimizer);
        if !same {
            return Err(Error::Invalid(
                "a resumed pix2pix keeps its size, networks, batch, loss, optimizers and seed (only learning rates, λ_L1 and the epochs of the schedule may change)".into(),
            ));
        }
        Ok(())
    }

    fn schedule(&mut self, gpu: &Gpu, step: u64) -> Result<()> {
        let factor = self.run.decay.factor(step);
        self.set_lr_factor(gpu, factor)
    }

    fn steps_to_change(&self, step: u64) -> u64 {
        self.run.decay.steps_to_change(step)
    }
}

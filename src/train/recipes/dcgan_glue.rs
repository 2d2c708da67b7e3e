//! DCGAN's glue between the passes of one alternating step: drawing batches and noise on the GPU,
//! the losses with their gradients, and the stats, each built once.

use crate::gpu::Gpu;
use crate::graph::program::Pass;
use crate::kernels::activation::{self, Activation};
use crate::kernels::augment::{Augment, AugmentBuffers, AugmentDraw, AugmentShape, Kind};
use crate::kernels::condition::{self, ConditionShape};
use crate::kernels::info_loss::{info_loss, InfoShape};
use crate::kernels::join::{self, Part};
use crate::kernels::loss::{loss, Loss, LossOptions};
use crate::kernels::random::{self, Distribution};
use crate::kernels::tensor::{self, Reduction};
use crate::kernels::Dispatch;
use crate::train::config::{Prior, TrainConfig};
use crate::train::recipe::Slots;
use crate::train::recipes::dcgan::augmented::{
    FAKE_D as AUGMENT_FAKE_D, FAKE_G as AUGMENT_FAKE_G, REAL as AUGMENT_REAL,
};
use crate::train::recipes::dcgan::{counter, stat};
use crate::train::GpuDataset;
use crate::Result;

/// RNG streams: each kind of draw has its own, so no two ever share numbers.
use crate::streams::{
    augment as augment_stream, BATCH_INDICES as STREAM_INDICES, CONTINUOUS_CODES as STREAM_CODES,
    FAKE_CLASSES as STREAM_LABELS, NOISE as STREAM_Z,
};

/// The passes of a step and G's image buffers (before any conditioning).
pub(crate) struct Passes<'a> {
    pub g: &'a Pass,
    pub d_real: &'a Pass,
    pub d_fake: &'a Pass,
    pub d_gen: &'a Pass,
    pub fake: &'a wgpu::Buffer,
    pub dfake: &'a wgpu::Buffer,
    /// The fakes as D sees them (augmented; `fake` itself without augmentation), before any
    /// class planes, and their gradient.
    pub seen: &'a wgpu::Buffer,
    pub dseen: &'a wgpu::Buffer,
}

pub(crate) struct Glue {
    /// Batch indices and the real batch gathered from the dataset.
    pub draw_real: Vec<Dispatch>,
    /// Fresh noise (and, conditional, fresh classes) into G's input.
    pub draw_z: Vec<Dispatch>,
    /// G's images as D sees them in D's step: augmented (a fresh draw) and, conditional,
    /// with their classes' one-hot planes.
    pub fake_for_d_step: Vec<Dispatch>,
    /// The same in G's step, with a draw of its own.
    pub fake_for_g_step: Vec<Dispatch>,
    /// D's input gradient back to G's images: its image channels (conditional), then back
    /// through the augmentation.
    pub image_gradient: Vec<Dispatch>,
    /// D's loss and gradient on the real batch, D(x), and how many it calls real.
    pub real_loss: Vec<Dispatch>,
    /// The same on the fake batch; the loss adds into D's loss.
    pub fake_loss: Vec<Dispatch>,
    /// G's loss through D, and D(G(z)) after D's update.
    pub generator_loss: Vec<Dispatch>,
    /// The augmentations whose dispatches the lists above hold, kept with their buffers.
    _augments: Vec<Augment>,
    /// Kept alive for the bind groups that use them.
    _buffers: Vec<wgpu::Buffer>,
}

impl Glue {
    pub fn new(
        gpu: &Gpu,
        config: &TrainConfig,
        dataset: &GpuDataset,
        p: &Passes,
        counter_slots: &Slots,
        stat_slots: &Slots,
    ) -> Result<Glue> {
        let (counters, stats) = (&counter_slots.buffer, &stat_slots.buffer);
        let slot = |name| stat_slots.slot(name);
        let (g, d_real, d_fake, d_gen) = (p.g, p.d_real, p.d_fake, p.d_gen);
        let b = config.batch as usize;
        let classes = config.model.classes;
        let image = config.model.image();
        let rng = counter_slots.slot(counter::RNG) as u32;
        let advance = || random::advance(gpu, counters, rng);
        let indices = gpu.storage("batch indices", b);
        let mut buffers = vec![indices.clone()];
        let prior = match config.prior {
            Prior::Normal => Distribution::Normal,
            Prior::Uniform => Distribution::Uniform,
        };
        let z_len = b * config.model.nz as usize;
        let mut draw_real = vec![
            advance()?,
            random::fill(
                gpu,
                Distribution::Indices(dataset.count),
                config.seed,
                STREAM_INDICES,
                counters,
                rng,
                &indices,
                b,
            )?,
        ];
        let mut draw_z = vec![advance()?];
        let (mut condition_fake, mut image_gradient) = (vec![], vec![]);
        // DiffAugment: the real batch is gathered into a buffer of its own and augmented into
        // where D (or the class planes) reads it.
        let kinds = config.augment.kinds();
        let augment_shape = AugmentShape {
            batch: config.batch,
            channels: image.c,
            height: image.h,
            width: image.w,
        };
        let real_plain = (!kinds.is_empty())
            .then(|| gpu.storage("real images before augmenting", augment_shape.tensor_len()));
        // (dispatches, the augmentation they came from, to keep with its buffers)
        let gathered = |target: &wgpu::Buffer| -> Result<(Vec<Dispatch>, Option<Augment>)> {
            let gather = tensor::gather_u8(
                gpu,
                &dataset.pixels,
                dataset.count as usize,
                dataset.row_len as usize,
                &indices,
                b,
                real_plain.as_ref().unwrap_or(target),
            )?;
            let Some(plain) = &real_plain else {
                return Ok((vec![gather], None));
            };
            let scratch = || gpu.storage("augment (no gradient)", augment_shape.tensor_len());
            let real = augmentation(
                gpu,
                config,
                &kinds,
                augment_shape,
                AUGMENT_REAL,
                counters,
                rng,
                plain,
                target,
                (&scratch(), &scratch()),
            )?;
            let mut out = vec![gather];
            out.extend(real.forward().into_iter().cloned());
            Ok((out, Some(real)))
        };
        let mut augments = vec![];
        let codes = config.model.codes;
        // InfoGAN: Q's mutual-information term on the fakes of D's step and of G's step.
        let (mut info_d_step, mut info_g_step) = (vec![], vec![]);
        match (&dataset.labels, classes) {
            (Some(labels), 1..) => {
                let batch = config.batch;
                let images = ConditionShape {
                    batch,
                    channels: image.c,
                    pixels: image.pixels(),
                    classes,
                };
                let latent = ConditionShape {
                    batch,
                    channels: config.model.nz,
                    pixels: 1,
                    classes,
                };
                let (real, real_labels) = (
                    gpu.storage("real images", images.plain_len()),
                    gpu.storage("real labels", b),
                );
                let (z, fake_labels) = (gpu.storage("z", z_len), gpu.storage("fake labels", b));
                let (gather, augment) = gathered(&real)?;
                draw_real.extend(gather);
                augments.extend(augment);
                draw_real.extend([
                    condition::gather_labels(
                        gpu,
                        labels,
                        dataset.count as usize,
                        &indices,
                        batch,
                        &real_labels,
                    )?,
                    condition::append_onehot(gpu, &images, &real, &real_labels, &d_real.input)?,
                ]);
                draw_z.extend([
                    random::fill(gpu, prior, config.seed, STREAM_Z, counters, rng, &z, z_len)?,
                    random::fill(
                        gpu,
                        Distribution::Indices(classes),
                        config.seed,
                        STREAM_LABELS,
                        counters,
                        rng,
                        &fake_labels,
                        b,
                    )?,
                    condition::append_onehot(gpu, &latent, &z, &fake_labels, &g.input)?,
                ]);
                condition_fake.push(condition::append_onehot(
                    gpu,
                    &images,
                    p.seen,
                    &fake_labels,
                    &d_fake.input,
                )?);
                let d_input_grad = d_gen
                    .dinput
                    .as_ref()
                    .expect("the G step's D pass computes its input gradient");
                image_gradient.push(condition::take_channels(
                    gpu,
                    &images,
                    d_input_grad,
                    p.dseen,
                )?);
                buffers.extend([real, real_labels, z, fake_labels]);
            }
            _ => {
                let (gather, augment) = gathered(&d_real.input)?;
                draw_real.extend(gather);
                augments.extend(augment);
                // InfoGAN's z goes into a buffer of its own, its codes appended after it.
                let z = if codes.is_none() {
                    g.input.clone()
                } else {
                    gpu.storage("z", z_len)
                };
                draw_z.push(random::fill(
                    gpu,
                    prior,
                    config.seed,
                    STREAM_Z,
                    counters,
                    rng,
                    &z,
                    z_len,
                )?);
                if !codes.is_none() {
                    let drawn = draw_codes(gpu, config, counter_slots, &z, &g.input)?;
                    draw_z.extend(drawn.draw);
                    let info = |pass: &Pass| {
                        info_loss(
                            gpu,
                            InfoShape {
                                batch: config.batch,
                                categorical: codes.categorical,
                                continuous: codes.continuous,
                            },
                            config.info_reg_coeff,
                            &pass.outputs[1],
                            &drawn.labels,
                            &drawn.continuous,
                            &pass.doutputs[1],
                            stats,
                            (slot(stat::INFO_CATEGORICAL), slot(stat::INFO_CONTINUOUS)),
                        )
                    };
                    info_d_step.push(info(d_fake)?);
                    info_g_step.push(info(d_gen)?);
                    buffers.extend([z, drawn.labels, drawn.continuous]);
                    buffers.extend(drawn.scratch);
                }
            }
        }

        // The fakes: a fresh draw in each step; only G's step takes the gradient back.
        let mut fake_for_d_step = vec![];
        let mut fake_for_g_step = vec![];
        if !kinds.is_empty() {
            let scratch = || gpu.storage("augment (no gradient)", augment_shape.tensor_len());
            let in_d_step = augmentation(
                gpu,
                config,
                &kinds,
                augment_shape,
                AUGMENT_FAKE_D,
                counters,
                rng,
                p.fake,
                p.seen,
                (&scratch(), &scratch()),
            )?;
            let in_g_step = augmentation(
                gpu,
                config,
                &kinds,
                augment_shape,
                AUGMENT_FAKE_G,
                counters,
                rng,
                p.fake,
                p.seen,
                (p.dseen, p.dfake),
            )?;
            fake_for_d_step.extend(in_d_step.forward().into_iter().cloned());
            fake_for_g_step.extend(in_g_step.forward().into_iter().cloned());
            image_gradient.extend(in_g_step.backward().into_iter().cloned());
            augments.extend([in_d_step, in_g_step]);
        }
        fake_for_d_step.extend(condition_fake.iter().cloned());
        fake_for_g_step.extend(condition_fake);
        buffers.extend(real_plain);

        let real_targets = gpu.storage_from("real targets", &vec![1.0 - config.label_smoothing; b]);
        let fake_targets = gpu.storage_from("fake targets", &vec![0.0f32; b]);
        let (real_kind, fake_kind, g_kind) = config.loss.kernels();
        let targets = |kind: Loss, t| kind.takes_targets().then_some(t);
        let scratch = gpu.storage("probabilities", b);
        // Mean D(·) into `slot`: of σ(logit) when D outputs probabilities, else of the score.
        let mean_d = |logits: &wgpu::Buffer, slot: usize| -> Result<Vec<Dispatch>> {
            Ok(if config.loss.is_probabilistic() {
                vec![
                    activation::forward(gpu, Activation::Sigmoid, logits, &scratch, b)?,
                    tensor::reduce(gpu, Reduction::Mean, &scratch, b, stats, slot, false)?,
                ]
            } else {
                vec![tensor::reduce(
                    gpu,
                    Reduction::Mean,
                    logits,
                    b,
                    stats,
                    slot,
                    false,
                )?]
            })
        };
        let mut real_loss = vec![loss(
            gpu,
            real_kind,
            &d_real.output,
            targets(real_kind, &real_targets),
            b,
            &d_real.doutput,
            stats,
            slot(stat::D_LOSS),
            LossOptions::default(),
        )?];
        if !codes.is_none() {
            // No loss reads Q on the real batch, but the pass's backward runs through it: its
            // gradient must be zero. Nothing else writes that buffer today; clearing it each
            // step (a few floats) keeps it so whatever a pass's buffer plan comes to share.
            let q_len = b * d_real.outputs[1].size() as usize / 4 / b;
            real_loss.push(tensor::fill(gpu, &d_real.doutputs[1], q_len, 0.0)?);
        }
        real_loss.extend(mean_d(&d_real.output, slot(stat::D_REAL))?);
        real_loss.push(tensor::reduce(
            gpu,
            Reduction::CountPositive,
            &d_real.output,
            b,
            stats,
            slot(stat::REAL_CALLED_REAL),
            false,
        )?);
        let add_loss = LossOptions {
            accumulate_loss: true,
            ..Default::default()
        };
        let mut fake_loss = vec![loss(
            gpu,
            fake_kind,
            &d_fake.output,
            targets(fake_kind, &fake_targets),
            b,
            &d_fake.doutput,
            stats,
            slot(stat::D_LOSS),
            add_loss,
        )?];
        fake_loss.extend(info_d_step);
        fake_loss.extend(mean_d(&d_fake.output, slot(stat::D_FAKE_BEFORE))?);
        fake_loss.push(tensor::reduce(
            gpu,
            Reduction::CountNonPositive,
            &d_fake.output,
            b,
            stats,
            slot(stat::FAKE_CALLED_FAKE),
            false,
        )?);
        let mut generator_loss = vec![loss(
            gpu,
            g_kind,
            &d_gen.output,
            None,
            b,
            &d_gen.doutput,
            stats,
            slot(stat::G_LOSS),
            LossOptions::default(),
        )?];
        generator_loss.extend(info_g_step);
        generator_loss.extend(mean_d(&d_gen.output, slot(stat::D_FAKE_AFTER))?);
        buffers.extend([real_targets, fake_targets, scratch]);
        Ok(Glue {
            draw_real,
            draw_z,
            fake_for_d_step,
            fake_for_g_step,
            image_gradient,
            real_loss,
            fake_loss,
            generator_loss,
            _augments: augments,
            _buffers: buffers,
        })
    }
}

/// InfoGAN's codes for a batch, drawn on the GPU each step, and their dispatches.
struct DrawnCodes {
    /// The categorical code's values (u32, [batch]), and the continuous codes
    /// ([batch, continuous]); one-element spares for a kind the model lacks.
    labels: wgpu::Buffer,
    continuous: wgpu::Buffer,
    draw: Vec<Dispatch>,
    scratch: Option<wgpu::Buffer>,
}

/// Draws the codes at the step's counter (the categorical code uniform over its values, the
/// continuous ones uniform in (−1, 1)) and writes G's input: per sample `z`, the categorical
/// code one-hot, the continuous codes, in the order of the reference's `latent_spec`.
fn draw_codes(
    gpu: &Gpu,
    config: &TrainConfig,
    counter_slots: &Slots,
    z: &wgpu::Buffer,
    latent: &wgpu::Buffer,
) -> Result<DrawnCodes> {
    let counters = &counter_slots.buffer;
    let rng = counter_slots.slot(counter::RNG) as u32;
    let codes = config.model.codes;
    let (b, nz) = (config.batch, config.model.nz);
    let (k, m) = (codes.categorical, codes.continuous);
    let labels = gpu.storage("code values", b.max(1) as usize);
    let continuous = gpu.storage("continuous codes", (b * m).max(1) as usize);
    let mut draw = vec![];
    // z with the one-hot categorical code: straight into G's input when nothing follows it.
    let (with_onehot, scratch) = match (k, m) {
        (0, _) => (z.clone(), None),
        (_, 0) => (latent.clone(), None),
        _ => {
            let both = gpu.storage("z and categorical code", (b * (nz + k)) as usize);
            (both.clone(), Some(both))
        }
    };
    if k > 0 {
        draw.push(random::fill(
            gpu,
            Distribution::Indices(k),
            config.seed,
            STREAM_LABELS,
            counters,
            rng,
            &labels,
            b as usize,
        )?);
        let shape = ConditionShape {
            batch: b,
            channels: nz,
            pixels: 1,
            classes: k,
        };
        draw.push(condition::append_onehot(
            gpu,
            &shape,
            z,
            &labels,
            &with_onehot,
        )?);
    }
    if m > 0 {
        draw.push(random::fill(
            gpu,
            Distribution::Uniform,
            config.seed,
            STREAM_CODES,
            counters,
            rng,
            &continuous,
            (b * m) as usize,
        )?);
        let parts = [
            Part {
                buffer: &with_onehot,
                channels: nz + k,
                accumulate: false,
            },
            Part {
                buffer: &continuous,
                channels: m,
                accumulate: false,
            },
        ];
        draw.extend(join::concat(gpu, b, 1, &parts, latent)?);
    }
    Ok(DrawnCodes {
        labels,
        continuous,
        draw,
        scratch,
    })
}

/// DiffAugment from `input` into `output` with the k-th augmented pass's stream, drawn at the
/// step counter's current value; `(doutput, dinput)` carry its gradient when one is wanted.
#[allow(clippy::too_many_arguments)]
fn augmentation(
    gpu: &Gpu,
    config: &TrainConfig,
    kinds: &[Kind],
    shape: AugmentShape,
    k: u32,
    counters: &wgpu::Buffer,
    rng: u32,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
    (doutput, dinput): (&wgpu::Buffer, &wgpu::Buffer),
) -> Result<Augment> {
    let params = gpu.storage("augment parameters", shape.params_len());
    Augment::new(
        gpu,
        shape,
        kinds,
        AugmentDraw {
            seed: config.seed,
            stream: augment_stream(k),
            counter: counters,
            counter_index: rng,
        },
        &AugmentBuffers {
            input,
            output,
            params: &params,
            doutput,
            dinput,
        },
        false,
    )
}

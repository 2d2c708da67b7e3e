//! The kernel benchmark: GFLOP/s of every convolution-engine kernel on the layer shapes of the
//! DCGAN presets and of CycleGAN's and pix2pix's networks at 64 × 64, and of a square matmul, on whatever adapter `Gpu::new` finds.

use std::time::Instant;

use crate::kernels::conv2d::{Conv2dShape, Padding};
use crate::kernels::conv_transpose2d::ConvTranspose2dShape;
use crate::kernels::dense::DenseShape;
use crate::kernels::Dispatch;
use crate::{Gpu, Result};

/// One timed kernel.
pub struct Timing {
    pub preset: &'static str,
    pub kernel: String,
    pub shape: String,
    pub gflop: f64,
    pub ms: f64,
    /// Each dispatch of the kernel timed alone (entry point, ms), when asked for: the packs,
    /// the GEMM and the finishing passes of a conv.
    pub entries: Vec<(&'static str, f64)>,
}

impl Timing {
    pub fn gflops(&self) -> f64 {
        self.gflop / (self.ms / 1e3)
    }
}

/// A layer of a preset, by kind.
enum Layer {
    Dense(DenseShape),
    Conv(Conv2dShape),
    ConvT(ConvTranspose2dShape),
}

fn conv(batch: u32, cin: u32, cout: u32, size: u32, k: u32, s: u32, p: u32) -> Layer {
    Layer::Conv(Conv2dShape {
        batch,
        in_channels: cin,
        out_channels: cout,
        height: size,
        width: size,
        kernel_h: k,
        kernel_w: k,
        stride: s,
        padding: Padding::Explicit(p),
    })
}

fn convt(batch: u32, cin: u32, cout: u32, size: u32, k: u32, s: u32, p: u32) -> Layer {
    convt_out(batch, cin, cout, size, k, s, p, 0)
}

/// A transposed conv with `output_padding` (CycleGAN's 3 × 3 stride-2 up-sampling: 1).
#[allow(clippy::too_many_arguments)]
fn convt_out(
    batch: u32,
    cin: u32,
    cout: u32,
    size: u32,
    k: u32,
    s: u32,
    p: u32,
    output_padding: u32,
) -> Layer {
    Layer::ConvT(ConvTranspose2dShape {
        batch,
        in_channels: cin,
        out_channels: cout,
        height: size,
        width: size,
        kernel_h: k,
        kernel_w: k,
        stride: s,
        padding: p,
        output_padding,
    })
}

/// The layers of a preset's generator and discriminator at `batch`. The image-to-image presets
/// (batch 1 in training) list each distinct conv shape of their networks once, at 64 × 64 with
/// the reference's defaults (ngf = ndf = 64): a reflection-padded conv is the conv of padding
/// 0 over the padded image.
fn preset_layers(preset: &str, batch: u32) -> Option<Vec<(&'static str, Layer)>> {
    let dense = |fin, fout| {
        Layer::Dense(DenseShape {
            batch,
            in_features: fin,
            out_features: fout,
        })
    };
    match preset {
        "dcgan28" => Some(vec![
            ("G dense 100→7·7·128", dense(100, 6272)),
            ("G convT 128→64 7→14", convt(batch, 128, 64, 7, 4, 2, 1)),
            ("G convT 64→1 14→28", convt(batch, 64, 1, 14, 4, 2, 1)),
            ("D conv 1→64 28→14", conv(batch, 1, 64, 28, 4, 2, 1)),
            ("D conv 64→128 14→7", conv(batch, 64, 128, 14, 4, 2, 1)),
            ("D dense 6272→1", dense(6272, 1)),
        ]),
        "dcgan64" => Some(vec![
            ("G convT 100→512 1→4", convt(batch, 100, 512, 1, 4, 1, 0)),
            ("G convT 512→256 4→8", convt(batch, 512, 256, 4, 4, 2, 1)),
            ("G convT 256→128 8→16", convt(batch, 256, 128, 8, 4, 2, 1)),
            ("G convT 128→64 16→32", convt(batch, 128, 64, 16, 4, 2, 1)),
            ("G convT 64→3 32→64", convt(batch, 64, 3, 32, 4, 2, 1)),
            ("D conv 3→64 64→32", conv(batch, 3, 64, 64, 4, 2, 1)),
            ("D conv 64→128 32→16", conv(batch, 64, 128, 32, 4, 2, 1)),
            ("D conv 128→256 16→8", conv(batch, 128, 256, 16, 4, 2, 1)),
            ("D conv 256→512 8→4", conv(batch, 256, 512, 8, 4, 2, 1)),
            ("D conv 512→1 4→1", conv(batch, 512, 1, 4, 4, 1, 0)),
        ]),
        // ResnetGenerator (6 blocks, 12 of its 3 × 3 convs at 256 channels over 16 × 16) and
        // the 3-layer PatchGAN.
        "cyclegan64" => Some(vec![
            ("G conv 3→64 k7 70→64", conv(batch, 3, 64, 70, 7, 1, 0)),
            ("G conv 64→128 k3 64→32", conv(batch, 64, 128, 64, 3, 2, 1)),
            (
                "G conv 128→256 k3 32→16",
                conv(batch, 128, 256, 32, 3, 2, 1),
            ),
            (
                "G res conv 256→256 k3 18→16",
                conv(batch, 256, 256, 18, 3, 1, 0),
            ),
            (
                "G convT 256→128 k3 16→32",
                convt_out(batch, 256, 128, 16, 3, 2, 1, 1),
            ),
            (
                "G convT 128→64 k3 32→64",
                convt_out(batch, 128, 64, 32, 3, 2, 1, 1),
            ),
            ("G conv 64→3 k7 70→64", conv(batch, 64, 3, 70, 7, 1, 0)),
            ("D conv 3→64 64→32", conv(batch, 3, 64, 64, 4, 2, 1)),
            ("D conv 64→128 32→16", conv(batch, 64, 128, 32, 4, 2, 1)),
            ("D conv 128→256 16→8", conv(batch, 128, 256, 16, 4, 2, 1)),
            ("D conv 256→512 8→7", conv(batch, 256, 512, 8, 4, 1, 1)),
            ("D conv 512→1 7→6", conv(batch, 512, 1, 7, 4, 1, 1)),
        ]),
        // The U-Net down to 1 × 1 (6 levels at 64) and the PatchGAN on 6 channels (the
        // condition joined to the image).
        "pix2pix64" => Some(vec![
            ("G conv 3→64 64→32", conv(batch, 3, 64, 64, 4, 2, 1)),
            ("G conv 64→128 32→16", conv(batch, 64, 128, 32, 4, 2, 1)),
            ("G conv 128→256 16→8", conv(batch, 128, 256, 16, 4, 2, 1)),
            ("G conv 256→512 8→4", conv(batch, 256, 512, 8, 4, 2, 1)),
            ("G conv 512→512 4→2", conv(batch, 512, 512, 4, 4, 2, 1)),
            ("G conv 512→512 2→1", conv(batch, 512, 512, 2, 4, 2, 1)),
            ("G convT 512→512 1→2", convt(batch, 512, 512, 1, 4, 2, 1)),
            ("G convT 1024→512 2→4", convt(batch, 1024, 512, 2, 4, 2, 1)),
            ("G convT 1024→256 4→8", convt(batch, 1024, 256, 4, 4, 2, 1)),
            ("G convT 512→128 8→16", convt(batch, 512, 128, 8, 4, 2, 1)),
            ("G convT 256→64 16→32", convt(batch, 256, 64, 16, 4, 2, 1)),
            ("G convT 128→3 32→64", convt(batch, 128, 3, 32, 4, 2, 1)),
            ("D conv 6→64 64→32", conv(batch, 6, 64, 64, 4, 2, 1)),
            ("D conv 64→128 32→16", conv(batch, 64, 128, 32, 4, 2, 1)),
            ("D conv 128→256 16→8", conv(batch, 128, 256, 16, 4, 2, 1)),
            ("D conv 256→512 8→7", conv(batch, 256, 512, 8, 4, 1, 1)),
            ("D conv 512→1 7→6", conv(batch, 512, 1, 7, 4, 1, 1)),
        ]),
        _ => None,
    }
}

/// Whether a layer of one of `presets` (at any batch) has a name containing one of `only`.
pub fn any_layer_named(presets: &[String], only: &[String]) -> bool {
    presets.iter().any(|p| {
        preset_layers(p, 1).is_some_and(|layers| {
            layers
                .iter()
                .any(|(name, _)| only.iter().any(|o| name.contains(o.as_str())))
        })
    })
}

/// When nonzero, [`time`] measures the CPU time of this process's threads (a software adapter
/// runs in them) divided by this many cores, in place of the wall clock: on a machine shared
/// with other work, where a wall-clock timing of the same kernel swings several-fold, the CPU
/// time holds within a few percent. Linux only (it reads /proc/self/task/*/schedstat).
static CPU_TIME: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Times kernels by CPU time over `cores` cores from now on (see [`CPU_TIME`]), or by the wall
/// clock for 0. Err where the process's CPU time cannot be read.
pub fn time_by_cpu(cores: usize) -> Result<()> {
    if cores > 0 && std::fs::read_dir("/proc/self/task").is_err() {
        return Err(crate::Error::Invalid(
            "CPU-time benchmarks read /proc/self/task, which this system lacks".into(),
        ));
    }
    CPU_TIME.store(cores, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Seconds the process's threads have run, summed over them.
fn cpu_seconds() -> f64 {
    let ns: u64 = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 * 1e-9
}

/// Samples per kernel timing, of which the median is reported: on these shared machines one
/// timing of the same kernel swings by ±30%, and a median of several holds still where a single
/// longer run does not.
const SAMPLES: usize = 5;

/// Times `d`: after one warm-up run, `reps` grows until recording it `reps` times into one
/// pass and waiting for the queue takes at least `min_seconds` / [`SAMPLES`]; then the median
/// of [`SAMPLES`] such runs, per rep.
fn time(gpu: &Gpu, d: &Dispatch, min_seconds: f64) -> f64 {
    let cores = CPU_TIME.load(std::sync::atomic::Ordering::Relaxed);
    let run = |reps: usize| {
        let start = Instant::now();
        let cpu0 = if cores > 0 { cpu_seconds() } else { 0.0 };
        gpu.run(&vec![d; reps]);
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        if cores > 0 {
            (cpu_seconds() - cpu0) / cores as f64
        } else {
            start.elapsed().as_secs_f64()
        }
    };
    run(1);
    let per_sample = min_seconds / SAMPLES as f64;
    let mut reps = 1;
    let mut seconds = run(reps);
    while seconds < per_sample && reps < 64 {
        reps = (reps * 2)
            .max((reps as f64 * per_sample / seconds.max(1e-6)).ceil() as usize)
            .min(64);
        seconds = run(reps);
    }
    let mut samples: Vec<f64> = (0..SAMPLES).map(|_| run(reps)).collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2] * 1e3 / reps as f64
}

/// Every kernel of `preset` (or "matmul": a square 1024³ matmul) at `batch`.
pub fn kernels(
    gpu: &Gpu,
    preset: &'static str,
    batch: u32,
    min_seconds: f64,
    entries: bool,
    only: &[String],
    mut report: impl FnMut(&Timing),
) -> Result<Vec<Timing>> {
    if preset == "attention" {
        return attention(gpu, batch, min_seconds, entries, &mut report);
    }
    let mut layers = match preset {
        "matmul" => vec![(
            "matmul 1024³",
            Layer::Dense(DenseShape {
                batch: 1024,
                in_features: 1024,
                out_features: 1024,
            }),
        )],
        _ => preset_layers(preset, batch).ok_or_else(|| {
            crate::Error::Invalid(format!(
                "unknown preset {preset}: try dcgan28, dcgan64, cyclegan64, pix2pix64, attention or matmul"
            ))
        })?,
    };
    if preset == "matmul" {
        layers.truncate(1);
    }
    // The matmul is the yardstick of the others: a filter does not drop it.
    if preset != "matmul" && !only.is_empty() {
        layers.retain(|(name, _)| only.iter().any(|o| name.contains(o.as_str())));
    }
    let mut out = Vec::new();
    for (name, layer) in layers {
        // (pass, flops, x, w, y lengths, builder)
        let (lens, flops, shape) = match &layer {
            Layer::Dense(s) => (
                (s.batch * s.in_features) as usize,
                s.flops(),
                format!("{}×{}→{}", s.batch, s.in_features, s.out_features),
            ),
            Layer::Conv(s) => (
                s.input_len(),
                s.flops()?,
                format!(
                    "b{} {}×{}×{} k{} s{}",
                    s.batch, s.in_channels, s.height, s.width, s.kernel_h, s.stride
                ),
            ),
            Layer::ConvT(s) => (
                s.input_len(),
                s.flops()?,
                format!(
                    "b{} {}×{}×{} k{} s{}",
                    s.batch, s.in_channels, s.height, s.width, s.kernel_h, s.stride
                ),
            ),
        };
        let (w_len, y_len) = match &layer {
            Layer::Dense(s) => (
                (s.in_features * s.out_features) as usize,
                (s.batch * s.out_features) as usize,
            ),
            Layer::Conv(s) => (s.weight_len(), s.output_len()?),
            Layer::ConvT(s) => (s.weight_len(), s.output_len()?),
        };
        let (x, w, y, dx, dw, dy) = (
            gpu.storage("x", lens),
            gpu.storage("w", w_len),
            gpu.storage("y", y_len),
            gpu.storage("dx", lens),
            gpu.storage("dw", w_len),
            gpu.storage("dy", y_len),
        );
        let passes: [(&str, Dispatch); 3] = match &layer {
            Layer::Dense(s) => [
                ("forward", s.forward(gpu, &x, &w, None, &y, None)?),
                ("d input", s.backward_input(gpu, &dy, &w, &dx, false)?),
                ("d weight", s.backward_weight(gpu, &x, &dy, &dw, false)?),
            ],
            Layer::Conv(s) => [
                ("forward", s.forward(gpu, &x, &w, None, &y, None)?),
                ("d input", s.backward_input(gpu, &dy, &w, &dx, false)?),
                ("d weight", s.backward_weight(gpu, &x, &dy, &dw, false)?),
            ],
            Layer::ConvT(s) => [
                ("forward", s.forward(gpu, &x, &w, None, &y, None)?),
                ("d input", s.backward_input(gpu, &dy, &w, &dx, false)?),
                ("d weight", s.backward_weight(gpu, &x, &dy, &dw, false)?),
            ],
        };
        for (pass, d) in passes {
            let t = Timing {
                preset,
                kernel: format!("{name} {pass}"),
                shape: shape.clone(),
                gflop: flops / 1e9,
                ms: time(gpu, &d, min_seconds),
                entries: if entries {
                    d.apart()
                        .iter()
                        .map(|e| (e.label, time(gpu, e, min_seconds / 4.0)))
                        .collect()
                } else {
                    Vec::new()
                },
            };
            report(&t);
            out.push(t);
            if preset == "matmul" {
                break;
            }
        }
    }
    Ok(out)
}

/// SAGAN's self-attention block (64 channels at 32 × 32, SAGAN's generator's second block,
/// `graph::ops::self_attention`), forward and backward at `batch`, after the square matmul it
/// is measured against: all of its dispatches timed as one kernel. Its backward does each
/// product of the forward twice (a gradient per operand).
fn attention(
    gpu: &Gpu,
    batch: u32,
    min_seconds: f64,
    entries: bool,
    report: &mut dyn FnMut(&Timing),
) -> Result<Vec<Timing>> {
    use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
    use crate::graph::{ops::self_attention, Builder, Shape3};
    let mut out = kernels(gpu, "matmul", batch, min_seconds, false, &[], &mut *report)?;
    let mut b = Builder::new();
    let x = b.input(Shape3::new(64, 32, 32));
    let y = self_attention(&mut b, "attn", x)?;
    let graph = b.finish(&[y])?;
    let forward_flops = graph.forward_flops(batch);
    let net = Net::new(gpu, graph, 1);
    let options = PassOptions {
        batch,
        train: true,
        update_running: true,
        param_grads: ParamGrads::Overwrite,
        input_grad: true,
        backward: true,
    };
    let pass = Pass::new(gpu, &net, options, PassBuffers::default())?;
    for (name, forward, flops) in [
        ("forward", true, forward_flops),
        ("backward", false, 2.0 * forward_flops),
    ] {
        let parts = pass.dispatches(forward);
        let one = parts
            .iter()
            .map(|&d| d.clone())
            .reduce(Dispatch::then)
            .expect("the block has dispatches both ways");
        let t = Timing {
            preset: "attention",
            kernel: format!("self-attention {name}"),
            shape: format!("b{batch} 64×32×32"),
            gflop: flops / 1e9,
            ms: time(gpu, &one, min_seconds),
            entries: if entries {
                parts
                    .iter()
                    .map(|d| (d.label, time(gpu, d, min_seconds / 4.0)))
                    .collect()
            } else {
                Vec::new()
            },
        };
        report(&t);
        out.push(t);
    }
    Ok(out)
}

/// Training throughput of one preset: (ms per alternating step, images per second), over
/// `steps` steps after 2 warm-up steps, on a random u8 dataset resident on the GPU. An image
/// counts once per step: the real batch D sees (as PyTorch's examples report it).
pub fn training(
    gpu: std::sync::Arc<Gpu>,
    config: crate::train::TrainConfig,
    steps: u32,
) -> Result<(f64, f64)> {
    let batch = config.batch;
    let mut trainer = bench_trainer_for(gpu, config)?;
    let wait = |t: &crate::train::Trainer| pollster::block_on(t.read_stats()).map(|_| ());
    trainer.train(2)?;
    wait(&trainer)?;
    let start = Instant::now();
    for _ in 0..steps {
        trainer.train(1)?;
    }
    wait(&trainer)?;
    let ms = start.elapsed().as_secs_f64() * 1e3 / steps as f64;
    Ok((ms, batch as f64 * 1e3 / ms))
}

/// A trainer of `preset` with its recipe's defaults, on 256 images of noise resident on the GPU.
pub fn bench_trainer(
    gpu: std::sync::Arc<Gpu>,
    preset: crate::model::presets::Preset,
    batch: u32,
) -> Result<crate::train::Trainer> {
    let config = crate::train::TrainConfig {
        batch,
        ..crate::train::TrainConfig::new(preset)
    };
    bench_trainer_for(gpu, config)
}

/// A trainer of `config` on 256 images of noise resident on the GPU (labelled 0, 1, … in turn
/// when the model is conditional).
pub fn bench_trainer_for(
    gpu: std::sync::Arc<Gpu>,
    config: crate::train::TrainConfig,
) -> Result<crate::train::Trainer> {
    use crate::train::{GpuDataset, Trainer};
    let row = config.model.image().len();
    // 256 images of noise: what the data looks like does not change the work.
    let mut state = 0x2545_f491u32;
    let pixels: Vec<u8> = (0..256 * row)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let classes = config.model.classes;
    let dataset = match classes {
        0 => GpuDataset::upload(&gpu, &pixels, row)?,
        k => {
            let labels: Vec<u32> = (0..256).map(|i| i % k).collect();
            GpuDataset::upload_labelled(&gpu, &pixels, row, &labels, k)?
        }
    };
    Trainer::new(gpu.clone(), config, dataset)
}

/// Where one training step's time goes: every dispatch of a step run alone and waited for
/// (so the sum exceeds a real step by the waits), as (phase, kernel, ms), after one warm-up
/// step. Isolated timing rather than timestamp queries: software adapters lack them natively.
pub fn profile_step<R: crate::train::Family>(
    trainer: &crate::train::Trainer<R>,
) -> Vec<(&'static str, &'static str, f64)> {
    let gpu = &trainer.gpu;
    let wait = || {
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
    };
    let dispatches = trainer.step_dispatches();
    for (_, d) in &dispatches {
        gpu.run(&[*d]);
    }
    wait();
    dispatches
        .iter()
        .map(|(phase, d)| {
            let start = Instant::now();
            gpu.run(&[*d]);
            wait();
            (*phase, d.label, start.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

/// [`profile_step`] summed over `reps` steps by kernel (label): (kernel, dispatches per step,
/// ms per step), slowest first.
pub fn step_breakdown<R: crate::train::Family>(
    trainer: &crate::train::Trainer<R>,
    reps: u32,
) -> Vec<(&'static str, usize, f64)> {
    let mut by_label: Vec<(&'static str, usize, f64)> = Vec::new();
    for rep in 0..reps.max(1) {
        for (_, label, ms) in profile_step(trainer) {
            match by_label.iter_mut().find(|(l, _, _)| *l == label) {
                Some(row) => {
                    row.1 += usize::from(rep == 0);
                    row.2 += ms / reps.max(1) as f64;
                }
                None => by_label.push((label, 1, ms / reps.max(1) as f64)),
            }
        }
    }
    by_label.sort_by(|a, b| b.2.total_cmp(&a.2));
    by_label
}

/// The image-to-image benchmarks `bench train` knows, by name: the reference's CycleGAN
/// (ResNet generators) and pix2pix (U-Net) at a side, with their defaults (batch 1).
pub const IMAGE_TO_IMAGE: [&str; 6] = [
    "cyclegan64",
    "cyclegan128",
    "cyclegan256",
    "pix2pix64",
    "pix2pix128",
    "pix2pix256",
];

/// ms per step and images/s of `trainer` (batch `batch`) over `steps` steps, after two
/// warm-up steps, as [`training`] measures DCGAN's.
fn time_steps<R: crate::train::Family>(
    trainer: &mut crate::train::Trainer<R>,
    batch: u32,
    steps: u32,
) -> Result<(f64, f64)> {
    let wait = |t: &crate::train::Trainer<R>| pollster::block_on(t.read_named_stats()).map(|_| ());
    trainer.train(2)?;
    wait(trainer)?;
    let start = Instant::now();
    for _ in 0..steps {
        trainer.train(1)?;
    }
    wait(trainer)?;
    let ms = start.elapsed().as_secs_f64() * 1e3 / steps as f64;
    Ok((ms, batch as f64 * 1e3 / ms))
}

/// `count` images of `len` bytes of noise: what the data looks like does not change the work.
fn noise_images(count: usize, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491u32;
    (0..count * len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// The run of an [`IMAGE_TO_IMAGE`] name: (family, side), or a sentence naming the choices.
pub fn image_to_image_run(name: &str) -> Result<(&'static str, u32)> {
    let bad = || {
        crate::Error::Invalid(format!(
            "unknown benchmark '{name}': choose dcgan28, dcgan32, dcgan64, {}",
            IMAGE_TO_IMAGE.join(", ")
        ))
    };
    if !IMAGE_TO_IMAGE.contains(&name) {
        return Err(bad());
    }
    let (family, side) = match name.strip_prefix("cyclegan") {
        Some(side) => ("cyclegan", side),
        None => ("pix2pix", name.strip_prefix("pix2pix").ok_or_else(bad)?),
    };
    Ok((family, side.parse().map_err(|_| bad())?))
}

/// A CycleGAN trainer at `size` with the reference's defaults, on 16 images of noise per domain.
pub fn cyclegan_trainer(
    gpu: std::sync::Arc<Gpu>,
    size: u32,
) -> Result<crate::train::Trainer<crate::train::recipes::cyclegan::CycleGan>> {
    use crate::train::recipes::cyclegan_run::CycleGanRun;
    let run = CycleGanRun::new(size, 3, 3);
    let data = [
        noise_dataset(&gpu, run.load_side())?,
        noise_dataset(&gpu, run.load_side())?,
    ];
    crate::train::Trainer::start(gpu.clone(), run, data)
}

/// A pix2pix trainer at `size` with the reference's defaults, on 16 pairs of noise.
pub fn pix2pix_trainer(
    gpu: std::sync::Arc<Gpu>,
    size: u32,
) -> Result<crate::train::Trainer<crate::train::recipes::pix2pix::Pix2Pix>> {
    use crate::train::recipes::pix2pix::Pix2PixRun;
    let run = Pix2PixRun::new(size, 3, 3)?;
    let data = [
        noise_dataset(&gpu, run.load_side())?,
        noise_dataset(&gpu, run.load_side())?,
    ];
    crate::train::Trainer::start(gpu.clone(), run, data)
}

/// 16 RGB images of noise at `side`.
fn noise_dataset(gpu: &Gpu, side: u32) -> Result<crate::train::GpuDataset> {
    let row = (3 * side * side) as usize;
    crate::train::GpuDataset::upload(gpu, &noise_images(16, row), row)
}

/// ms per step and images/s of one of [`IMAGE_TO_IMAGE`] (batch 1).
pub fn image_to_image(gpu: std::sync::Arc<Gpu>, name: &str, steps: u32) -> Result<(f64, f64)> {
    match image_to_image_run(name)? {
        ("cyclegan", size) => time_steps(&mut cyclegan_trainer(gpu, size)?, 1, steps),
        (_, size) => time_steps(&mut pix2pix_trainer(gpu, size)?, 1, steps),
    }
}

/// [`step_breakdown`] of one of [`IMAGE_TO_IMAGE`].
pub fn image_to_image_breakdown(
    gpu: std::sync::Arc<Gpu>,
    name: &str,
    reps: u32,
) -> Result<Vec<(&'static str, usize, f64)>> {
    Ok(match image_to_image_run(name)? {
        ("cyclegan", size) => step_breakdown(&cyclegan_trainer(gpu, size)?, reps),
        (_, size) => step_breakdown(&pix2pix_trainer(gpu, size)?, reps),
    })
}

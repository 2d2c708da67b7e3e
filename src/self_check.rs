//! A quick proof that this device computes what the references say: the convolution engine's
//! forward and backward passes on small odd shapes, compared with the CPU. The page runs it
//! at start-up and `webgan check` runs it natively, so a broken driver is caught before training.

use crate::kernels::conv2d::{Conv2dShape, Padding};
use crate::kernels::conv_transpose2d::ConvTranspose2dShape;
use crate::kernels::dense::DenseShape;
use crate::kernels::Dispatch;
use crate::{reference, Gpu, Result};

/// One compared tensor: the largest |gpu − cpu| and whether it is within tolerance.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub max_error: f64,
    pub passed: bool,
}

/// f32 against f64 over short sums: anything above this is a wrong result, not rounding.
const TOLERANCE: f64 = 1e-3;

/// Deterministic values in [−1, 1), rounded to f32 as the GPU will see them.
fn values(n: usize, seed: u32) -> Vec<f64> {
    let mut s = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) as f64 / (1u32 << 23) as f64 - 1.0) as f32 as f64
        })
        .collect()
}

struct Layer {
    name: &'static str,
    x: Vec<f64>,
    w: Vec<f64>,
    dy: Vec<f64>,
    /// forward, dinput, dweight from the reference
    want: [Vec<f64>; 3],
}

async fn compare(
    gpu: &Gpu,
    layer: Layer,
    build: impl Fn(&[&wgpu::Buffer; 6]) -> Result<Vec<Dispatch>>,
) -> Result<Vec<Check>> {
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let x = gpu.storage_from("x", &f32s(&layer.x));
    let w = gpu.storage_from("w", &f32s(&layer.w));
    let dy = gpu.storage_from("dy", &f32s(&layer.dy));
    let y = gpu.storage("y", layer.want[0].len());
    let dx = gpu.storage("dx", layer.x.len());
    let dw = gpu.storage("dw", layer.w.len());
    let dispatches = build(&[&x, &w, &dy, &y, &dx, &dw])?;
    gpu.run(&dispatches.iter().collect::<Vec<_>>());
    let mut checks = Vec::new();
    for (what, buffer, want) in [
        ("forward", &y, &layer.want[0]),
        ("d input", &dx, &layer.want[1]),
        ("d weight", &dw, &layer.want[2]),
    ] {
        let got = gpu.read_f32(buffer).await?;
        let max_error = want
            .iter()
            .zip(&got)
            .map(|(&w, &g)| (w - g as f64).abs())
            .fold(0.0, f64::max);
        checks.push(Check {
            name: format!("{} {what}", layer.name),
            max_error,
            passed: max_error <= TOLERANCE && got.iter().all(|v| v.is_finite()),
        });
    }
    Ok(checks)
}

/// Runs dense, conv2d and transposed conv2d forward and backward on the GPU and compares each
/// with the CPU reference.
pub async fn run(gpu: &Gpu) -> Result<Vec<Check>> {
    let mut checks = Vec::new();

    let s = DenseShape {
        batch: 3,
        in_features: 37,
        out_features: 5,
    };
    let (x, w, dy) = (values(3 * 37, 1), values(37 * 5, 2), values(3 * 5, 3));
    let (dx, dw, _) = reference::dense::backward(&s, &x, &w, &dy);
    let want = [reference::dense::forward(&s, &x, &w, None), dx, dw];
    let layer = Layer {
        name: "dense",
        x,
        w,
        dy,
        want,
    };
    checks.extend(
        compare(gpu, layer, |[x, w, dy, y, dx, dw]| {
            Ok(vec![
                s.forward(gpu, x, w, None, y, None)?,
                s.backward_input(gpu, dy, w, dx, false)?,
                s.backward_weight(gpu, x, dy, dw, false)?,
            ])
        })
        .await?,
    );

    // A strided 4 × 4 conv, and a 3 × 3 stride-1 conv wide enough (32 channels on both sides)
    // to run as Winograd's (CycleGAN's residual blocks).
    let convs = [
        ("conv2d", 2, 3, 5, 7, 5, 4, 2),
        ("conv2d Winograd", 1, 33, 32, 6, 5, 3, 1),
    ];
    for (i, (name, batch, in_channels, out_channels, height, width, kernel, stride)) in
        convs.into_iter().enumerate()
    {
        let s = Conv2dShape {
            batch,
            in_channels,
            out_channels,
            height,
            width,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding: Padding::Explicit(1),
        };
        let seed = 4 + 10 * i as u32;
        let (x, w, dy) = (
            values(s.input_len(), seed),
            values(s.weight_len(), seed + 1),
            values(s.output_len()?, seed + 2),
        );
        let (dx, dw, _) = reference::conv2d::backward(&s, &x, &w, &dy);
        let want = [reference::conv2d::forward(&s, &x, &w, None), dx, dw];
        let layer = Layer {
            name,
            x,
            w,
            dy,
            want,
        };
        checks.extend(
            compare(gpu, layer, |[x, w, dy, y, dx, dw]| {
                Ok(vec![
                    s.forward(gpu, x, w, None, y, None)?,
                    s.backward_input(gpu, dy, w, dx, false)?,
                    s.backward_weight(gpu, x, dy, dw, false)?,
                ])
            })
            .await?,
        );
    }

    let s = ConvTranspose2dShape {
        batch: 2,
        in_channels: 5,
        out_channels: 3,
        height: 3,
        width: 4,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    };
    let (x, w, dy) = (
        values(s.input_len(), 7),
        values(s.weight_len(), 8),
        values(s.output_len()?, 9),
    );
    let (dx, dw, _) = reference::conv_transpose2d::backward(&s, &x, &w, &dy);
    let want = [
        reference::conv_transpose2d::forward(&s, &x, &w, None),
        dx,
        dw,
    ];
    let layer = Layer {
        name: "conv_transpose2d",
        x,
        w,
        dy,
        want,
    };
    checks.extend(
        compare(gpu, layer, |[x, w, dy, y, dx, dw]| {
            Ok(vec![
                s.forward(gpu, x, w, None, y, None)?,
                s.backward_input(gpu, dy, w, dx, false)?,
                s.backward_weight(gpu, x, dy, dw, false)?,
            ])
        })
        .await?,
    );
    Ok(checks)
}

/// One conditional training step of a tiny dcgan28 on the GPU against the CPU reference step:
/// every kernel family (conv engine, batch norm, activations, losses, optimizers, the RNG,
/// gathers, conditioning) runs, so a driver that miscompiles any of them is caught.
pub async fn training_step(gpu: std::sync::Arc<Gpu>) -> Result<Vec<Check>> {
    use crate::kernels::optim::{AdamConfig, SgdConfig};
    use crate::model::presets::{ModelConfig, Preset};
    use crate::train::{GpuDataset, Optimizer, TrainConfig, Trainer};

    let (count, row) = (16usize, 784usize);
    let pixels: Vec<u8> = values(count * row, 10)
        .iter()
        .map(|v| ((v + 1.0) * 127.5) as u8)
        .collect();
    let labels: Vec<u32> = (0..count as u32).map(|i| i % 3).collect();
    let dataset = GpuDataset::upload_labelled(&gpu, &pixels, row, &labels, 3)?;
    let config = TrainConfig {
        model: ModelConfig {
            nz: 8,
            ngf: 4,
            ndf: 4,
            classes: 3,
            ..ModelConfig::new(Preset::Dcgan28)
        },
        batch: 4,
        label_smoothing: 0.1,
        // A large ε keeps Adam's first step a smooth function of tiny gradients (at ε = 1e-8 it
        // is ±lr whatever their size, and rounding could flip a sign).
        d_optimizer: Optimizer::Adam(AdamConfig {
            lr: 0.01,
            beta1: 0.5,
            eps: 0.01,
            ..AdamConfig::default()
        }),
        g_optimizer: Optimizer::Sgd(SgdConfig {
            lr: 0.1,
            momentum: 0.5,
            weight_decay: 0.0,
        }),
        ..TrainConfig::new(Preset::Dcgan28)
    };
    let mut trainer = Trainer::new(gpu.clone(), config, dataset)?;
    let mut cpu = reference::gan::CpuGan::new(
        config,
        trainer.g().to_cpu(&gpu).await?,
        trainer.d().to_cpu(&gpu).await?,
    );
    let want = cpu.step(&pixels, row, &labels);
    trainer.train(1)?;
    let got = trainer.read_stats().await?;
    let (mut g, d) = (
        trainer.g().to_cpu(&gpu).await?,
        trainer.d().to_cpu(&gpu).await?,
    );
    // The sample grid's path: G in eval mode on the running statistics the step left.
    let (n, nz) = (3u32, config.model.nz);
    let z: Vec<f32> = values((n * nz) as usize, 11)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let classes: Vec<u32> = (0..n).collect();
    let sampled = trainer.sampler(&z, &classes)?.images(&gpu).await?;
    let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let input = reference::condition::latent(&z64, nz, config.model.classes, &classes);
    let (sampled_want, _) = g.forward(&input, n, false, false);
    let flat = |n: &reference::graph::CpuNet| -> Vec<f64> {
        n.params
            .iter()
            .flatten()
            .flatten()
            .copied()
            .chain(n.running.iter().flatten().flatten().copied())
            .collect()
    };
    let check = |name: &str, got: &[f64], want: &[f64]| {
        let max_error = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs() / (1.0 + w.abs()))
            .fold(0.0, f64::max);
        Check {
            name: name.to_string(),
            max_error,
            passed: got.len() == want.len()
                && max_error <= TOLERANCE
                && got.iter().all(|v| v.is_finite()),
        }
    };
    Ok(vec![
        check(
            "training step: losses",
            &[got.d_loss as f64, got.g_loss as f64],
            &[want.d_loss, want.g_loss],
        ),
        check("training step: G after", &flat(&g), &flat(&cpu.g)),
        check("training step: D after", &flat(&d), &flat(&cpu.d)),
        check(
            "samples (G in eval mode)",
            &sampled.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            &sampled_want,
        ),
    ])
}

/// One step of each image-to-image family at tiny widths against its CPU twin: CycleGAN
/// (ResNet generators with reflection padding and instance norm, PatchGANs, a pool that fills
/// and then draws, random crops and flips) and pix2pix (a U-Net with batch norm and dropout, the
/// stacked pair, GAN + λ·L1).
pub async fn image_to_image_steps(gpu: std::sync::Arc<Gpu>) -> Result<Vec<Check>> {
    use crate::kernels::optim::SgdConfig;
    use crate::reference::graph::CpuNet;
    use crate::train::recipe::Recipe;
    use crate::train::recipes::cyclegan::CycleGan;
    use crate::train::recipes::cyclegan_run::CycleGanRun;
    use crate::train::recipes::pix2pix::{Pix2Pix, Pix2PixRun};
    use crate::train::{GpuDataset, Optimizer, Trainer};
    let sgd = Optimizer::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.5,
        weight_decay: 0.0,
    });
    let bytes = |n: usize, seed: u32| -> Vec<u8> {
        values(n, seed)
            .iter()
            .map(|v| ((v + 1.0) * 127.5) as u8)
            .collect()
    };
    let flat = |nets: &[&CpuNet]| -> Vec<f64> {
        nets.iter()
            .flat_map(|n| n.params.iter().flatten().flatten().copied())
            .collect()
    };
    let compare = |name: &str, got: &[f64], want: &[f64]| {
        let max_error = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs() / (1.0 + w.abs()))
            .fold(0.0, f64::max);
        Check {
            name: name.to_string(),
            max_error,
            passed: got.len() == want.len()
                && max_error <= TOLERANCE
                && got.iter().all(|v| v.is_finite()),
        }
    };
    let mut checks = Vec::new();

    let mut cycle = CycleGanRun::new(16, 3, 1);
    cycle.ngf = 2;
    cycle.ndf = 2;
    cycle.n_blocks = 1;
    cycle.n_layers_d = 1;
    cycle.recipe.pool_size = 1;
    cycle.recipe.batch = 2;
    cycle.recipe.g_optimizer = sgd;
    cycle.recipe.d_optimizer = sgd;
    let side = cycle.load_side() as usize;
    let (a, b) = (bytes(4 * 3 * side * side, 21), bytes(3 * side * side, 22));
    let data = [
        GpuDataset::upload(&gpu, &a, 3 * side * side)?,
        GpuDataset::upload(&gpu, &b, side * side)?,
    ];
    let mut t = Trainer::<CycleGan>::start(gpu.clone(), cycle, data)?;
    let mut nets = Vec::new();
    for n in t.recipe.nets() {
        nets.push(n.net.to_cpu(&gpu).await?);
    }
    let [g_a, g_b, d_a, d_b]: [CpuNet; 4] = nets
        .try_into()
        .map_err(|_| crate::Error::Invalid("CycleGAN has four networks".into()))?;
    let mut twin = reference::cyclegan::CpuCycleGan::new(cycle.recipe, [g_a, g_b, d_a, d_b]);
    for _ in 0..2 {
        twin.step(&a, &b);
        t.train(1)?;
    }
    let mut got = Vec::new();
    for n in t.recipe.nets() {
        got.push(n.net.to_cpu(&gpu).await?);
    }
    checks.push(compare(
        "CycleGAN: 2 steps, 4 nets",
        &flat(&got.iter().collect::<Vec<_>>()),
        &flat(&[&twin.g_a, &twin.g_b, &twin.d_a, &twin.d_b]),
    ));

    let pix = Pix2PixRun {
        ngf: 2,
        ndf: 2,
        n_layers_d: 1,
        batch: 2,
        g_optimizer: sgd,
        d_optimizer: sgd,
        ..Pix2PixRun::new(32, 3, 3)?
    };
    let row = (3 * pix.load_side() * pix.load_side()) as usize;
    let (a, b) = (bytes(3 * row, 23), bytes(3 * row, 24));
    let data = [
        GpuDataset::upload(&gpu, &a, row)?,
        GpuDataset::upload(&gpu, &b, row)?,
    ];
    let mut t = Trainer::<Pix2Pix>::start(gpu.clone(), pix, data)?;
    let mut twin = reference::pix2pix::CpuPix2Pix::new(
        pix,
        t.recipe.g.to_cpu(&gpu).await?,
        t.recipe.d.to_cpu(&gpu).await?,
    );
    twin.step(&a, &b);
    t.train(1)?;
    let (g, d) = (
        t.recipe.g.to_cpu(&gpu).await?,
        t.recipe.d.to_cpu(&gpu).await?,
    );
    checks.push(compare(
        "pix2pix: 1 step, G and D",
        &flat(&[&g, &d]),
        &flat(&[&twin.g, &twin.d]),
    ));
    Ok(checks)
}

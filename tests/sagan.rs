//! SAGAN's presets as a run trains them: one alternating step of a small sagan32 (spectral
//! norm's power iteration in every normalised layer, self-attention at two resolutions in
//! each network, the hinge loss) against the CPU twin, conditional and not, with the moving
//! average; and the step's spectral-norm state as a checkpoint carries it.

use crate::common;

use std::sync::Arc;

use common::*;
use webgan::graph::program::Net;
use webgan::kernels::optim::SgdConfig;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::reference::gan::CpuGan;
use webgan::train::{GanLoss, GpuDataset, Optimizer, TrainConfig, Trainer};

const SIDE: usize = 32;

/// `count` gray 32×32 images in two classes: a bright square in the left (0) or right (1) half.
fn squares(gpu: &webgan::Gpu, count: usize) -> GpuDataset {
    let mut rng = Rng::new(5);
    let mut pixels = vec![0u8; count * SIDE * SIDE];
    let mut labels = Vec::with_capacity(count);
    for img in pixels.chunks_mut(SIDE * SIDE) {
        let (y, x) = (rng.below(22) as usize, rng.below(22) as usize);
        for r in y..y + 10 {
            img[r * SIDE + x..r * SIDE + x + 10].fill(255);
        }
        labels.push((x >= 11) as u32);
    }
    GpuDataset::upload_labelled(gpu, &pixels, SIDE * SIDE, &labels, 2).unwrap()
}

/// A gray sagan32 of widths 8, latent 16, batch 4, SGD on both nets so that each weight moves
/// by its gradient (Adam's first step would move every weight by ±lr, whatever its gradient).
fn small_sagan(classes: u32) -> Trainer {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let data = squares(&gpu, 32);
    let sgd = Optimizer::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.5,
        weight_decay: 0.0,
    });
    let config = TrainConfig {
        model: ModelConfig {
            nz: 16,
            ngf: 8,
            ndf: 8,
            channels: 1,
            classes,
            ..ModelConfig::new(Preset::Sagan32)
        },
        batch: 4,
        d_optimizer: sgd,
        g_optimizer: sgd,
        ema: Some(0.9),
        ..TrainConfig::new(Preset::Sagan32)
    };
    assert_eq!(config.loss, GanLoss::Hinge, "SAGAN's default loss");
    Trainer::new(gpu, config, data).unwrap()
}

/// γ = 0 makes a new attention block the identity, and then no gradient reaches its query,
/// key and value convs: the blocks are opened so that the step exercises all of them.
fn open_attention(t: &Trainer, net: &Net, gamma: f32) {
    let mut opened = 0;
    for p in net.all_params().filter(|p| p.spec.name.ends_with(".gamma")) {
        t.gpu
            .queue
            .write_buffer(&p.value, 0, bytemuck::cast_slice(&[gamma]));
        opened += 1;
    }
    assert_eq!(opened, 2, "two attention blocks per network");
}

/// Every tensor's name, in the order `to_cpu` lists them.
fn names(net: &Net) -> Vec<String> {
    net.all_params().map(|p| p.spec.name.clone()).collect()
}

fn to_cpu(t: &Trainer, net: &Net) -> webgan::reference::graph::CpuNet {
    pollster::block_on(net.to_cpu(&t.gpu)).unwrap()
}

/// Tolerance: f32 sums on the GPU against f64 through softmaxes over 64 and 256 positions,
/// batch norm over 4 samples and σ's division: the train test's atol 2e-5 + rtol 2e-3.
#[test]
fn a_sagan_step_matches_the_cpu_twin() {
    for classes in [0, 2] {
        let mut t = small_sagan(classes);
        open_attention(&t, t.g(), 0.5);
        open_attention(&t, t.d(), -0.7);
        open_attention(&t, t.g_ema().expect("asked for"), 0.5);
        let pixels = t.gpu.read_u32_blocking(&t.data.pixels).unwrap();
        let dataset: Vec<u8> = bytemuck::cast_slice(&pixels)[..32 * SIDE * SIDE].to_vec();
        let labels = t
            .data
            .labels
            .as_ref()
            .map(|l| t.gpu.read_u32_blocking(l).unwrap()[..32].to_vec())
            .unwrap_or_default();
        let mut cpu = CpuGan::new(t.config, to_cpu(&t, t.g()), to_cpu(&t, t.d()));
        let before = to_cpu(&t, t.d());
        let want = cpu.step(&dataset, SIDE * SIDE, &labels);
        t.train(1).unwrap();
        let got = pollster::block_on(t.read_stats()).unwrap();
        let name = format!("classes={classes}");
        assert_close(
            &format!("{name}: D loss"),
            &[got.d_loss as f64],
            &[want.d_loss],
            2e-5,
            2e-3,
        );
        assert_close(
            &format!("{name}: G loss"),
            &[got.g_loss as f64],
            &[want.g_loss],
            2e-5,
            2e-3,
        );
        let ema = (t.g_ema().unwrap(), cpu.g_ema.as_ref().unwrap());
        for (net, cpu_net, which) in [
            (t.g(), &cpu.g, "G"),
            (t.d(), &cpu.d, "D"),
            (ema.0, ema.1, "G_ema"),
        ] {
            let gpu_net = to_cpu(&t, net);
            let listed = names(net);
            let tensors = gpu_net
                .params
                .iter()
                .flatten()
                .zip(cpu_net.params.iter().flatten());
            for (tensor, (g, w)) in listed.iter().zip(tensors) {
                let what = format!("{name}: {which} {}", tensor);
                assert_close(&what, g, w, 2e-5, 2e-3);
            }
            for (i, (g, w)) in gpu_net.running.iter().zip(&cpu_net.running).enumerate() {
                if let (Some(g), Some(w)) = (g, w) {
                    assert_close(&format!("{name}: {which} running {i}"), g, w, 2e-5, 2e-3);
                }
            }
        }
        // The step moved every part of D, attention and spectral norm's u included.
        let after = to_cpu(&t, t.d());
        let listed = names(t.d());
        let tensors = after
            .params
            .iter()
            .flatten()
            .zip(before.params.iter().flatten());
        for (tensor, (a, b)) in listed.iter().zip(tensors) {
            // The hinge's gradient for the score's bias is the fraction of fakes inside the
            // margin less that of reals: 1 − 1 = 0 while D is still unsure of every image.
            if tensor == "last.0.bias" {
                continue;
            }
            assert!(a != b, "{name}: D's {} did not move", tensor);
        }
        // G_ema's u and v are G's, not an average of them.
        let (g, avg) = (to_cpu(&t, t.g()), to_cpu(&t, ema.0));
        let listed = names(t.g());
        let tensors = g.params.iter().flatten().zip(avg.params.iter().flatten());
        let mut copied = 0;
        for (tensor, (p, a)) in listed.iter().zip(tensors) {
            if tensor.ends_with("weight_u") || tensor.ends_with("weight_v") {
                assert_eq!(p, a, "{name}: G_ema's {}", tensor);
                copied += 1;
            }
        }
        assert_eq!(copied, 6, "u and v of G's three normalised layers");
    }
}

/// The page's attention view: for a pixel of a sample, the weights its position in G's last
/// attention map gives every position, as the CPU reference's eval forward computes them,
/// summing to 1; pixels outside the image and a model without attention are refused.
#[test]
fn the_attention_view_reads_gs_last_map_at_the_chosen_pixel() {
    let t = small_sagan(2);
    open_attention(&t, t.g_ema().unwrap(), 0.5);
    let z: Vec<f32> = (0..16).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let view = pollster::block_on(t.attention_at(&z, Some(1), 21, 6)).unwrap();
    assert_eq!(view.block, "attn2");
    // sagan32's G attends last on its 16×16 map: pixel (21, 6) of 32 is position (10, 3).
    assert_eq!((view.side, view.query), (16, (10, 3)));
    assert_eq!(view.weights.len(), 256);
    let sum: f64 = view.weights.iter().map(|&w| w as f64).sum();
    assert!((sum - 1.0).abs() < 1e-4, "the weights sum to {sum}");

    let mut cpu = to_cpu(&t, t.g_ema().unwrap());
    // G's input: z, then class 1 one-hot (of 2); a batch of one.
    let input: Vec<f64> = z.iter().map(|&v| v as f64).chain([0.0, 1.0]).collect();
    let acts = cpu.forward_all(&[&input], 1, false, false);
    let node = cpu
        .arch
        .nodes
        .iter()
        .position(|n| n.name == "attn2.map")
        .unwrap();
    let map = &acts.values[cpu.arch.output_of(node).0];
    let row = (3 * 16 + 10) * 256;
    let want = &map[row..row + 256];
    let got: Vec<f64> = view.weights.iter().map(|&w| w as f64).collect();
    assert_close("attention weights", &got, want, 1e-6, 1e-3);
    let image: Vec<f64> = view.image.iter().map(|&v| v as f64).collect();
    let out = &acts.values[cpu.arch.outputs[0].0];
    assert_close("the sample", &image, out, 1e-5, 1e-3);

    let e = pollster::block_on(t.attention_at(&z, Some(1), 32, 0)).unwrap_err();
    assert!(e.to_string().contains("outside the 32×32 image"), "{e}");
    let e = pollster::block_on(t.attention_at(&z, None, 1, 1)).unwrap_err();
    assert!(e.to_string().contains("choose one"), "{e}");
}

/// sagan64's last attention map takes 4 MiB per image, so 40 samples (160 MiB) do not fit one
/// binding: the sampler runs G in chunks and copies each chunk's images into place, giving
/// what G gives each image alone.
#[test]
fn samples_beyond_one_attention_binding_are_drawn_in_chunks() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let config = TrainConfig {
        model: ModelConfig {
            nz: 8,
            ngf: 8,
            ndf: 8,
            channels: 1,
            ..ModelConfig::new(Preset::Sagan64)
        },
        batch: 2,
        ..TrainConfig::new(Preset::Sagan64)
    };
    let data = GpuDataset::upload(&gpu, &vec![0u8; 4 * 64 * 64], 64 * 64).unwrap();
    let t = Trainer::new(gpu, config, data).unwrap();
    open_attention(&t, t.g(), 0.8);
    let z: Vec<f32> = (0..40 * 8)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let all = pollster::block_on(t.sampler(&z, &[]).unwrap().images(&t.gpu)).unwrap();
    let len = 64 * 64;
    assert_eq!(all.len(), 40 * len);
    for i in [0, 19, 20, 39] {
        let one = pollster::block_on(
            t.sampler(&z[i * 8..(i + 1) * 8], &[])
                .unwrap()
                .images(&t.gpu),
        )
        .unwrap();
        let got: Vec<f64> = all[i * len..(i + 1) * len]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let want: Vec<f64> = one.iter().map(|&v| v as f64).collect();
        assert_close(&format!("sample {i}"), &got, &want, 1e-6, 1e-5);
    }
}

/// A conditional SAGAN saved before the paper's form (batch norm with its own γ and β, the
/// classes appended to z and D's input) is refused in a sentence that says why, not as a
/// tensor of the wrong shape.
#[test]
fn a_conditional_sagan_of_the_earlier_form_is_refused_in_a_sentence() {
    use webgan::checkpoint::{Checkpoint, Tensor};
    let t = small_sagan(2);
    let saved = pollster::block_on(t.save()).unwrap();
    let mut old = Checkpoint::from_bytes(&saved).unwrap();
    for net in ["netG", "netG_ema"] {
        let c = old.tensors[&format!("{net}.l1.1.embed.weight")].shape[1] / 2;
        old.tensors.remove(&format!("{net}.l1.1.embed.weight"));
        for part in ["weight", "bias"] {
            let tensor = Tensor::new(vec![c], vec![1.0; c]).unwrap();
            old.tensors.insert(format!("{net}.l1.1.{part}"), tensor);
        }
    }
    let data = squares(&t.gpu, 32);
    let e = Trainer::resume(t.gpu.clone(), &old.to_bytes().unwrap(), data)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("conditional SAGAN from an earlier webgan"),
        "{e}"
    );
    // The checkpoint as saved resumes.
    Trainer::resume(t.gpu.clone(), &saved, squares(&t.gpu, 32)).expect("resumes");
}

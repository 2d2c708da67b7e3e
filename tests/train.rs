//! The alternating step on a small model: it runs, stays finite, and each half leaves the other
//! network exactly as it was.

use crate::common;

use std::sync::Arc;

use common::*;
use webgan::graph::program::Param;
use webgan::model::presets::{ModelConfig, Preset};
use webgan::train::{GpuDataset, TrainConfig, Trainer};

/// A small dcgan28 (widths 8, latent 16, batch 8) on `count` synthetic 28×28 images: a bright
/// square at a random place on black.
fn small_trainer(count: usize) -> Trainer {
    small_trainer_with(count, |_| {})
}

/// `count` synthetic 28×28 images in two classes.
fn toy_dataset(gpu: &webgan::Gpu, count: usize) -> GpuDataset {
    let mut rng = Rng::new(11);
    let mut pixels = vec![0u8; count * 784];
    // Two classes: the square in the left half (0) or the right half (1).
    let mut labels = Vec::with_capacity(count);
    for img in pixels.chunks_mut(784) {
        let (y, x) = (rng.below(20) as usize, rng.below(20) as usize);
        for r in y..y + 8 {
            img[r * 28 + x..r * 28 + x + 8].fill(255);
        }
        labels.push((x >= 10) as u32);
    }
    GpuDataset::upload_labelled(gpu, &pixels, 784, &labels, 2).unwrap()
}

fn small_trainer_with(count: usize, adjust: impl FnOnce(&mut TrainConfig)) -> Trainer {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let dataset = toy_dataset(&gpu, count);
    let mut config = TrainConfig {
        model: ModelConfig {
            nz: 16,
            ngf: 8,
            ndf: 8,
            ..ModelConfig::new(Preset::Dcgan28)
        },
        batch: 8,
        ..TrainConfig::new(Preset::Dcgan28)
    };
    adjust(&mut config);
    Trainer::new(gpu, config, dataset).unwrap()
}

/// Every parameter's value and optimizer state, as raw bits.
fn snapshot<'a>(t: &Trainer, params: impl Iterator<Item = &'a Param>) -> Vec<Vec<u32>> {
    params
        .flat_map(|p| [&p.value, &p.state[0], &p.state[1]])
        .map(|b| t.gpu.read_u32_blocking(b).unwrap())
        .collect()
}

fn running_stats(t: &Trainer, net: &webgan::graph::program::Net) -> Vec<Vec<u32>> {
    net.running
        .iter()
        .flatten()
        .map(|b| t.gpu.read_u32_blocking(b).unwrap())
        .collect()
}

#[test]
fn the_discriminator_step_leaves_the_generator_untouched() {
    let t = small_trainer(64);
    let g_before = snapshot(&t, t.g().all_params());
    let d_before = snapshot(&t, t.d().all_params());
    t.train_discriminator();
    assert_eq!(
        snapshot(&t, t.g().all_params()),
        g_before,
        "G's parameters or optimizer state changed in D's step"
    );
    assert_ne!(
        snapshot(&t, t.d().all_params()),
        d_before,
        "D's step did not change D"
    );
}

#[test]
fn the_generator_step_leaves_the_discriminator_untouched() {
    let t = small_trainer(64);
    let d_before = snapshot(&t, t.d().all_params());
    let d_running = running_stats(&t, t.d());
    let g_before = snapshot(&t, t.g().all_params());
    t.train_generator();
    assert_eq!(
        snapshot(&t, t.d().all_params()),
        d_before,
        "D's parameters or optimizer state changed in G's step"
    );
    assert_eq!(
        running_stats(&t, t.d()),
        d_running,
        "D's running statistics changed in G's step"
    );
    assert_ne!(
        snapshot(&t, t.g().all_params()),
        g_before,
        "G's step did not change G"
    );
}

#[test]
fn training_steps_give_finite_sensible_stats() {
    let mut t = small_trainer(64);
    t.train(3).unwrap();
    let s = pollster::block_on(t.read_stats()).unwrap();
    assert_eq!(s.step, 3);
    assert!(s.is_finite(), "{s:?}");
    // At the start D is near chance: BCE of each half near ln 2, D(x) and D(G(z)) near 0.5.
    assert!(s.d_loss > 0.5 && s.d_loss < 3.0, "{s:?}");
    assert!(s.g_loss > 0.1 && s.g_loss < 5.0, "{s:?}");
    for p in [
        s.d_real,
        s.d_fake_before,
        s.d_fake_after,
        s.accuracy_real,
        s.accuracy_fake,
    ] {
        assert!((0.0..=1.0).contains(&p), "{s:?}");
    }
}

fn to_cpu(t: &Trainer, net: &webgan::graph::program::Net) -> webgan::reference::graph::CpuNet {
    pollster::block_on(net.to_cpu(&t.gpu)).unwrap()
}

/// One alternating step on the GPU against the CPU reference step from the same starting
/// weights: the same batch and noise (Philox on both), losses and every updated parameter.
///
/// Tolerance: f32 sums over up to ~400 terms on the GPU against f64, through batch norm over
/// 8 samples (which divides by a batch standard deviation): atol 2e-5 + rtol 2e-3 on the
/// losses and on weights that SGD moved by lr × gradient.
#[test]
fn a_training_step_matches_the_cpu_reference() {
    use webgan::train::{Augmentations, GanLoss};
    // DiffAugment's policies: the paper's, one without color, and none.
    let paper = "color,translation,cutout";
    // WGAN-GP and R1 penalise D's input gradient: their D has no batch norm, and the
    // penalty's second pass adds to D's gradients before its update.
    for (loss, d_steps, classes, augment, r1) in [
        (GanLoss::Bce, 1, 0, "", None),
        (GanLoss::Wgan, 2, 0, "", None),
        (GanLoss::Hinge, 1, 0, "translation,cutout", None),
        (GanLoss::Minimax, 1, 0, "", None),
        (GanLoss::Bce, 2, 2, "", None),
        (GanLoss::Bce, 1, 0, paper, None),
        (GanLoss::Bce, 2, 2, paper, None),
        (GanLoss::WganGp, 2, 0, "", None),
        (GanLoss::WganGp, 1, 2, paper, None),
        (GanLoss::Bce, 1, 2, "", Some(5.0)),
        (GanLoss::Hinge, 2, 0, "translation", Some(0.5)),
    ] {
        let name =
            format!("{loss:?}, k={d_steps}, classes={classes}, augment={augment}, r1={r1:?}");
        assert_step_matches_twin(&name, |c| {
            c.augment = Augmentations::parse(augment).unwrap();
            c.model.classes = classes;
            c.loss = loss;
            c.r1 = r1;
            c.d_steps = d_steps;
        });
    }
}

/// InfoGAN's step (its Q head's loss in D's and G's updates, codes drawn on the GPU) against
/// the CPU twin, with each kind of code alone and both, and its stats.
#[test]
fn an_infogan_step_matches_the_cpu_reference() {
    use webgan::model::infogan::Codes;
    for (categorical, continuous, weight) in [(10, 2, 1.0), (3, 0, 0.5), (0, 3, 2.0)] {
        let name = format!("infogan28, codes {categorical}/{continuous}, λ {weight}");
        assert_step_matches_twin(&name, |c| {
            c.model = ModelConfig {
                nz: 6,
                ngf: 4,
                ndf: 4,
                codes: Codes {
                    categorical,
                    continuous,
                },
                ..ModelConfig::new(Preset::Infogan28)
            };
            c.prior = webgan::train::Prior::Uniform;
            c.info_reg_coeff = weight;
        });
    }
}

/// Lazy R1: over two steps of k = 2, the penalty in D updates 0 and 3 only (every third), at
/// three times its weight, as the twin does it. γ is large so that the penalty moves D by
/// more than the tolerance: recording it in every update fails this test.
#[test]
fn lazy_r1_matches_the_cpu_reference() {
    use webgan::train::GanLoss;
    assert_steps_match_twin("lazy R1 every 3", 2, |c| {
        c.loss = GanLoss::Bce;
        c.r1 = Some(500.0);
        c.r1_every = 3;
        c.d_steps = 2;
    });
}

/// One step of a small trainer adjusted by `adjust` (label smoothing 0.1, G_ema 0.9 and SGD
/// with momentum on top) against the CPU twin from the same weights.
fn assert_step_matches_twin(name: &str, adjust: impl FnOnce(&mut TrainConfig)) {
    assert_steps_match_twin(name, 1, adjust)
}

/// [`assert_step_matches_twin`] over `steps` steps in one burst.
fn assert_steps_match_twin(name: &str, steps: u32, adjust: impl FnOnce(&mut TrainConfig)) {
    use webgan::kernels::optim::SgdConfig;
    use webgan::train::Optimizer;
    {
        let mut t = small_trainer_with(64, |c| {
            adjust(c);
            c.label_smoothing = 0.1;
            c.ema = Some(0.9);
            c.d_optimizer = Optimizer::Sgd(SgdConfig {
                lr: 0.1,
                momentum: 0.5,
                weight_decay: 0.0,
            });
            c.g_optimizer = Optimizer::Sgd(SgdConfig {
                lr: 0.1,
                momentum: 0.5,
                weight_decay: 0.0,
            });
        });
        let pixels = t.gpu.read_u32_blocking(&t.data.pixels).unwrap();
        let dataset: Vec<u8> = bytemuck::cast_slice(&pixels)[..64 * 784].to_vec();
        let mut cpu =
            webgan::reference::gan::CpuGan::new(t.config, to_cpu(&t, t.g()), to_cpu(&t, t.d()));
        let labels = t
            .data
            .labels
            .as_ref()
            .map(|l| t.gpu.read_u32_blocking(l).unwrap()[..64].to_vec())
            .unwrap_or_default();
        let want = (0..steps)
            .map(|_| cpu.step(&dataset, 784, &labels))
            .last()
            .expect("a step");
        t.train(steps).unwrap();
        let got = pollster::block_on(t.read_stats()).unwrap();
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
        match (got.info, want.info) {
            (None, None) => {}
            (Some(got), Some(want)) => assert_close(
                &format!("{name}: Q's losses"),
                &[got.0 as f64, got.1 as f64],
                &[want.0, want.1],
                2e-5,
                2e-3,
            ),
            other => panic!("{name}: Q's losses {other:?}"),
        }
        let ema = (
            t.g_ema().expect("asked for"),
            cpu.g_ema.as_ref().expect("asked for"),
        );
        for (net, cpu_net, which) in [
            (t.g(), &cpu.g, "G"),
            (t.d(), &cpu.d, "D"),
            (ema.0, ema.1, "G_ema"),
        ] {
            let gpu_net = to_cpu(&t, net);
            for (i, (got, want)) in gpu_net.params.iter().zip(&cpu_net.params).enumerate() {
                for (j, (g, w)) in got.iter().zip(want).enumerate() {
                    assert_close(
                        &format!("{name}: {which} layer {i} param {j}"),
                        g,
                        w,
                        2e-5,
                        2e-3,
                    );
                }
            }
            for (i, (g, w)) in gpu_net.running.iter().zip(&cpu_net.running).enumerate() {
                if let (Some(g), Some(w)) = (g, w) {
                    assert_close(
                        &format!("{name}: {which} layer {i} running stats"),
                        g,
                        w,
                        2e-5,
                        2e-3,
                    );
                }
            }
        }
    }
}

/// The sample grid runs G in eval mode: after training has moved the running statistics, its
/// images must be the CPU reference's eval forward with those statistics (a sampler that
/// normalised with anything else, e.g. a fresh buffer, drew saturated, speckled digits).
#[test]
fn samples_use_the_running_statistics_training_left() {
    use webgan::reference::condition;
    for classes in [0, 2] {
        let mut t = small_trainer_with(64, |c| c.model.classes = classes);
        t.train(3).unwrap();
        let nz = t.config.model.nz;
        let n = 5u32;
        let z = webgan::reference::random::normal(4, 0, 0, (n * nz) as usize);
        let labels: Vec<u32> = (0..n).filter(|_| classes > 0).map(|i| i % 2).collect();
        let got = pollster::block_on(t.sampler(&z, &labels).unwrap().images(&t.gpu)).unwrap();

        let mut cpu = to_cpu(&t, t.g());
        // [mean; var; updates] start at zeros, ones and 0.
        let moved = cpu.running.iter().flatten().all(|r| {
            let c = (r.len() - 1) / 2;
            let (mean, var) = (&r[..c], &r[c..2 * c]);
            mean.iter().any(|v| v.abs() > 1e-3) && var.iter().any(|v| (v - 1.0).abs() > 1e-3)
        });
        assert!(
            moved,
            "training left the running statistics where they started"
        );
        let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        let input = condition::latent(&z64, nz, classes, &labels);
        let (want, _) = cpu.forward(&input, n, false, false);
        assert_close(
            &format!("classes={classes}: sampled images"),
            &got.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            &want,
            1e-4,
            1e-3,
        );
    }
}

/// Every parameter, optimizer state and running statistic as raw bits.
fn everything(t: &Trainer) -> Vec<Vec<u32>> {
    let mut v = snapshot(t, t.params());
    v.extend(running_stats(t, t.g()));
    v.extend(running_stats(t, t.d()));
    if let Some(ema) = t.g_ema() {
        v.extend(snapshot(t, ema.all_params()));
        v.extend(running_stats(t, ema));
    }
    v.push(t.gpu.read_u32_blocking(t.counters()).unwrap());
    v
}

#[test]
fn a_resumed_run_continues_exactly_where_it_stopped() {
    for (classes, ema) in [(0, None), (2, None), (0, Some(0.9))] {
        let mut straight = small_trainer_with(64, |c| {
            c.model.classes = classes;
            c.ema = ema;
        });
        straight.train(2).unwrap();
        let saved = pollster::block_on(straight.save()).unwrap();
        straight.train(2).unwrap();

        let dataset = toy_dataset(&straight.gpu, 64);
        let mut resumed = Trainer::resume(straight.gpu.clone(), &saved, dataset).unwrap();
        assert_eq!(resumed.step, 2);
        resumed.train(2).unwrap();
        assert_eq!(
            everything(&resumed),
            everything(&straight),
            "classes={classes}, ema={ema:?}: the resumed run drifted"
        );
        let (a, b) = (
            pollster::block_on(resumed.read_stats()).unwrap(),
            pollster::block_on(straight.read_stats()).unwrap(),
        );
        assert_eq!(a, b);
    }
}

#[test]
fn damaged_and_foreign_checkpoints_are_refused_clearly() {
    let t = small_trainer(16);
    let saved = pollster::block_on(t.save()).unwrap();
    let new_dataset = || GpuDataset::upload(&t.gpu, &[0; 784], 784).unwrap();
    let err = |bytes: &[u8]| {
        Trainer::resume(t.gpu.clone(), bytes, new_dataset())
            .err()
            .expect("must be refused")
            .to_string()
    };
    assert!(
        err(&saved[..saved.len() / 2]).contains("checkpoint"),
        "{}",
        err(&saved[..saved.len() / 2])
    );
    assert!(err(b"not a checkpoint at all").contains("checkpoint"));
    let mut foreign = webgan::checkpoint::Checkpoint::new();
    foreign.tensors.insert(
        "w".into(),
        webgan::checkpoint::Tensor::new(vec![1], vec![1.0]).unwrap(),
    );
    assert!(err(&foreign.to_bytes().unwrap()).contains("not a webgan checkpoint"));
    // A 32×32 RGB dataset cannot continue a dcgan28 run.
    let rgb = GpuDataset::upload(&t.gpu, &[0; 3072], 3072).unwrap();
    let msg = Trainer::resume(t.gpu.clone(), &saved, rgb)
        .err()
        .expect("wrong dataset")
        .to_string();
    assert!(msg.contains("dcgan28"), "{msg}");
}

/// num_batches_tracked counts train-mode forwards as PyTorch does (G: k + 1 per step, D: 2k),
/// from the count the GPU keeps; a checkpoint without it resumes with its statistics kept, and
/// one with a malformed count is refused by name.
#[test]
fn batch_norm_counts_are_saved_as_num_batches_tracked() {
    use webgan::checkpoint::{Checkpoint, Tensor};
    let mut t = small_trainer_with(64, |c| c.d_steps = 2);
    t.train(3).unwrap();
    let mut ck = Checkpoint::from_bytes(&pollster::block_on(t.save()).unwrap()).unwrap();
    let count = |ck: &Checkpoint, name: &str| ck.get_int(name, &[]).unwrap()[0];
    assert_eq!(count(&ck, "netG.main.1.num_batches_tracked"), 3 * 3);
    assert_eq!(count(&ck, "netD.main.3.num_batches_tracked"), 2 * 2 * 3);

    let names: Vec<String> = ck
        .integers
        .keys()
        .filter(|k| k.ends_with("num_batches_tracked"))
        .cloned()
        .collect();
    let mut bare = ck.clone();
    for name in &names {
        bare.integers.remove(name);
    }
    let dataset = || toy_dataset(&t.gpu, 64);
    let resumed = Trainer::resume(t.gpu.clone(), &bare.to_bytes().unwrap(), dataset()).unwrap();
    assert_eq!(
        running_stats(&resumed, resumed.g()).len(),
        running_stats(&t, t.g()).len()
    );
    for (got, want) in running_stats(&resumed, resumed.g())
        .iter()
        .zip(running_stats(&t, t.g()))
    {
        let n = got.len();
        assert_eq!(got[..n - 1], want[..n - 1], "statistics kept");
        assert_eq!(
            f32::from_bits(got[n - 1]),
            (1 << 24) as f32,
            "taken as settled"
        );
    }

    ck.integers.remove(&names[0]);
    ck.tensors
        .insert(names[0].clone(), Tensor::new(vec![], vec![1.0]).unwrap());
    let msg = Trainer::resume(t.gpu.clone(), &ck.to_bytes().unwrap(), dataset())
        .err()
        .expect("a float count is refused")
        .to_string();
    assert!(msg.contains("num_batches_tracked"), "{msg}");
}

#[test]
fn dcgan64_checkpoints_use_the_names_and_shapes_of_pytorch_examples_dcgan() {
    let gpu = Arc::new(webgan::Gpu::new_blocking().unwrap());
    let config = TrainConfig {
        model: ModelConfig {
            ngf: 4,
            ndf: 4,
            nz: 10,
            ..ModelConfig::new(Preset::Dcgan64)
        },
        batch: 2,
        ..TrainConfig::new(Preset::Dcgan64)
    };
    let dataset = GpuDataset::upload(&gpu, &vec![0; 2 * 64 * 64 * 3], 64 * 64 * 3).unwrap();
    let t = Trainer::new(gpu, config, dataset).unwrap();
    let ck =
        webgan::checkpoint::Checkpoint::from_bytes(&pollster::block_on(t.save()).unwrap()).unwrap();
    let (nz, ngf, ndf, nc) = (10, 4, 4, 3);
    let bn = |net: &str, i: usize, c: usize| {
        ["weight", "bias", "running_mean", "running_var"]
            .map(|s| (format!("{net}.main.{i}.{s}"), vec![c]))
    };
    let mut want: Vec<(String, Vec<usize>)> = vec![
        ("netG.main.0.weight".into(), vec![nz, ngf * 8, 4, 4]),
        ("netG.main.3.weight".into(), vec![ngf * 8, ngf * 4, 4, 4]),
        ("netG.main.6.weight".into(), vec![ngf * 4, ngf * 2, 4, 4]),
        ("netG.main.9.weight".into(), vec![ngf * 2, ngf, 4, 4]),
        ("netG.main.12.weight".into(), vec![ngf, nc, 4, 4]),
        ("netD.main.0.weight".into(), vec![ndf, nc, 4, 4]),
        ("netD.main.2.weight".into(), vec![ndf * 2, ndf, 4, 4]),
        ("netD.main.5.weight".into(), vec![ndf * 4, ndf * 2, 4, 4]),
        ("netD.main.8.weight".into(), vec![ndf * 8, ndf * 4, 4, 4]),
        ("netD.main.11.weight".into(), vec![1, ndf * 8, 4, 4]),
    ];
    for (net, i, c) in [
        ("netG", 1, ngf * 8),
        ("netG", 4, ngf * 4),
        ("netG", 7, ngf * 2),
        ("netG", 10, ngf),
        ("netD", 3, ndf * 2),
        ("netD", 6, ndf * 4),
        ("netD", 9, ndf * 8),
    ] {
        want.extend(bn(net, i, c));
        assert!(ck
            .integers
            .contains_key(&format!("{net}.main.{i}.num_batches_tracked")));
    }
    want.sort();
    let got: Vec<(String, Vec<usize>)> = ck
        .tensors
        .iter()
        .filter(|(k, _)| k.starts_with("net"))
        .map(|(k, v)| (k.clone(), v.shape.clone()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_diverged_state_is_never_checkpointed() {
    let mut t = small_trainer(64);
    t.train(1).unwrap();
    let good = pollster::block_on(t.save()).expect("finite weights save");
    // A NaN left in D's weights by an update, behind losses that were still finite.
    let p = t.d().all_params().nth(1).expect("D has parameters");
    t.gpu
        .queue
        .write_buffer(&p.value, 4, bytemuck::bytes_of(&f32::NAN));
    let err = pollster::block_on(t.save()).expect_err("a NaN weight must not be saved");
    let text = err.to_string();
    assert!(
        text.contains("diverged by step 1") && text.contains("netD."),
        "{text}"
    );
    // The last good checkpoint still resumes and trains to finite stats.
    let mut back = Trainer::resume(t.gpu.clone(), &good, toy_dataset(&t.gpu, 64)).unwrap();
    back.train(1).unwrap();
    assert!(pollster::block_on(back.read_stats()).unwrap().is_finite());
}

/// With a moving average, the checkpoint holds it as `netG_ema` (weights and running
/// statistics, no optimizer state), and samples (the trainer's and a checkpoint's) come from it.
#[test]
fn the_moving_average_is_checkpointed_and_sampled() {
    let mut t = small_trainer_with(64, |c| c.ema = Some(0.5));
    t.train(3).unwrap();
    let ema = t.g_ema().expect("asked for");
    // The trainer's own device: buffers belong to the device that made them.
    let download = |b: &wgpu::Buffer, n: usize| t.gpu.read_f32_blocking(b).unwrap()[..n].to_vec();
    let g_first = download(&t.g().params[0][0].value, 16);
    let ema_first = download(&ema.params[0][0].value, 16);
    assert_ne!(g_first, ema_first, "after 3 steps the average lags G");

    let saved = pollster::block_on(t.save()).unwrap();
    let ck = webgan::checkpoint::Checkpoint::from_bytes(&saved).unwrap();
    assert!(ck.tensors.contains_key("netG_ema.main.0.weight"));
    assert!(ck.tensors.contains_key("netG_ema.main.1.running_mean"));
    assert!(!ck.tensors.keys().any(|k| k.starts_with("optim.netG_ema")));
    let (loaded, _) = Trainer::load_generator(&t.gpu, &saved).unwrap();
    assert_eq!(download(&loaded.params[0][0].value, 16), ema_first);

    let z = t.fixed_noise(4);
    let sampled = pollster::block_on(t.sampler(&z, &[]).unwrap().images(&t.gpu)).unwrap();
    let from_ema = webgan::train::sample::Sampler::new(&t.gpu, ema, &t.config, &z, &[]).unwrap();
    let from_g = webgan::train::sample::Sampler::new(&t.gpu, t.g(), &t.config, &z, &[]).unwrap();
    assert_eq!(
        sampled,
        pollster::block_on(from_ema.images(&t.gpu)).unwrap()
    );
    assert_ne!(sampled, pollster::block_on(from_g.images(&t.gpu)).unwrap());
}

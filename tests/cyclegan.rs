//! The CycleGAN recipe (two generators, two discriminators, adversarial + cycle + identity
//! losses, a generator output's gradient summed from a discriminator and the other generator)
//! against its CPU twin: four steps (the pools of past fakes filling and then drawn from),
//! every parameter of all four networks and every loss.
use crate::common;

use common::{assert_close, gpu};
use webgan::graph::ops::{BatchNorm2d, Conv2d, InstanceNorm2d, ReflectionPad2d};
use webgan::graph::{Graph, Layer, Shape3};
use webgan::kernels::activation::Activation;
use webgan::kernels::optim::SgdConfig;
use webgan::reference::cyclegan::CpuCycleGan;
use webgan::reference::graph::CpuNet;
use webgan::train::recipe::{self, Recipe};
use webgan::train::recipes::cyclegan::{CycleGan, CycleGanConfig, CycleGanNets};
use webgan::train::{GpuDataset, Optimizer};

const SIZE: u32 = 8;

fn conv(out_channels: u32, kernel: u32, stride: u32, padding: u32) -> Layer {
    Layer::Conv(Conv2d {
        out_channels,
        kernel,
        stride,
        padding,
        bias: true,
        spectral_norm: false,
    })
}

/// A small ResNet-style generator from `from` channels to `to`, images of SIZE².
fn generator(from: u32, to: u32) -> Graph {
    let layers = vec![
        Layer::ReflectionPad(ReflectionPad2d(1)),
        conv(4, 3, 1, 0),
        Layer::InstanceNorm(InstanceNorm2d { affine: false }),
        Layer::Activation(Activation::Relu),
        conv(to, 3, 1, 1),
        Layer::Activation(Activation::Tanh),
    ];
    Graph::sequential("model", Shape3::new(from, SIZE, SIZE), layers).unwrap()
}

/// `generator` with a residual-style 3×3 conv of 32 channels to 32 in the middle, wide
/// enough for the engine's Winograd path (forward, input and weight gradients), as the
/// reference's residual blocks are.
fn wide_generator(from: u32, to: u32) -> Graph {
    let layers = vec![
        Layer::ReflectionPad(ReflectionPad2d(1)),
        conv(32, 3, 1, 0),
        Layer::InstanceNorm(InstanceNorm2d { affine: false }),
        Layer::Activation(Activation::Relu),
        Layer::ReflectionPad(ReflectionPad2d(1)),
        conv(32, 3, 1, 0),
        Layer::InstanceNorm(InstanceNorm2d { affine: false }),
        Layer::Activation(Activation::Relu),
        conv(to, 3, 1, 1),
        Layer::Activation(Activation::Tanh),
    ];
    Graph::sequential("model", Shape3::new(from, SIZE, SIZE), layers).unwrap()
}

/// `generator` with batch norm (the reference's `--norm batch`): its statistics span the
/// batch, so each use of it runs as a pass of its own, not stacked with the others.
fn batch_norm_generator(from: u32, to: u32) -> Graph {
    let layers = vec![
        Layer::ReflectionPad(ReflectionPad2d(1)),
        conv(4, 3, 1, 0),
        Layer::BatchNorm(BatchNorm2d { affine: true }),
        Layer::Activation(Activation::Relu),
        conv(to, 3, 1, 1),
        Layer::Activation(Activation::Tanh),
    ];
    Graph::sequential("model", Shape3::new(from, SIZE, SIZE), layers).unwrap()
}

/// A small PatchGAN: a 4×4 map of logits.
fn discriminator(channels: u32) -> Graph {
    let layers = vec![
        conv(4, 4, 2, 1),
        Layer::Activation(Activation::LeakyRelu(0.2)),
        conv(1, 3, 1, 1),
    ];
    Graph::sequential("model", Shape3::new(channels, SIZE, SIZE), layers).unwrap()
}

/// `discriminator` with batch norm: real and fake images each make their own statistics, so
/// D's step runs them as two passes.
fn batch_norm_discriminator(channels: u32) -> Graph {
    let layers = vec![
        conv(4, 4, 2, 1),
        Layer::BatchNorm(BatchNorm2d { affine: true }),
        Layer::Activation(Activation::LeakyRelu(0.2)),
        conv(1, 3, 1, 1),
    ];
    Graph::sequential("model", Shape3::new(channels, SIZE, SIZE), layers).unwrap()
}

fn bytes(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

fn to_cpu(net: &webgan::graph::program::Net) -> CpuNet {
    pollster::block_on(net.to_cpu(gpu())).expect("readback")
}

fn run(recipe: &dyn Recipe) {
    let mut encoder = gpu().device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        // CycleGAN has no lazy phase: every step records alike.
        recipe::record(recipe, None, 0, &mut pass);
    }
    gpu().queue.submit([encoder.finish()]);
}

#[test]
fn four_cyclegan_steps_match_the_cpu_twin() {
    // Colour to colour with the identity loss, as the reference's default.
    twin_steps(3, 3, 0.5, 0, 3, generator, discriminator);
}

#[test]
fn four_steps_through_winograd_convolutions_match_the_cpu_twin() {
    twin_steps(3, 3, 0.5, 0, 3, wide_generator, discriminator);
}

#[test]
fn four_steps_of_batch_norm_networks_one_pass_a_use_match_the_cpu_twin() {
    assert!(!batch_norm_generator(3, 3).samples_independent());
    assert!(!batch_norm_discriminator(3).samples_independent());
    twin_steps(
        3,
        3,
        0.5,
        0,
        3,
        batch_norm_generator,
        batch_norm_discriminator,
    );
}

#[test]
fn four_steps_gray_to_colour_without_identity_match_the_cpu_twin() {
    // Gray A and colour B: G_A makes 3 channels of 1, G_B 1 of 3.
    twin_steps(1, 3, 0.0, 0, 3, generator, discriminator);
}

#[test]
fn random_crops_and_a_pool_of_one_match_the_cpu_twin() {
    // Loaded at 11 and cropped to 8; a pool of one at batch 2: the second image of a batch
    // can take the slot the first just filled.
    twin_steps(3, 1, 0.0, 11, 1, generator, discriminator);
}

fn twin_steps(
    a_channels: u32,
    b_channels: u32,
    lambda_identity: f32,
    load: u32,
    pool: u32,
    generator: fn(u32, u32) -> Graph,
    discriminator: fn(u32) -> Graph,
) {
    let side = if load == 0 { SIZE } else { load };
    let (a_len, b_len) = (
        (a_channels * side * side) as usize,
        (b_channels * side * side) as usize,
    );
    let a = bytes(5 * a_len, 1);
    let b = bytes(7 * b_len, 2);
    let data_a = GpuDataset::upload(gpu(), &a, a_len).unwrap();
    let data_b = GpuDataset::upload(gpu(), &b, b_len).unwrap();
    // SGD with a large rate moves every weight visibly; Adam's first steps are ±lr·sign(g),
    // which rounding can flip where a gradient is near zero.
    let sgd = Optimizer::Sgd(SgdConfig {
        lr: 0.1,
        momentum: 0.5,
        weight_decay: 0.0,
    });
    // A pool of 3 at batch 2 fills during the second step: from then on D sees past fakes.
    let config = CycleGanConfig {
        batch: 2,
        lambda_identity,
        g_optimizer: sgd,
        d_optimizer: sgd,
        pool_size: pool,
        load_size: load,
        ..CycleGanConfig::new()
    };
    let nets = CycleGanNets {
        g_a: generator(a_channels, b_channels),
        g_b: generator(b_channels, a_channels),
        d_a: discriminator(b_channels),
        d_b: discriminator(a_channels),
    };
    let cg = CycleGan::new(gpu(), &config, nets, [&data_a, &data_b]).expect("the recipe");
    // Stacked where both networks of a kind allow it (batch 2 a use here), one pass a use
    // where batch norm ties a batch's images together.
    let stacks = (
        generator(1, 1).samples_independent(),
        discriminator(1).samples_independent(),
    );
    let want = match (stacks, lambda_identity > 0.0) {
        ((true, _), true) => vec![4, 6, 2],
        ((true, _), false) => vec![2, 4, 2],
        ((false, _), true) => vec![2; 6],
        ((false, _), false) => vec![2; 4],
    };
    assert_eq!(cg.pass_batches().0, want, "the generators' passes");
    let want = if stacks.1 { vec![4, 4] } else { vec![2; 4] };
    assert_eq!(cg.pass_batches().1, want, "the discriminators' passes");
    let mut twin = CpuCycleGan::new(
        config,
        [
            to_cpu(&cg.g_a),
            to_cpu(&cg.g_b),
            to_cpu(&cg.d_a),
            to_cpu(&cg.d_b),
        ],
    );
    // Each step starts the twin from the GPU's weights. Over several steps the two would
    // drift apart by more than rounding: a training step is not continuous in the weights
    // (L1's sign, ReLU's kink), and a perturbation of 3·10⁻⁷ of the twin's own weights moved
    // its third step's G weights by 90 times this tolerance. Reset each step, the tolerance
    // holds one step's error, and the pools, momenta and counters still carry on.
    for step in 1..=4 {
        for (twin, gpu_net) in [
            (&mut twin.g_a, &cg.g_a),
            (&mut twin.g_b, &cg.g_b),
            (&mut twin.d_a, &cg.d_a),
            (&mut twin.d_b, &cg.d_b),
        ] {
            twin.params = to_cpu(gpu_net).params;
        }
        let want = twin.step(&a, &b);
        run(&cg);
        let values = gpu().read_f32_blocking(&cg.stats().buffer).unwrap();
        for ((name, got), (_, want)) in cg.losses(&values).into_iter().zip(want) {
            assert_close(
                &format!("step {step}: loss {name}"),
                &[got as f64],
                &[want],
                2e-5,
                2e-3,
            );
        }
        for (trained, cpu) in cg
            .nets()
            .iter()
            .zip([&twin.g_a, &twin.g_b, &twin.d_a, &twin.d_b])
        {
            let got = to_cpu(trained.net);
            for (node, (g, w)) in got.params.iter().zip(&cpu.params).enumerate() {
                for (k, (g, w)) in g.iter().zip(w).enumerate() {
                    let what = format!("step {step}: {} node {node} param {k}", trained.name);
                    assert_close(&what, g, w, 2e-5, 2e-3);
                }
            }
        }
    }
}

#[test]
fn cyclegan_refuses_networks_that_do_not_fit_together() {
    let data = GpuDataset::upload(gpu(), &bytes((SIZE * SIZE) as usize, 3), 64).unwrap();
    let nets = CycleGanNets {
        g_a: generator(1, 3),
        g_b: generator(1, 1),
        d_a: discriminator(3),
        d_b: discriminator(1),
    };
    let err = CycleGan::new(gpu(), &CycleGanConfig::new(), nets, [&data, &data])
        .err()
        .expect("G_A must map A to B's shape")
        .to_string();
    assert!(err.contains("CycleGAN's G_A's output"), "{err}");
    // The identity loss needs A and B of one shape, as the reference asserts.
    let colour = GpuDataset::upload(gpu(), &bytes(3 * (SIZE * SIZE) as usize, 4), 192).unwrap();
    let nets = CycleGanNets {
        g_a: generator(1, 3),
        g_b: generator(3, 1),
        d_a: discriminator(3),
        d_b: discriminator(1),
    };
    let err = CycleGan::new(gpu(), &CycleGanConfig::new(), nets, [&data, &colour])
        .err()
        .expect("no identity loss across shapes")
        .to_string();
    assert!(err.contains("lambda_identity to 0"), "{err}");
}

mod family {
    //! CycleGAN as the trainer drives it: the reference's networks from a `CycleGanRun`, the
    //! learning-rate schedule applied at the exact step, and a checkpoint that resumes
    //! bit for bit.
    use super::*;
    use webgan::train::recipes::cyclegan_run::{CycleGanRun, LinearDecay};
    use webgan::train::Trainer;

    /// A device of its own: trainers hold their GPU shared.
    fn gpu() -> std::sync::Arc<webgan::Gpu> {
        std::sync::Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"))
    }

    /// The reference's networks at their smallest: 8×8 images, widths 2, one residual block,
    /// a one-layer PatchGAN.
    fn tiny(a_channels: u32, b_channels: u32) -> CycleGanRun {
        let mut run = CycleGanRun::new(SIZE, a_channels, b_channels);
        run.ngf = 2;
        run.ndf = 2;
        run.n_blocks = 1;
        run.n_layers_d = 1;
        run.recipe.pool_size = 3;
        run.decay = LinearDecay {
            epoch_steps: 2,
            n_epochs: 1,
            n_epochs_decay: 2,
        };
        run
    }

    fn domains(gpu: &std::sync::Arc<webgan::Gpu>, run: &CycleGanRun) -> [GpuDataset; 2] {
        // The datasets hold their images at the load size, 9 for 8-pixel networks.
        let side = run.load_side();
        assert_eq!(side, 9);
        let len = |c: u32| (c * side * side) as usize;
        [
            GpuDataset::upload(gpu, &bytes(5 * len(run.input_nc), 3), len(run.input_nc)).unwrap(),
            GpuDataset::upload(gpu, &bytes(4 * len(run.output_nc), 4), len(run.output_nc)).unwrap(),
        ]
    }

    fn values(t: &Trainer<CycleGan>) -> Vec<Vec<f32>> {
        t.recipe
            .nets()
            .iter()
            .flat_map(|n| n.net.all_params())
            .flat_map(|p| {
                [
                    t.gpu.read_f32_blocking(&p.value).unwrap(),
                    t.gpu.read_f32_blocking(&p.state[0]).unwrap(),
                ]
            })
            .collect()
    }

    #[test]
    fn the_schedule_is_the_references_linear_policy() {
        let d = LinearDecay {
            epoch_steps: 3,
            n_epochs: 2,
            n_epochs_decay: 3,
        };
        // Epochs 0 and 1 at the full rate, then 3/4, 2/4, 1/4, then nothing.
        let want = [1.0, 1.0, 0.75, 0.5, 0.25, 0.0];
        for (epoch, w) in want.iter().enumerate() {
            for s in 0..3 {
                assert_eq!(d.factor(epoch as u64 * 3 + s), *w, "epoch {epoch}");
            }
        }
        assert_eq!(d.steps_to_change(4), 2);
        assert_eq!(d.total_steps(), 15);
        assert_eq!(LinearDecay::epoch_steps(1067, 1334, 1), 1334);
        assert_eq!(LinearDecay::epoch_steps(10, 7, 4), 3);
    }

    #[test]
    fn the_configuration_round_trips_and_bad_sizes_are_refused() {
        let run = tiny(1, 3);
        assert_eq!(
            run.recipe.lambda_identity, 0.0,
            "identity needs one channel count"
        );
        assert_eq!(CycleGanRun::from_json(&run.to_json()).unwrap(), run);
        let refused = |f: &dyn Fn(&mut CycleGanRun)| {
            let mut r = tiny(3, 3);
            f(&mut r);
            r.check().expect_err("refused").to_string()
        };
        assert!(refused(&|r| {
            r.size = 10;
            r.recipe.load_size = 0;
        })
        .contains("multiple of 4"));
        assert!(refused(&|r| r.recipe.pool_size = 5000).contains("pool size"));
        assert!(refused(&|r| r.recipe.batch = 0).contains("batch"));
        assert!(refused(&|r| r.input_nc = 2).contains("1 channel"));
        assert!(refused(&|r| r.recipe.load_size = 7).contains("load size"));
        // The reference's 256 and the CLI's 128 at ngf 64: their 7×7 convolutions pack more
        // for one image than one binding holds, and the engine cuts the image.
        assert!(CycleGanRun::new(128, 3, 3).check().is_ok());
        assert!(CycleGanRun::new(256, 3, 3).check().is_ok());
        let mut huge = CycleGanRun::new(256, 3, 3);
        huge.ngf = 8;
        huge.recipe.batch = 64;
        assert!(huge
            .check()
            .unwrap_err()
            .to_string()
            .contains("too large for a GPU"));
    }

    #[test]
    fn a_burst_across_the_schedule_equals_its_steps_one_by_one() {
        let gpu = gpu();
        let run = CycleGanRun {
            recipe: CycleGanConfig {
                g_optimizer: Optimizer::Sgd(SgdConfig {
                    lr: 0.05,
                    momentum: 0.5,
                    weight_decay: 0.0,
                }),
                ..tiny(3, 3).recipe
            },
            ..tiny(3, 3)
        };
        let mut burst = Trainer::<CycleGan>::start(gpu.clone(), run, domains(&gpu, &run)).unwrap();
        burst.train(5).unwrap();
        let mut single = Trainer::<CycleGan>::start(gpu.clone(), run, domains(&gpu, &run)).unwrap();
        (0..5).for_each(|_| single.train(1).unwrap());
        assert_eq!(values(&burst), values(&single));
        // And the schedule changed something: without it the weights differ.
        let still = CycleGanRun {
            decay: LinearDecay {
                n_epochs: 10,
                ..run.decay
            },
            ..run
        };
        let mut flat = Trainer::<CycleGan>::start(gpu.clone(), still, domains(&gpu, &run)).unwrap();
        flat.train(5).unwrap();
        assert_ne!(values(&flat), values(&burst));
    }

    #[test]
    fn a_checkpoint_resumes_bit_for_bit_and_refuses_other_families() {
        let gpu = gpu();
        let run = tiny(3, 3);
        let mut straight =
            Trainer::<CycleGan>::start(gpu.clone(), run, domains(&gpu, &run)).unwrap();
        straight.train(3).unwrap();
        let saved = pollster::block_on(straight.save()).unwrap();
        straight.train(2).unwrap();
        let mut resumed =
            Trainer::<CycleGan>::continue_with(gpu.clone(), &saved, domains(&gpu, &run), run)
                .unwrap();
        assert_eq!(resumed.step, 3);
        resumed.train(2).unwrap();
        assert_eq!(values(&resumed), values(&straight));
        assert_eq!(
            webgan::train::checkpoint_family(&saved).unwrap(),
            "cyclegan"
        );
        let Err(e) = Trainer::checkpoint_config(&saved) else {
            panic!("a CycleGAN checkpoint read as DCGAN's");
        };
        let msg = e.to_string();
        assert!(msg.contains("holds a cyclegan run, not dcgan"), "{msg}");
        let wider = CycleGanRun { ngf: 3, ..run };
        let Err(e) =
            Trainer::<CycleGan>::continue_with(gpu.clone(), &saved, domains(&gpu, &run), wider)
        else {
            panic!("resumed at another width");
        };
        let msg = e.to_string();
        assert!(msg.contains("keeps its size, networks"), "{msg}");
    }
}

#[test]
fn on_two_coloured_domains_the_cycle_loss_falls() {
    use webgan::train::recipes::cyclegan_run::{CycleGanRun, LinearDecay};
    use webgan::train::Trainer;
    let gpu = std::sync::Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    // Squares on grey: red ones in A, blue ones in B, at places drawn from a seed.
    let side = 16usize;
    let squares = |n: usize, colour: [u8; 3], seed: u64| -> Vec<u8> {
        let places = bytes(2 * n, seed);
        let mut out = Vec::new();
        for i in 0..n {
            let (x0, y0) = (places[2 * i] as usize % 10, places[2 * i + 1] as usize % 10);
            for c in colour {
                for y in 0..side {
                    for x in 0..side {
                        let inside = (x0..x0 + 6).contains(&x) && (y0..y0 + 6).contains(&y);
                        out.push(if inside { c } else { 128 });
                    }
                }
            }
        }
        out
    };
    let row = 3 * side * side;
    let mut run = CycleGanRun::new(side as u32, 3, 3);
    run.ngf = 4;
    run.ndf = 4;
    run.n_blocks = 1;
    run.n_layers_d = 1;
    run.recipe.load_size = 0;
    run.decay = LinearDecay {
        epoch_steps: 32,
        n_epochs: 1000,
        n_epochs_decay: 1,
    };
    let data = [
        GpuDataset::upload(&gpu, &squares(32, [220, 30, 30], 5), row).unwrap(),
        GpuDataset::upload(&gpu, &squares(32, [30, 30, 220], 6), row).unwrap(),
    ];
    let mut t = Trainer::<CycleGan>::start(gpu.clone(), run, data).unwrap();
    let mut cycle = Vec::new();
    for _ in 0..200 {
        t.train(1).unwrap();
        let values = gpu.read_f32_blocking(&t.recipe.stats().buffer).unwrap();
        let losses = t.recipe.losses(&values);
        let at = |name| losses.iter().find(|(n, _)| *n == name).unwrap().1;
        cycle.push(at("cycle_A") + at("cycle_B"));
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (first, last) = (mean(&cycle[..20]), mean(&cycle[180..]));
    eprintln!("cycle loss: {first:.3} over the first 20 steps, {last:.3} over the last 20");
    assert!(
        last < 0.5 * first,
        "the cycle loss went from {first:.3} (first 20 steps) to {last:.3} (last 20)"
    );
}

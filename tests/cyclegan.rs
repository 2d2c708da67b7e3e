//! The CycleGAN recipe (two generators, two discriminators, adversarial + cycle + identity
//! losses, a generator output's gradient summed from a discriminator and the other generator)
//! against its CPU twin: two steps, every parameter of all four networks and every loss.
mod common;

use common::{assert_close, gpu};
use webgan::graph::ops::{Conv2d, InstanceNorm2d, ReflectionPad2d};
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

/// A small PatchGAN: a 4×4 map of logits.
fn discriminator(channels: u32) -> Graph {
    let layers = vec![
        conv(4, 4, 2, 1),
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
        recipe::record(recipe, None, &mut pass);
    }
    gpu().queue.submit([encoder.finish()]);
}

#[test]
fn two_cyclegan_steps_match_the_cpu_twin() {
    // Colour to colour with the identity loss, as the reference's default.
    twin_steps(3, 3, 0.5);
}

#[test]
fn two_steps_gray_to_colour_without_identity_match_the_cpu_twin() {
    // Gray A and colour B: G_A makes 3 channels of 1, G_B 1 of 3.
    twin_steps(1, 3, 0.0);
}

fn twin_steps(a_channels: u32, b_channels: u32, lambda_identity: f32) {
    let (a_len, b_len) = (
        (a_channels * SIZE * SIZE) as usize,
        (b_channels * SIZE * SIZE) as usize,
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
    let config = CycleGanConfig {
        batch: 2,
        lambda_identity,
        g_optimizer: sgd,
        d_optimizer: sgd,
        ..CycleGanConfig::new()
    };
    let nets = CycleGanNets {
        g_a: generator(a_channels, b_channels),
        g_b: generator(b_channels, a_channels),
        d_a: discriminator(b_channels),
        d_b: discriminator(a_channels),
    };
    let cg = CycleGan::new(gpu(), &config, nets, [&data_a, &data_b]).expect("the recipe");
    let mut twin = CpuCycleGan::new(
        config,
        [
            to_cpu(&cg.g_a),
            to_cpu(&cg.g_b),
            to_cpu(&cg.d_a),
            to_cpu(&cg.d_b),
        ],
    );
    for step in 1..=2 {
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

//! The gradient penalties' f64 reference (WGAN-GP's and R1's) against central differences of
//! the penalty itself, on small critics of odd shapes: convolutions with biases, leaky ReLU
//! and plain ReLU, a dense score, spectral norm; a critic with batch norm refused. Then the
//! GPU's penalty pass (`graph::penalty`) against the reference: norms, terms and every
//! parameter's gradient added to what was there.

use crate::common;

use common::graph_case::{check_probes, numeric_gradient_at, record, write};
use common::*;
use webgan::graph::ops::{BatchNorm2d, Conv2d, Dense, Reshape};
use webgan::graph::penalty::PenaltyPass;
use webgan::graph::program::Net;
use webgan::graph::{Graph, Layer, Shape3};
use webgan::kernels::activation::Activation;
use webgan::reference::graph::CpuNet;
use webgan::reference::penalty::{penalty, Penalty};

const BATCH: u32 = 3;

/// conv 2→4 (3×3, stride 2) · leaky ReLU · conv 4→5 (3×3) · ReLU · flatten · dense → 1, on
/// 2×5×7 images.
fn critic(spectral_norm: bool, norm: bool) -> Graph {
    let conv = |out_channels, stride| {
        Layer::Conv(Conv2d {
            out_channels,
            kernel: 3,
            stride,
            padding: 1,
            bias: true,
            spectral_norm,
        })
    };
    let mut layers = vec![
        conv(4, 2),
        Layer::Activation(Activation::LeakyRelu(0.2)),
        conv(5, 1),
    ];
    if norm {
        layers.push(Layer::BatchNorm(BatchNorm2d::AFFINE));
    }
    layers.extend([
        Layer::Activation(Activation::Relu),
        Layer::Reshape(Reshape(Shape3::new(5 * 3 * 4, 1, 1))),
        Layer::Dense(Dense {
            out_features: 1,
            bias: true,
            spectral_norm,
        }),
    ]);
    Graph::sequential("main", Shape3::new(2, 5, 7), layers).unwrap()
}

/// The critic with random weights (u and v of spectral norm random unit-ish vectors).
fn cpu_net(graph: Graph, seed: u64) -> CpuNet {
    let mut rng = Rng::new(seed);
    let params = (0..graph.nodes.len())
        .map(|n| {
            graph
                .params_of(n)
                .iter()
                .map(|p| rng.vec(p.shape.iter().product()))
                .collect()
        })
        .collect();
    let running = (0..graph.nodes.len())
        .map(|n| {
            let op = graph.nodes[n].layer.op();
            op.running(&graph.input_shapes(n))
                .map(|r| r.iter().map(|&v| v as f64).collect())
        })
        .collect();
    CpuNet {
        arch: graph,
        params,
        running,
        rng: None,
    }
}

fn check(net: &CpuNet, x: &[f64], p: Penalty, what: &str) {
    let got = penalty(&mut net.clone(), x, BATCH, p).unwrap();
    assert!(got.value > 0.0, "{what}: the penalty is {}", got.value);
    assert_eq!(got.norms.len(), BATCH as usize);
    // The value is the formula on the input gradients the plain backward pass gives.
    let mut plain = net.clone();
    let acts = plain.forward_all(&[x], BATCH, true, false);
    let (dx, _) = plain.backward(x, &acts, &[1.0; BATCH as usize], BATCH);
    let per = dx.len() / BATCH as usize;
    for (b, norm) in got.norms.iter().enumerate() {
        let want = dx[b * per..][..per]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        assert!((norm - want).abs() < 1e-12, "{what}: sample {b}'s norm");
    }
    let arch = &net.arch;
    for (n, node_params) in net.params.iter().enumerate() {
        let specs = arch.params_of(n);
        for (i, values) in node_params.iter().enumerate() {
            if !specs[i].trained() {
                continue; // u and v: not parameters, their gradient is none
            }
            let numeric = numeric_gradient_at(values, 12, |v| {
                let mut changed = net.clone();
                changed.params[n][i] = v.to_vec();
                penalty(&mut changed, x, BATCH, p).unwrap().value
            });
            check_probes(
                &format!("{what}: d penalty / d {}", specs[i].name),
                &got.params[n][i],
                &numeric,
            );
        }
    }
}

#[test]
fn wgan_gp_and_r1_match_central_differences() {
    let net = cpu_net(critic(false, false), 3);
    let x = Rng::new(4).vec(BATCH as usize * 70);
    check(&net, &x, Penalty::Gp { lambda: 10.0 }, "WGAN-GP");
    check(&net, &x, Penalty::R1 { gamma: 0.7 }, "R1");
}

/// Spectral norm's gradient treats the power iteration's u and v as constants (as PyTorch
/// does), while a central difference moves them with W: after many iterations u and v are
/// W's top singular pair, where σ = uᵀWv is stationary in them, and the two agree.
#[test]
fn a_spectrally_normalised_critic_matches_central_differences() {
    let mut net = cpu_net(critic(true, false), 6);
    let x = Rng::new(7).vec(BATCH as usize * 70);
    for _ in 0..300 {
        net.forward_all(&[&x], BATCH, true, false);
    }
    check(
        &net,
        &x,
        Penalty::Gp { lambda: 10.0 },
        "WGAN-GP, spectral norm",
    );
}

#[test]
fn a_critic_with_batch_norm_is_refused_in_a_sentence() {
    let net = cpu_net(critic(false, true), 8);
    let x = Rng::new(9).vec(BATCH as usize * 70);
    let e = penalty(&mut net.clone(), &x, BATCH, Penalty::Gp { lambda: 10.0 }).unwrap_err();
    assert!(e.contains("main.3 is not one"), "{e}");
    assert!(e.contains("no batch norm"), "{e}");
}

/// The GPU's pass on a critic with the weights of `cpu_net(graph, seed)`, against the
/// reference; each gradient starts at 0.25 so that adding (not overwriting) is checked.
fn gpu_matches(graph: Graph, seed: u64, p: Penalty, what: &str) {
    let twin = cpu_net(graph.clone(), seed);
    let net = Net::new(gpu(), graph, 1);
    for (node, values) in net.params.iter().zip(&twin.params) {
        for (param, v) in node.iter().zip(values) {
            write(&param.value, v);
            write(&param.grad, &vec![0.25; v.len()]);
        }
    }
    let x = Rng::new(seed + 1).vec(BATCH as usize * 70);
    let want = penalty(&mut twin.clone(), &x, BATCH, p).unwrap();
    let pass = PenaltyPass::new(gpu(), &net, BATCH, p, Some(upload(&x))).unwrap();
    record(|c| pass.record(c));
    let norms = download(&pass.norms, BATCH as usize);
    assert_close(&format!("{what}: norms"), &norms, &want.norms, 1e-5, 1e-4);
    let terms: f64 = download(&pass.terms, BATCH as usize).iter().sum();
    assert_close(
        &format!("{what}: penalty"),
        &[terms],
        &[want.value],
        1e-5,
        1e-4,
    );
    for (n, node) in net.params.iter().enumerate() {
        for (i, param) in node.iter().enumerate() {
            if !param.spec.trained() {
                continue;
            }
            let got: Vec<f64> = download(&param.grad, param.len())
                .iter()
                .map(|g| g - 0.25)
                .collect();
            let name = &param.spec.name;
            assert_close(
                &format!("{what}: d {name}"),
                &got,
                &want.params[n][i],
                1e-5,
                1e-3,
            );
        }
    }
}

#[test]
fn the_gpu_penalty_pass_matches_the_reference() {
    gpu_matches(
        critic(false, false),
        11,
        Penalty::Gp { lambda: 10.0 },
        "WGAN-GP",
    );
    gpu_matches(critic(false, false), 12, Penalty::R1 { gamma: 5.0 }, "R1");
    gpu_matches(
        critic(true, false),
        13,
        Penalty::Gp { lambda: 10.0 },
        "spectral norm",
    );
}

#[test]
fn the_gpu_refuses_a_critic_with_batch_norm() {
    let net = Net::new(gpu(), critic(false, true), 1);
    let e = PenaltyPass::new(gpu(), &net, BATCH, Penalty::R1 { gamma: 1.0 }, None)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("main.3"), "{e}");
    assert!(e.to_string().contains("cannot be penalised"), "{e}");
}

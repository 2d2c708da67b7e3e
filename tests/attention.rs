//! SAGAN's self-attention block (`self_attention`: three 1×1 convs, the map, its application
//! and the γ-scaled residual) on the GPU against the f64 reference, forward and backward, on
//! shapes that take the shader's scalar path (3×5 and 2×3 positions, c/8 = 1 or 2) and its vec4 path
//! (4×4, c = 32); the reference against central differences for every input and parameter,
//! γ included; and a map too large for one binding refused in a sentence.
use crate::common;

use common::graph_case::{
    net_matches_reference, reference_matches_central_differences, with_random_params,
};
use common::{gpu, Rng};
use webgan::graph::ops::self_attention;
use webgan::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use webgan::graph::{Builder, Graph, Shape3};

const BATCH: u32 = 3;

/// x [c, h, w] through one attention block, named as SAGAN's generator names its first.
fn block(c: u32, h: u32, w: u32) -> Graph {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(c, h, w));
    let y = self_attention(&mut b, "attn1", x).expect("a valid block");
    b.finish(&[y]).expect("a valid graph")
}

/// The block on the GPU with every parameter drawn in [−1, 1): γ far from its initial 0, and
/// queries and keys large enough that the softmax is far from uniform.
fn check(c: u32, h: u32, w: u32) {
    net_matches_reference(with_random_params(block(c, h, w)), BATCH);
}

#[test]
fn odd_positions_and_few_query_channels_match_the_reference() {
    check(16, 3, 5);
    check(8, 3, 5);
    // 6 positions: rows shorter than a subgroup of lavapipe's 8 lanes, which the softmax's
    // lanes read together.
    check(8, 2, 3);
}

#[test]
fn the_vec4_path_matches_the_reference() {
    // 16 positions: the map's products run on vec4s; c/8 = 1 keeps the energy's scalar.
    check(8, 4, 4);
    check(32, 4, 4);
}

#[test]
fn reference_gradients_match_central_differences() {
    reference_matches_central_differences(&block(16, 3, 5), BATCH, 48);
    reference_matches_central_differences(&block(8, 2, 2), 2, usize::MAX);
}

#[test]
fn parameters_carry_pytorch_names_and_gamma_starts_at_zero() {
    let g = block(16, 4, 4);
    let names: Vec<(String, Vec<usize>)> = (0..g.nodes.len())
        .flat_map(|n| g.params_of(n))
        .map(|p| (p.name, p.shape))
        .collect();
    let want = [
        ("attn1.query_conv.weight", vec![2, 16, 1, 1]),
        ("attn1.query_conv.bias", vec![2]),
        ("attn1.key_conv.weight", vec![2, 16, 1, 1]),
        ("attn1.key_conv.bias", vec![2]),
        ("attn1.value_conv.weight", vec![16, 16, 1, 1]),
        ("attn1.value_conv.bias", vec![16]),
        ("attn1.gamma", vec![1]),
    ];
    let want: Vec<(String, Vec<usize>)> = want
        .iter()
        .map(|(n, s)| (n.to_string(), s.clone()))
        .collect();
    assert_eq!(names, want);
    let gamma = g.params_of(g.nodes.len() - 1);
    assert_eq!(gamma[0].init, webgan::graph::Init::Zero);
}

#[test]
fn fewer_than_eight_channels_are_refused() {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(4, 4, 4));
    let e = self_attention(&mut b, "attn1", x).expect_err("4 channels have no c/8");
    assert!(e.to_string().contains("at least 8 channels"), "{e}");
}

#[test]
fn a_map_past_one_binding_is_refused_in_a_sentence() {
    // 64×64 positions: 64 MiB of map per image, past 128 MiB from batch 3.
    let net = Net::new(gpu(), block(8, 64, 64), 7);
    let options = PassOptions {
        batch: 16,
        train: true,
        update_running: true,
        param_grads: ParamGrads::Overwrite,
        input_grad: false,
        backward: true,
    };
    let limit = gpu().binding_floats();
    let e = Pass::new(gpu(), &net, options, PassBuffers::default())
        .err()
        .expect("a 1 GiB map is refused");
    let message = e.to_string();
    assert!(
        message.contains("attn1.map")
            && message.contains("64×64 positions at batch 16")
            && message.contains("1024 MiB attention map"),
        "{message}"
    );
    // The batch it names fits.
    let fits = (limit / (4096 * 4096)) as u32;
    assert!(message.contains(&format!("at most {fits}")), "{message}");
}

/// The batched matmul alone, every transpose option, on odd sizes (the scalar path) and on
/// multiples of 4 whose rows end mid-block (the vec4 path), overwriting and adding into out.
#[test]
fn the_batched_matmul_matches_plain_loops_for_every_transpose() {
    use webgan::kernels::attention::{matmul, MatmulShape, Operand};
    let mut rng = Rng::new(3);
    for (m, n, k) in [(5, 7, 3), (12, 20, 8)] {
        let batch = 2;
        let shape = MatmulShape { batch, m, n, k };
        let (m, n, k) = (m as usize, n as usize, k as usize);
        let (a, b) = (rng.vec(2 * m * k), rng.vec(2 * k * n));
        let prior = rng.vec(2 * m * n);
        for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
            let a_at = |z: usize, i: usize, l: usize| {
                a[z * m * k + if a_t { l * m + i } else { i * k + l }]
            };
            let b_at = |z: usize, l: usize, j: usize| {
                b[z * k * n + if b_t { j * k + l } else { l * n + j }]
            };
            let want: Vec<f64> = (0..2 * m * n)
                .map(|e| {
                    let (z, i, j) = (e / (m * n), e / n % m, e % n);
                    (0..k).map(|l| a_at(z, i, l) * b_at(z, l, j)).sum()
                })
                .collect();
            for accumulate in [false, true] {
                let (ab, bb) = (common::upload(&a), common::upload(&b));
                let out = common::upload(&prior);
                let d = matmul(
                    gpu(),
                    shape,
                    Operand {
                        buffer: &ab,
                        transposed: a_t,
                    },
                    Operand {
                        buffer: &bb,
                        transposed: b_t,
                    },
                    &out,
                    accumulate,
                )
                .expect("a valid product");
                gpu().run(&[&d]);
                let want: Vec<f64> = if accumulate {
                    want.iter().zip(&prior).map(|(w, p)| w + p).collect()
                } else {
                    want.clone()
                };
                let what = format!("{m}×{n}×{k} a_t={a_t} b_t={b_t} acc={accumulate}");
                let got = common::download(&out, want.len());
                common::assert_close(&what, &got, &want, 1e-5, 1e-4);
            }
        }
    }
}

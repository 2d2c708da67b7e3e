//! Class conditioning in SAGAN's paper form: the class embedding of one-hot planes (with and
//! without spectral norm), batch norm without γ and β, the modulation γ·x + β and the
//! projection ⟨e, Σ h⟩, on the GPU against the f64 reference (odd shapes, every gradient,
//! fan-in included), the reference against central differences, and PyTorch's names.
use crate::common;

use common::gpu;
use common::graph_case::{
    net_matches_reference, reference_matches_central_differences, with_random_params,
};
use webgan::graph::ops::{BatchNorm2d, Embedding, Modulate, Project};
use webgan::graph::program::Net;
use webgan::graph::{Builder, Graph, Layer, Shape3};

const BATCH: u32 = 3;

/// x [c, h, w] through a conditional batch norm (`cbn.bn`, `cbn.embed`, `cbn`) on `classes`
/// planes, and the projection of its output with a second embedding of the same planes: both
/// the modulated map and the projection are outputs, so the map's gradient meets the
/// projection's, and the planes' gradients meet from the two embeddings.
fn conditional(c: u32, h: u32, w: u32, classes: u32, spectral_norm: bool) -> Graph {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(c, h, w));
    let planes = b.input(Shape3::new(classes, h, w));
    let embed = Embedding {
        dim: 2 * c,
        spectral_norm: false,
        norm_init: true,
    };
    let scale = b
        .add("cbn.embed", Layer::Embedding(embed), &[planes])
        .unwrap();
    let normal = b
        .add("cbn.bn", Layer::BatchNorm(BatchNorm2d::PLAIN), &[x])
        .unwrap();
    let m = b
        .add("cbn", Layer::Modulate(Modulate), &[normal, scale])
        .unwrap();
    let embed = Embedding {
        dim: c,
        spectral_norm,
        norm_init: false,
    };
    let e = b.add("embed", Layer::Embedding(embed), &[planes]).unwrap();
    let p = b.add("project", Layer::Project(Project), &[m, e]).unwrap();
    b.finish(&[m, p]).expect("a valid graph")
}

#[test]
fn odd_shapes_match_the_reference() {
    net_matches_reference(with_random_params(conditional(5, 3, 7, 3, false)), BATCH);
    net_matches_reference(with_random_params(conditional(4, 1, 1, 10, true)), BATCH);
    net_matches_reference(with_random_params(conditional(3, 6, 5, 2, true)), BATCH);
}

#[test]
fn reference_gradients_match_central_differences() {
    reference_matches_central_differences(&conditional(5, 3, 7, 3, false), BATCH, 40);
    reference_matches_central_differences(&conditional(2, 2, 3, 4, false), 2, usize::MAX);
}

#[test]
fn tensors_carry_pytorch_names_and_start_as_the_ports_do() {
    let g = conditional(4, 2, 2, 3, true);
    let tensors: Vec<(String, Vec<usize>)> = (0..g.nodes.len())
        .flat_map(|i| g.params_of(i))
        .map(|p| (p.name, p.shape))
        .collect();
    let want: Vec<(String, Vec<usize>)> = [
        ("cbn.embed.weight", vec![3, 8]),
        ("embed.weight_orig", vec![3, 4]),
        ("embed.weight_u", vec![3]),
        ("embed.weight_v", vec![4]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(tensors, want, "batch norm without affine has no γ or β");
    let i = g.nodes.iter().position(|n| n.name == "cbn.bn").unwrap();
    assert!(
        g.nodes[i].layer.op().running(&g.input_shapes(i)).is_some(),
        "running statistics are kept"
    );
    // Each class's row starts as [γ = 1; β = 0], as nn.Embedding is filled by the ports.
    let net = Net::new(gpu(), g, 3);
    let cpu = pollster::block_on(net.to_cpu(gpu())).unwrap();
    let row = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    assert_eq!(cpu.params[0][0], row.repeat(3));
}

#[test]
fn mismatched_vectors_are_refused_in_a_sentence() {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(4, 2, 2));
    let v = b.input(Shape3::new(6, 1, 1));
    let e = b.add("m", Layer::Modulate(Modulate), &[x, v]).unwrap_err();
    assert!(e.to_string().contains("takes [γ; β] of 8 values"), "{e}");
    let e = b.add("p", Layer::Project(Project), &[x, v]).unwrap_err();
    assert!(e.to_string().contains("a vector of 4 values"), "{e}");
}

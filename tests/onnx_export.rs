//! The ONNX plan of every family's generator, without a GPU or a runtime: the model encodes and
//! decodes, names its inputs, output and batch as the README says, keeps PyTorch's names for the
//! weights (spectral norm's W / σ under the layer's own `weight`), reads every tensor after it is
//! made, and maps each op to the ONNX op it means.
//! (That ONNX Runtime computes webgan's numbers is python/tests/test_onnx.py's check.)

use std::collections::HashSet;

use prost::Message;
use webgan::export::onnx::proto::tensor_shape_proto::dimension::Value as Dim;
use webgan::export::onnx::proto::{type_proto, ModelProto, ValueInfoProto};
use webgan::export::onnx::{self, GeneratorInput, IR_VERSION, OPSET};
use webgan::graph::ops::{Conv2d, Dense, Dropout};
use webgan::graph::{Builder, Graph, Layer, NodeWeights, Shape3};
use webgan::model::presets::{ModelConfig, Preset};
use webgan::model::sagan::MIN_WIDTH;
use webgan::model::{Norm, ResnetGenerator, UnetGenerator};

/// Weights of the right sizes, each value different, variances positive.
fn weights(g: &Graph) -> Vec<NodeWeights> {
    let mut k = 0.0f32;
    let mut next = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                k += 1.0;
                0.5 + (k * 0.37).sin().abs()
            })
            .collect()
    };
    (0..g.nodes.len())
        .map(|i| NodeWeights {
            params: g
                .params_of(i)
                .iter()
                .map(|p| next(p.shape.iter().product()))
                .collect(),
            running: g.nodes[i]
                .layer
                .op()
                .running(&g.input_shapes(i))
                .map(|r| next(r.len() - 1)),
        })
        .collect()
}

/// [batch, ...] of an input or output: the dims, None for the named batch.
fn dims(v: &ValueInfoProto) -> Vec<Option<i64>> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        panic!("{} is not a tensor", v.name)
    };
    t.shape
        .as_ref()
        .expect("a shape")
        .dim
        .iter()
        .map(|d| match d.value.as_ref().expect("a dim") {
            Dim::DimValue(n) => Some(*n),
            Dim::DimParam(name) => {
                assert_eq!(name, onnx::BATCH);
                None
            }
        })
        .collect()
}

/// Encodes and decodes it, and checks what every model must hold; the decoded model.
fn check(model: &ModelProto) -> ModelProto {
    let bytes = onnx::encode(model);
    let decoded = ModelProto::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(&decoded, model);
    assert_eq!(decoded.ir_version, IR_VERSION);
    assert_eq!(decoded.opset_import.len(), 1);
    assert_eq!(
        (
            decoded.opset_import[0].domain.as_str(),
            decoded.opset_import[0].version
        ),
        ("", OPSET)
    );
    let g = decoded.graph.as_ref().expect("a graph");
    // Node names are unique or empty (ONNX Runtime refuses a model otherwise).
    let mut node_names = HashSet::new();
    for n in g.node.iter().filter(|n| !n.name.is_empty()) {
        assert!(
            node_names.insert(n.name.as_str()),
            "two nodes named {}",
            n.name
        );
    }
    // Every tensor is made once, before it is read.
    let mut known: HashSet<&str> = g.input.iter().map(|v| v.name.as_str()).collect();
    for t in &g.initializer {
        assert!(known.insert(t.name.as_str()), "{} made twice", t.name);
    }
    for n in &g.node {
        for x in n.input.iter().filter(|x| !x.is_empty()) {
            assert!(
                known.contains(x.as_str()),
                "{} reads {x} before it exists",
                n.name
            );
        }
        for y in &n.output {
            assert!(known.insert(y.as_str()), "{y} made twice");
        }
    }
    assert_eq!(g.output.len(), 1);
    assert_eq!(g.output[0].name, "output");
    assert!(known.contains("output"));
    decoded
}

fn op_types(model: &ModelProto) -> Vec<&str> {
    let g = model.graph.as_ref().expect("a graph");
    g.node.iter().map(|n| n.op_type.as_str()).collect()
}

fn initializers(model: &ModelProto) -> HashSet<&str> {
    let g = model.graph.as_ref().expect("a graph");
    g.initializer.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn a_conditional_dcgan_takes_z_and_a_class() {
    let config = ModelConfig {
        ngf: 4,
        classes: 10,
        ..ModelConfig::new(Preset::Dcgan28)
    };
    let (g, _) = config.build().expect("builds");
    let input = GeneratorInput::Latent {
        nz: 100,
        classes: 10,
    };
    let meta = vec![("family".to_string(), "dcgan".to_string())];
    let model = check(&onnx::model(&g, &weights(&g), input, &meta).expect("exports"));
    let graph = model.graph.as_ref().expect("a graph");
    let inputs: Vec<(&str, Vec<Option<i64>>)> = graph
        .input
        .iter()
        .map(|v| (v.name.as_str(), dims(v)))
        .collect();
    assert_eq!(
        inputs,
        [("z", vec![None, Some(100)]), ("class", vec![None])]
    );
    assert_eq!(dims(&graph.output[0]), [None, Some(1), Some(28), Some(28)]);
    let ops = op_types(&model);
    for op in [
        "OneHot",
        "Concat",
        "Gemm",
        "BatchNormalization",
        "ConvTranspose",
        "Tanh",
    ] {
        assert!(ops.contains(&op), "no {op} in {ops:?}");
    }
    // PyTorch's state_dict names, batch norm split as PyTorch splits it.
    let names = initializers(&model);
    for name in [
        "main.0.weight",
        "main.1.weight",
        "main.1.bias",
        "main.1.running_var",
    ] {
        assert!(names.contains(name), "no {name}");
    }
    assert_eq!(model.metadata_props[0].value, "dcgan");
}

#[test]
fn every_dcgan_preset_plans() {
    for preset in Preset::ALL {
        // SAGAN's attention gives queries an eighth of its narrowest layer's channels.
        let ngf = if preset.is_sagan() { MIN_WIDTH } else { 2 };
        let config = ModelConfig {
            ngf,
            ..ModelConfig::new(preset)
        };
        let (g, _) = config.build().expect("builds");
        // InfoGAN's z holds its codes after the noise.
        let input = GeneratorInput::Latent {
            nz: config.latent_len(),
            classes: 0,
        };
        let model = check(&onnx::model(&g, &weights(&g), input, &vec![]).expect("exports"));
        let graph = model.graph.as_ref().expect("a graph");
        assert_eq!(graph.input.len(), 1, "{preset:?}: z only");
        let side = preset.image_size() as i64;
        let c = preset.default_channels() as i64;
        assert_eq!(
            dims(&graph.output[0]),
            [None, Some(c), Some(side), Some(side)]
        );
    }
}

/// The floats of the initializer `name`.
fn initializer(model: &ModelProto, name: &str) -> Vec<f32> {
    let g = model.graph.as_ref().expect("a graph");
    let t = g
        .initializer
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no {name}"));
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `folded` is `weight` / σ within f32 rounding.
fn assert_divided(name: &str, folded: &[f32], weight: &[f32], sigma: f64) {
    assert_eq!(folded.len(), weight.len(), "{name}");
    for (a, w) in folded.iter().zip(weight) {
        let want = *w as f64 / sigma;
        assert!(
            (*a as f64 - want).abs() <= 1e-6 * want.abs(),
            "{name}: {a} is not {w} / {sigma}"
        );
    }
}

/// No spectral norm state reaches the model: its weights are W / σ under the layer's name.
fn assert_no_spectral_state(model: &ModelProto) {
    for name in initializers(model) {
        for state in ["weight_orig", "weight_u", "weight_v"] {
            assert!(!name.ends_with(state), "{name} is exported");
        }
    }
}

#[test]
fn a_sagan_divides_its_weights_by_sigma_and_attends() {
    for preset in [Preset::Sagan32, Preset::Sagan64] {
        let config = ModelConfig {
            ngf: MIN_WIDTH,
            classes: 10,
            ..ModelConfig::new(preset)
        };
        let (g, _) = config.build().expect("builds");
        let w = weights(&g);
        let input = GeneratorInput::Latent {
            nz: config.nz,
            classes: 10,
        };
        let model = check(&onnx::model(&g, &w, input, &vec![]).expect("exports"));
        let ops = op_types(&model);
        let count = |op| ops.iter().filter(|o| **o == op).count();
        // Conditional: a batch norm per level takes its [γ; β] from the class's embedding.
        let levels = if preset == Preset::Sagan64 { 4 } else { 3 };
        assert_eq!(count("Softmax"), 2, "{preset:?}: a map per attention block");
        assert_eq!(
            count("MatMul"),
            4 + levels,
            "{preset:?}: qᵀk and v·mapᵀ per block, an embedding per level"
        );
        assert_eq!(
            count("Mul"),
            2 + levels,
            "{preset:?}: γ·o per block, γ·x per conditional batch norm"
        );
        assert_no_spectral_state(&model);
        let names = initializers(&model);
        for name in [
            "l1.0.weight",
            "l1.0.bias",
            "attn1.gamma",
            "attn2.key_conv.weight",
            "l1.1.embed.weight",
            "l1.1.bn.running_mean",
        ] {
            assert!(names.contains(name), "{preset:?}: no {name}");
        }
        // A transposed conv's matrix under PyTorch's dim 1: W[o, (i, tap)] = weight[i, o, tap].
        let mut divided = 0;
        for (i, node) in g.nodes.iter().enumerate() {
            let Layer::ConvTranspose(conv) = node.layer else {
                continue;
            };
            if !conv.spectral_norm {
                continue;
            }
            let shape = &g.params_of(i)[0].shape;
            let (cin, cout, taps) = (shape[0], shape[1], shape[2] * shape[3]);
            let p = &w[i].params;
            let (weight, u, v) = (&p[0], &p[2], &p[3]);
            assert_eq!((u.len(), v.len()), (cout, cin * taps), "{}", node.name);
            let mut sigma = 0.0;
            for (o, &u_o) in u.iter().enumerate() {
                for c in 0..cin {
                    for t in 0..taps {
                        let at = (c * cout + o) * taps + t;
                        sigma += u_o as f64 * weight[at] as f64 * v[c * taps + t] as f64;
                    }
                }
            }
            let name = format!("{}.weight", node.name);
            assert_divided(&name, &initializer(&model, &name), weight, sigma);
            divided += 1;
        }
        assert_eq!(divided, if preset == Preset::Sagan32 { 3 } else { 4 });
    }
}

#[test]
fn spectral_norm_on_a_conv_and_a_dense_divides_by_sigma_over_dim_0() {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(3, 4, 4));
    let conv = Conv2d {
        out_channels: 2,
        kernel: 3,
        stride: 1,
        padding: 1,
        bias: false,
        spectral_norm: true,
    };
    let y = b.add("conv", Layer::Conv(conv), &[x]).expect("adds");
    let dense = Dense {
        out_features: 5,
        bias: true,
        spectral_norm: true,
    };
    let y = b.add("dense", Layer::Dense(dense), &[y]).expect("adds");
    let g = b.finish(&[y]).expect("finishes");
    let w = weights(&g);
    let model = check(&onnx::model(&g, &w, GeneratorInput::Image, &vec![]).expect("exports"));
    assert_eq!(op_types(&model), ["Conv", "Flatten", "Gemm", "Reshape"]);
    assert_no_spectral_state(&model);
    // [weight_orig, (bias,) u, v], the matrix the weight's rows by the rest.
    for (i, name) in [(0, "conv"), (1, "dense")] {
        let p = &w[i].params;
        let (weight, u, v) = (&p[0], &p[p.len() - 2], &p[p.len() - 1]);
        let cols = v.len();
        let sigma: f64 = (0..u.len())
            .map(|r| {
                let row = &weight[r * cols..(r + 1) * cols];
                let wv: f64 = row.iter().zip(v).map(|(a, b)| *a as f64 * *b as f64).sum();
                u[r] as f64 * wv
            })
            .sum();
        let name = format!("{name}.weight");
        assert_divided(&name, &initializer(&model, &name), weight, sigma);
    }
    assert_eq!(initializer(&model, "dense.bias"), w[1].params[1]);
    // σ = 0 (a u of zeros) divides nothing: refused with the node named.
    let mut zero = w.clone();
    zero[1].params[2].iter_mut().for_each(|a| *a = 0.0);
    let e = onnx::model(&g, &zero, GeneratorInput::Image, &vec![]).expect_err("σ = 0");
    assert!(
        e.to_string().contains("dense") && e.to_string().contains("σ"),
        "{e}"
    );
}

#[test]
fn a_unet_keeps_its_skips_and_drops_nothing() {
    let mut unet = UnetGenerator::new(3, 2, 5, Norm::Batch);
    unet.ngf = 2;
    unet.use_dropout = true;
    let g = unet.build(32, 32).expect("builds");
    let model = onnx::model(&g, &weights(&g), GeneratorInput::Image, &vec![]).expect("exports");
    let model = check(&model);
    let graph = model.graph.as_ref().expect("a graph");
    assert_eq!(dims(&graph.input[0]), [None, Some(3), Some(32), Some(32)]);
    assert_eq!(dims(&graph.output[0]), [None, Some(2), Some(32), Some(32)]);
    let ops = op_types(&model);
    let count = |op| ops.iter().filter(|o| **o == op).count();
    assert_eq!(count("Concat"), 4, "a skip per inner block");
    assert_eq!(count("LeakyRelu"), 4);
    assert_eq!(count("BatchNormalization"), 7);
}

#[test]
fn a_resnet_pads_by_reflection_and_adds_its_blocks() {
    let mut resnet = ResnetGenerator::new(3, 3, Norm::Instance);
    resnet.ngf = 2;
    resnet.n_blocks = 2;
    resnet.use_dropout = true;
    let g = resnet.build(16, 16).expect("builds");
    let model = onnx::model(&g, &weights(&g), GeneratorInput::Image, &vec![]).expect("exports");
    let model = check(&model);
    let ops = op_types(&model);
    let count = |op| ops.iter().filter(|o| **o == op).count();
    assert_eq!(count("Add"), 2);
    assert_eq!(count("Identity"), 2, "eval-mode dropout");
    assert_eq!(count("Pad"), 2 + 2 * 2);
    assert_eq!(count("InstanceNormalization"), 3 + 2 * 2 + 2);
    let graph = model.graph.as_ref().expect("a graph");
    let pad = graph
        .node
        .iter()
        .find(|n| n.op_type == "Pad")
        .expect("a pad");
    assert_eq!(pad.attribute[0].s, b"reflect");
}

#[test]
fn what_cannot_be_exported_is_refused_with_the_node_named() {
    let config = ModelConfig {
        ngf: 2,
        ..ModelConfig::new(Preset::Dcgan32)
    };
    let (g, _) = config.build().expect("builds");
    let input = GeneratorInput::Latent {
        nz: 100,
        classes: 0,
    };
    let mut w = weights(&g);
    w.pop();
    assert!(onnx::model(&g, &w, input, &vec![]).is_err());
    let mut w = weights(&g);
    w[1].running = None;
    let e = onnx::model(&g, &w, input, &vec![]).expect_err("no statistics");
    assert!(e.to_string().contains("main.1"), "{e}");
    let wrong = GeneratorInput::Latent { nz: 99, classes: 0 };
    assert!(onnx::model(&g, &weights(&g), wrong, &vec![]).is_err());
    // Dropout that stays random at test time has no ONNX form that repeats webgan's.
    let mut b = Builder::new();
    let x = b.input(Shape3::new(2, 4, 4));
    let noisy = Dropout {
        p: 0.5,
        at_test: true,
    };
    let y = b.add("noise", Layer::Dropout(noisy), &[x]).expect("adds");
    let g = b.finish(&[y]).expect("finishes");
    let e = onnx::model(&g, &weights(&g), GeneratorInput::Image, &vec![]).expect_err("random");
    assert!(e.to_string().contains("noise"), "{e}");
}

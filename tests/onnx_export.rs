//! The ONNX plan of every family's generator, without a GPU or a runtime: the model encodes and
//! decodes, names its inputs, output and batch as the README says, keeps PyTorch's names for the
//! weights, reads every tensor after it is made, and maps each op to the ONNX op it means.
//! (That ONNX Runtime computes webgan's numbers is python/tests/test_onnx.py's check.)

use std::collections::HashSet;

use prost::Message;
use webgan::export::onnx::proto::tensor_shape_proto::dimension::Value as Dim;
use webgan::export::onnx::proto::{type_proto, ModelProto, ValueInfoProto};
use webgan::export::onnx::{self, GeneratorInput, IR_VERSION, OPSET};
use webgan::graph::ops::Dropout;
use webgan::graph::{Builder, Graph, Layer, NodeWeights, Shape3};
use webgan::model::presets::{ModelConfig, Preset};
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
        let config = ModelConfig {
            ngf: 2,
            ..ModelConfig::new(preset)
        };
        let (g, _) = config.build().expect("builds");
        let input = GeneratorInput::Latent {
            nz: 100,
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

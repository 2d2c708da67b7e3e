//! The image-to-image networks of pix2pix and CycleGAN (`model::resnet`, `unet`, `patchgan`):
//! their checkpoint names and shapes against the reference's `state_dict()`, written out by
//! hand from `networks.py`'s module structure; their sizes at 64, 128 and 256 pixels and their
//! parameter counts against the ones the reference prints; tiny versions on the GPU against
//! their CPU twin both ways, in both norms, with dropout; the twin against central
//! differences; and bad configurations refused in a sentence.
use crate::common;

use common::graph_case::{
    gpu_matches_reference, record, reference_matches_central_differences, write,
};
use common::{assert_close, download, gpu, Rng};
use webgan::graph::program::{ParamGrads, Pass, PassBuffers, PassOptions};
use webgan::graph::{Graph, Init, Layer, Shape3};
use webgan::kernels::activation::Activation;
use webgan::model::{NLayerDiscriminator, Norm, ResnetGenerator, UnetGenerator};

type Entry = (String, Vec<usize>);

/// The tensors a checkpoint holds for `g`, in order, as `train::checkpoint` writes them: batch
/// norm's packed [γ; β] as weight and bias, then its running_mean, running_var and
/// num_batches_tracked (a scalar), as `nn.BatchNorm2d.state_dict()` lists them.
fn state_dict(g: &Graph) -> Vec<Entry> {
    let mut out = Vec::new();
    for n in 0..g.nodes.len() {
        for p in g.params_of(n) {
            if p.init == Init::BatchNorm {
                let c = p.shape[1];
                out.push((format!("{}.weight", p.name), vec![c]));
                out.push((format!("{}.bias", p.name), vec![c]));
            } else {
                out.push((p.name, p.shape));
            }
        }
        let inputs = g.input_shapes(n);
        if g.nodes[n].layer.op().running(&inputs).is_some() {
            let (name, c) = (&g.nodes[n].name, inputs[0].c as usize);
            out.push((format!("{name}.running_mean"), vec![c]));
            out.push((format!("{name}.running_var"), vec![c]));
            out.push((format!("{name}.num_batches_tracked"), vec![]));
        }
    }
    out
}

/// `nn.Conv2d(inp, out, k, bias=bias)` at `name`.
fn conv(name: &str, out: usize, inp: usize, k: usize, bias: bool) -> Vec<Entry> {
    let mut v = vec![(format!("{name}.weight"), vec![out, inp, k, k])];
    if bias {
        v.push((format!("{name}.bias"), vec![out]));
    }
    v
}

/// `nn.ConvTranspose2d(inp, out, k, bias=bias)`: its weight is [in, out, k, k].
fn convt(name: &str, inp: usize, out: usize, k: usize, bias: bool) -> Vec<Entry> {
    let mut v = vec![(format!("{name}.weight"), vec![inp, out, k, k])];
    if bias {
        v.push((format!("{name}.bias"), vec![out]));
    }
    v
}

/// `nn.BatchNorm2d(c)`: parameters, then buffers.
fn bn(name: &str, c: usize) -> Vec<Entry> {
    vec![
        (format!("{name}.weight"), vec![c]),
        (format!("{name}.bias"), vec![c]),
        (format!("{name}.running_mean"), vec![c]),
        (format!("{name}.running_var"), vec![c]),
        (format!("{name}.num_batches_tracked"), vec![]),
    ]
}

fn assert_state_dict(what: &str, g: &Graph, want: Vec<Vec<Entry>>) {
    let want: Vec<Entry> = want.concat();
    let got = state_dict(g);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{what}: entry {i}");
    }
    assert_eq!(got.len(), want.len(), "{what}: {got:#?}");
}

fn dropouts(g: &Graph) -> Vec<&str> {
    g.nodes
        .iter()
        .filter(|n| matches!(n.layer, Layer::Dropout(_)))
        .map(|n| n.name.as_str())
        .collect()
}

fn param_count(g: &Graph) -> usize {
    (0..g.nodes.len())
        .flat_map(|n| g.params_of(n))
        .map(|p| p.shape.iter().product::<usize>())
        .sum()
}

fn resnet(
    input_nc: u32,
    output_nc: u32,
    ngf: u32,
    norm: Norm,
    use_dropout: bool,
    n_blocks: u32,
) -> ResnetGenerator {
    ResnetGenerator {
        ngf,
        use_dropout,
        n_blocks,
        ..ResnetGenerator::new(input_nc, output_nc, norm)
    }
}

fn unet(
    input_nc: u32,
    output_nc: u32,
    num_downs: u32,
    ngf: u32,
    norm: Norm,
    use_dropout: bool,
) -> UnetGenerator {
    UnetGenerator {
        ngf,
        use_dropout,
        ..UnetGenerator::new(input_nc, output_nc, num_downs, norm)
    }
}

fn patchgan(input_nc: u32, ndf: u32, n_layers: u32, norm: Norm) -> NLayerDiscriminator {
    NLayerDiscriminator {
        ndf,
        n_layers,
        ..NLayerDiscriminator::new(input_nc, norm)
    }
}

/// `model = [ReflectionPad2d(3), Conv2d, norm, ReLU]` (0–3), two downsamplings (4–6, 7–9),
/// one `ResnetBlock` per index from 10 (its `conv_block`: pad 0, conv 1, norm 2, ReLU 3,
/// [Dropout 4], pad, conv, norm), two upsamplings of three, pad, conv, Tanh.
#[test]
fn resnet_generator_names_and_shapes_are_the_references() {
    let g = resnet(3, 2, 2, Norm::Batch, true, 2).build(12, 8).unwrap();
    assert_state_dict(
        "resnet, batch norm, dropout, 2 blocks",
        &g,
        vec![
            conv("model.1", 2, 3, 7, false),
            bn("model.2", 2),
            conv("model.4", 4, 2, 3, false),
            bn("model.5", 4),
            conv("model.7", 8, 4, 3, false),
            bn("model.8", 8),
            conv("model.10.conv_block.1", 8, 8, 3, false),
            bn("model.10.conv_block.2", 8),
            conv("model.10.conv_block.6", 8, 8, 3, false),
            bn("model.10.conv_block.7", 8),
            conv("model.11.conv_block.1", 8, 8, 3, false),
            bn("model.11.conv_block.2", 8),
            conv("model.11.conv_block.6", 8, 8, 3, false),
            bn("model.11.conv_block.7", 8),
            convt("model.12", 8, 4, 3, false),
            bn("model.13", 4),
            convt("model.15", 4, 2, 3, false),
            bn("model.16", 2),
            conv("model.19", 2, 2, 7, true),
        ],
    );
    assert_eq!(
        dropouts(&g),
        ["model.10.conv_block.4", "model.11.conv_block.4"]
    );
    assert_eq!(g.output(), Shape3::new(2, 12, 8));

    let g = resnet(1, 3, 3, Norm::Instance, false, 1)
        .build(8, 12)
        .unwrap();
    assert_state_dict(
        "resnet, instance norm, 1 block",
        &g,
        vec![
            conv("model.1", 3, 1, 7, true),
            conv("model.4", 6, 3, 3, true),
            conv("model.7", 12, 6, 3, true),
            conv("model.10.conv_block.1", 12, 12, 3, true),
            conv("model.10.conv_block.5", 12, 12, 3, true),
            convt("model.11", 12, 6, 3, true),
            convt("model.14", 6, 3, 3, true),
            conv("model.18", 3, 3, 7, true),
        ],
    );
    assert!(dropouts(&g).is_empty());
}

/// CycleGAN's netG (resnet_9blocks, instance norm): the weights of its released models.
#[test]
fn cyclegan_generator_has_the_released_models_keys() {
    let g = resnet(3, 3, 64, Norm::Instance, false, 9)
        .build(256, 256)
        .unwrap();
    let mut want: Vec<String> = vec!["model.1".into(), "model.4".into(), "model.7".into()];
    for block in 10..19 {
        want.push(format!("model.{block}.conv_block.1"));
        want.push(format!("model.{block}.conv_block.5"));
    }
    want.extend(["model.19".into(), "model.22".into(), "model.26".into()]);
    let want: Vec<String> = want
        .iter()
        .flat_map(|m| [format!("{m}.weight"), format!("{m}.bias")])
        .collect();
    let got: Vec<String> = state_dict(&g).into_iter().map(|(name, _)| name).collect();
    assert_eq!(got, want);
}

/// The outermost block's `model` is [downconv, submodule, ReLU, upconv, Tanh]; an
/// intermediate one's [LeakyReLU, downconv, downnorm, submodule, ReLU, upconv, upnorm,
/// (Dropout)]; the innermost's [LeakyReLU, downconv, ReLU, upconv, upnorm].
#[test]
fn unet_generator_names_and_shapes_are_the_references() {
    let g = unet(3, 2, 6, 1, Norm::Batch, true).build(64, 64).unwrap();
    let l1 = "model.model.1.model";
    let l2 = "model.model.1.model.3.model";
    let l3 = "model.model.1.model.3.model.3.model";
    let l4 = "model.model.1.model.3.model.3.model.3.model";
    let l5 = "model.model.1.model.3.model.3.model.3.model.3.model";
    let at = |level: &str, i: u32| format!("{level}.{i}");
    assert_state_dict(
        "unet, 6 levels, batch norm, dropout",
        &g,
        vec![
            conv("model.model.0", 1, 3, 4, false),
            conv(&at(l1, 1), 2, 1, 4, false),
            bn(&at(l1, 2), 2),
            conv(&at(l2, 1), 4, 2, 4, false),
            bn(&at(l2, 2), 4),
            conv(&at(l3, 1), 8, 4, 4, false),
            bn(&at(l3, 2), 8),
            conv(&at(l4, 1), 8, 8, 4, false),
            bn(&at(l4, 2), 8),
            conv(&at(l5, 1), 8, 8, 4, false),
            convt(&at(l5, 3), 8, 8, 4, false),
            bn(&at(l5, 4), 8),
            convt(&at(l4, 5), 16, 8, 4, false),
            bn(&at(l4, 6), 8),
            convt(&at(l3, 5), 16, 4, 4, false),
            bn(&at(l3, 6), 4),
            convt(&at(l2, 5), 8, 2, 4, false),
            bn(&at(l2, 6), 2),
            convt(&at(l1, 5), 4, 1, 4, false),
            bn(&at(l1, 6), 1),
            convt("model.model.3", 2, 2, 4, true),
        ],
    );
    // The one 8·ngf block between the widening ones and the innermost drops.
    assert_eq!(dropouts(&g), [at(l4, 7)]);
    assert_eq!(g.output(), Shape3::new(2, 64, 64));

    let g = unet(1, 1, 5, 2, Norm::Instance, true)
        .build(32, 64)
        .unwrap();
    let (l1, l2, l3, l4) = (
        "model.model.1.model",
        "model.model.1.model.3.model",
        "model.model.1.model.3.model.3.model",
        "model.model.1.model.3.model.3.model.3.model",
    );
    assert_state_dict(
        "unet, 5 levels, instance norm",
        &g,
        vec![
            conv("model.model.0", 2, 1, 4, true),
            conv(&at(l1, 1), 4, 2, 4, true),
            conv(&at(l2, 1), 8, 4, 4, true),
            conv(&at(l3, 1), 16, 8, 4, true),
            conv(&at(l4, 1), 16, 16, 4, true),
            convt(&at(l4, 3), 16, 16, 4, true),
            convt(&at(l3, 5), 32, 8, 4, true),
            convt(&at(l2, 5), 16, 4, 4, true),
            convt(&at(l1, 5), 8, 2, 4, true),
            convt("model.model.3", 4, 1, 4, true),
        ],
    );
    // Five levels have no block between the widening ones and the innermost: nothing drops.
    assert!(dropouts(&g).is_empty());
    assert_eq!(g.output(), Shape3::new(1, 32, 64));
}

/// The reference's `LeakyReLU(0.2, True)` rewrites a block's input in place before
/// `torch.cat([x, self.model(x)], 1)` reads it: every skip joins LeakyReLU(x) to the output.
#[test]
fn unet_skips_join_the_leaky_input_as_the_reference_does() {
    let g = unet(3, 3, 5, 2, Norm::Batch, false).build(32, 32).unwrap();
    let cats: Vec<usize> = (0..g.nodes.len())
        .filter(|&n| matches!(g.nodes[n].layer, Layer::Cat(_)))
        .collect();
    assert_eq!(cats.len(), 4, "every block but the outermost joins");
    for n in cats {
        let node = &g.nodes[n];
        let first = g.producer(node.inputs[0]).expect("made by a node");
        assert_eq!(g.nodes[first].name, format!("{}.model.0", node.name));
        assert_eq!(
            g.nodes[first].layer,
            Layer::Activation(Activation::LeakyRelu(0.2))
        );
        let second = g.producer(node.inputs[1]).expect("made by a node");
        assert!(g.nodes[second].name.starts_with(&node.name));
    }
}

/// `[Conv2d s2, LeakyReLU]`, then per layer [Conv2d s2, norm, LeakyReLU], then [Conv2d s1,
/// norm, LeakyReLU], then `Conv2d(_, 1)`; widths ndf·min(2^n, 8).
#[test]
fn patchgan_names_and_shapes_are_the_references() {
    let g = patchgan(6, 2, 3, Norm::Batch).build(26, 36).unwrap();
    assert_state_dict(
        "patchgan, 3 layers, batch norm",
        &g,
        vec![
            conv("model.0", 2, 6, 4, true),
            conv("model.2", 4, 2, 4, false),
            bn("model.3", 4),
            conv("model.5", 8, 4, 4, false),
            bn("model.6", 8),
            conv("model.8", 16, 8, 4, false),
            bn("model.9", 16),
            conv("model.11", 1, 16, 4, true),
        ],
    );
    // 26 → 13 → 6 → 3 → 2 → 1 and 36 → 18 → 9 → 4 → 3 → 2.
    assert_eq!(g.output(), Shape3::new(1, 1, 2));

    let g = patchgan(3, 3, 2, Norm::Instance).build(20, 18).unwrap();
    assert_state_dict(
        "patchgan, 2 layers, instance norm",
        &g,
        vec![
            conv("model.0", 3, 3, 4, true),
            conv("model.2", 6, 3, 4, true),
            conv("model.5", 12, 6, 4, true),
            conv("model.8", 1, 12, 4, true),
        ],
    );
    assert_eq!(g.output(), Shape3::new(1, 3, 2));

    // Past 3 layers the width stays at 8·ndf.
    let g = patchgan(1, 1, 4, Norm::Instance).build(48, 48).unwrap();
    assert_state_dict(
        "patchgan, 4 layers",
        &g,
        vec![
            conv("model.0", 1, 1, 4, true),
            conv("model.2", 2, 1, 4, true),
            conv("model.5", 4, 2, 4, true),
            conv("model.8", 8, 4, 4, true),
            conv("model.11", 8, 8, 4, true),
            conv("model.14", 1, 8, 4, true),
        ],
    );
}

/// The real sizes, as graphs only (nothing is allocated), and the parameter counts the
/// reference prints when it builds them: 11.378 M for CycleGAN's G, 2.765 M for its D,
/// 54.414 M for pix2pix's unet_256 and 2.769 M for its D (which reads 6 channels).
#[test]
fn real_sizes_have_the_references_shapes_and_parameter_counts() {
    for side in [64, 128, 256] {
        let image = Shape3::new(3, side, side);
        let g = resnet(3, 3, 64, Norm::Instance, false, 9)
            .build(side, side)
            .unwrap();
        assert_eq!((g.input(), g.output()), (image, image));
        assert_eq!(param_count(&g), 11_378_179);
        let six = resnet(3, 3, 64, Norm::Batch, true, 6)
            .build(side, side)
            .unwrap();
        assert_eq!(six.output(), image);

        let num_downs = UnetGenerator::num_downs_for(side).unwrap();
        let g = unet(3, 3, num_downs, 64, Norm::Batch, true)
            .build(side, side)
            .unwrap();
        assert_eq!((g.input(), g.output()), (image, image));
        // The innermost block's down conv reaches 1×1 at 8·ngf.
        let innermost = format!(
            "model.model.1{}.model.1",
            ".model.3".repeat(num_downs as usize - 2)
        );
        let n = g.nodes.iter().position(|n| n.name == innermost).unwrap();
        assert_eq!(g.shape(g.output_of(n)), Shape3::new(512, 1, 1));
        assert_eq!(dropouts(&g).len(), num_downs as usize - 5);

        // 70×70 patches: 30×30 logits on 256, 14×14 on 128, 6×6 on 64.
        let patches = side / 8 - 2;
        let d = patchgan(3, 64, 3, Norm::Instance)
            .build(side, side)
            .unwrap();
        assert_eq!(d.output(), Shape3::new(1, patches, patches));
        assert_eq!(param_count(&d), 2_764_737);
        let d = patchgan(6, 64, 3, Norm::Batch).build(side, side).unwrap();
        assert_eq!(d.output(), Shape3::new(1, patches, patches));
        assert_eq!(param_count(&d), 2_768_705);
    }
    assert_eq!(UnetGenerator::num_downs_for(128).unwrap(), 7);
    let g = unet(3, 3, 8, 64, Norm::Batch, true)
        .build(256, 256)
        .unwrap();
    assert_eq!(param_count(&g), 54_413_955);
}

const BATCH: u32 = 2;

/// The train pass both ways against the twin, then an eval pass on the same net: batch norm
/// on the running statistics the train pass left, dropout passing its input on.
fn gpu_matches_reference_in_both_modes(g: &Graph) {
    let (net, mut cpu) = gpu_matches_reference(g, BATCH);
    let options = PassOptions {
        batch: BATCH,
        train: false,
        update_running: false,
        param_grads: ParamGrads::Skip,
        input_grad: false,
        backward: false,
    };
    let eval = Pass::new(gpu(), &net, options, PassBuffers::default()).expect("an eval pass");
    let x = Rng::new(3).vec(BATCH as usize * g.input().len());
    write(&eval.input, &x);
    record(|p| eval.record_forward(p));
    let (want, _) = cpu.forward(&x, BATCH, false, false);
    assert_close(
        "eval output",
        &download(&eval.output, want.len()),
        &want,
        1e-4,
        1e-3,
    );
}

#[test]
fn resnet_with_batch_norm_and_dropout_matches_the_reference() {
    let g = resnet(3, 2, 2, Norm::Batch, true, 2).build(12, 8).unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

#[test]
fn resnet_with_instance_norm_matches_the_reference() {
    let g = resnet(1, 3, 3, Norm::Instance, false, 1)
        .build(8, 12)
        .unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

#[test]
fn unet_with_batch_norm_and_dropout_matches_the_reference() {
    let g = unet(3, 2, 6, 1, Norm::Batch, true).build(64, 64).unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

#[test]
fn unet_with_instance_norm_matches_the_reference() {
    let g = unet(2, 3, 5, 2, Norm::Instance, false)
        .build(32, 64)
        .unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

#[test]
fn patchgan_with_batch_norm_matches_the_reference() {
    let g = patchgan(6, 2, 3, Norm::Batch).build(26, 36).unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

#[test]
fn patchgan_with_instance_norm_matches_the_reference() {
    let g = patchgan(3, 3, 2, Norm::Instance).build(20, 18).unwrap();
    gpu_matches_reference_in_both_modes(&g);
}

/// The twin's gradients of whole networks, skips, residuals and dropout included, at a few
/// elements of every tensor (each probe is two forward passes of the f64 reference).
#[test]
fn reference_gradients_of_the_networks_match_central_differences() {
    let probes = 8;
    let nets = [
        resnet(2, 1, 1, Norm::Batch, true, 1).build(8, 8).unwrap(),
        resnet(1, 2, 1, Norm::Instance, false, 1)
            .build(8, 12)
            .unwrap(),
        unet(1, 1, 5, 1, Norm::Batch, true).build(32, 32).unwrap(),
        unet(2, 1, 6, 1, Norm::Instance, true)
            .build(64, 64)
            .unwrap(),
        patchgan(2, 1, 2, Norm::Batch).build(16, 12).unwrap(),
        patchgan(1, 2, 3, Norm::Instance).build(24, 28).unwrap(),
    ];
    for g in &nets {
        reference_matches_central_differences(g, BATCH, probes);
    }
}

fn refused(what: &str, built: webgan::Result<Graph>, says: &str) {
    match built {
        Ok(_) => panic!("{what}: built"),
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains(says), "{what}: '{e}' does not say '{says}'");
        }
    }
}

#[test]
fn bad_configurations_are_refused_in_a_sentence() {
    let r = |f: fn(&mut ResnetGenerator)| {
        let mut c = resnet(3, 3, 4, Norm::Instance, false, 2);
        f(&mut c);
        c
    };
    refused(
        "resnet input_nc 0",
        r(|c| c.input_nc = 0).build(16, 16),
        "input_nc",
    );
    refused(
        "resnet output_nc",
        r(|c| c.output_nc = 65).build(16, 16),
        "output_nc",
    );
    refused("resnet ngf 0", r(|c| c.ngf = 0).build(16, 16), "ngf");
    refused(
        "resnet ngf max",
        r(|c| c.ngf = u32::MAX).build(16, 16),
        "ngf",
    );
    refused(
        "resnet blocks",
        r(|c| c.n_blocks = 51).build(16, 16),
        "n_blocks",
    );
    refused("resnet odd side", r(|_| {}).build(18, 16), "multiple of 4");
    refused(
        "resnet odd width",
        r(|_| {}).build(16, 10),
        "width must be a multiple of 4",
    );
    refused("resnet small side", r(|_| {}).build(4, 16), "height");
    refused("resnet zero side", r(|_| {}).build(16, 0), "width");
    refused("resnet huge side", r(|_| {}).build(u32::MAX, 16), "height");

    let u = |f: fn(&mut UnetGenerator)| {
        let mut c = unet(3, 3, 5, 2, Norm::Batch, true);
        f(&mut c);
        c
    };
    refused(
        "unet input_nc",
        u(|c| c.input_nc = 0).build(32, 32),
        "input_nc",
    );
    refused("unet ngf", u(|c| c.ngf = 1025).build(32, 32), "ngf");
    refused(
        "unet shallow",
        u(|c| c.num_downs = 4).build(32, 32),
        "num_downs",
    );
    refused(
        "unet deep",
        u(|c| c.num_downs = 11).build(2048, 2048),
        "num_downs",
    );
    refused(
        "unet depth max",
        u(|c| c.num_downs = u32::MAX).build(32, 32),
        "num_downs",
    );
    refused("unet side", u(|_| {}).build(48, 32), "multiple of 2^5 = 32");
    refused("unet small", u(|_| {}).build(32, 16), "width");
    refused("unet huge", u(|_| {}).build(32, u32::MAX), "width");
    refused(
        "unet deep side",
        u(|c| c.num_downs = 8).build(128, 128),
        "multiple of 2^8",
    );
    for side in [0, 1, 16, 48, 100, 2048, u32::MAX] {
        let e = UnetGenerator::num_downs_for(side).expect_err("not a U-Net side");
        assert!(e.to_string().contains("power of two"), "{side}: {e}");
    }
    for (side, downs) in [(32, 5), (64, 6), (128, 7), (256, 8), (1024, 10)] {
        assert_eq!(UnetGenerator::num_downs_for(side).unwrap(), downs);
    }

    let d = |f: fn(&mut NLayerDiscriminator)| {
        let mut c = patchgan(3, 4, 3, Norm::Instance);
        f(&mut c);
        c
    };
    refused(
        "patchgan input_nc",
        d(|c| c.input_nc = 0).build(32, 32),
        "input_nc",
    );
    refused("patchgan ndf", d(|c| c.ndf = 0).build(32, 32), "ndf");
    refused(
        "patchgan layers",
        d(|c| c.n_layers = 9).build(1024, 1024),
        "n_layers",
    );
    refused("patchgan small", d(|_| {}).build(23, 32), "at least 24");
    refused("patchgan huge", d(|_| {}).build(32, 1025), "width");
    assert!(
        d(|c| c.n_layers = 0).build(6, 6).is_ok(),
        "the reference builds 0 layers"
    );

    assert_eq!(Norm::parse("instance").unwrap(), Norm::Instance);
    assert_eq!(Norm::parse("batch").unwrap(), Norm::Batch);
    let e = Norm::parse("none").expect_err("not offered");
    assert!(e.to_string().contains("batch or instance"), "{e}");
}

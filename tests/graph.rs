//! Graphs beyond a chain: a U-Net-style concat skip, a residual add, two inputs and two
//! outputs, a tensor with four readers. The GPU program (with its fusions and gradient fan-in)
//! against the CPU reference of the same graph, forward and backward; the reference against
//! central differences.
mod common;

use common::{assert_close, assert_gradient, dot, download, gpu, numeric_gradient, Rng};
use webgan::graph::ops::{
    Add, BatchNorm2d, Cat, Conv2d, Dense, Dropout, InstanceNorm2d, PixelShuffle, ReflectionPad2d,
    Reshape, Upsample,
};
use webgan::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions, PassRng};
use webgan::graph::{Builder, Graph, Layer, Shape3};
use webgan::kernels::activation::Activation;
use webgan::kernels::upsample::UpsampleMode;
use webgan::reference::graph::CpuNet;

const BATCH: u32 = 3;

fn conv(out_channels: u32, kernel: u32, bias: bool) -> Layer {
    Layer::Conv(Conv2d {
        out_channels,
        kernel,
        stride: 1,
        padding: kernel / 2,
        bias,
    })
}

/// x and y joined, a rectified conv r of `width` channels, an inner block (conv, batch norm,
/// relu) joined back to r, a conv added to r, tanh; and a dense head on r flattened. r has
/// four readers.
fn skip_graph(h: u32, w: u32, width: u32) -> Graph {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(3, h, w));
    let y = b.input(Shape3::new(2, h, w));
    let xy = b.add("join", Layer::Cat(Cat), &[x, y]).unwrap();
    let a = b.add("down", conv(width, 3, true), &[xy]).unwrap();
    let r = b
        .add(
            "down_act",
            Layer::Activation(Activation::LeakyRelu(0.2)),
            &[a],
        )
        .unwrap();
    let inner = b.add("inner.0", conv(width - 2, 3, false), &[r]).unwrap();
    let inner = b
        .add("inner.1", Layer::BatchNorm(BatchNorm2d), &[inner])
        .unwrap();
    let inner = b
        .add("inner.2", Layer::Activation(Activation::Relu), &[inner])
        .unwrap();
    let skip = b.add("skip", Layer::Cat(Cat), &[inner, r]).unwrap();
    let c = b.add("up", conv(width, 3, true), &[skip]).unwrap();
    let sum = b.add("residual", Layer::Add(Add), &[c, r]).unwrap();
    let out = b
        .add("out", Layer::Activation(Activation::Tanh), &[sum])
        .unwrap();
    let flat = b
        .add(
            "flat",
            Layer::Reshape(Reshape(Shape3::new(width * h * w, 1, 1))),
            &[r],
        )
        .unwrap();
    let head = b
        .add(
            "head",
            Layer::Dense(Dense {
                out_features: 3,
                bias: true,
            }),
            &[flat],
        )
        .unwrap();
    b.finish(&[out, head]).unwrap()
}

/// The draw of the random ops: the counter's word 0 holds the step.
const SEED: u64 = 9;
const STEP: u32 = 3;

fn step_rng() -> PassRng {
    PassRng {
        seed: SEED,
        counters: gpu().storage_from("counters", &[STEP, 0, 0, 0]),
        index: 0,
    }
}

fn record(run: impl FnOnce(&mut wgpu::ComputePass<'_>)) {
    let gpu = gpu();
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        run(&mut pass);
    }
    gpu.queue.submit([encoder.finish()]);
}

fn len(shape: Shape3) -> usize {
    BATCH as usize * shape.len()
}

/// A ResNet block as CycleGAN's ResnetGenerator writes it (reflection pad, conv, instance norm,
/// relu, reflection pad, conv, instance norm, added to its input), then a decoder of a pixel
/// shuffle and a bilinear upsampling, with an affine instance norm between.
fn resnet_graph(h: u32, w: u32, c: u32) -> Graph {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(c, h, w));
    let valid = |out| {
        Layer::Conv(Conv2d {
            out_channels: out,
            kernel: 3,
            stride: 1,
            padding: 0,
            bias: true,
        })
    };
    let norm = Layer::InstanceNorm(InstanceNorm2d { affine: false });
    let mut t = b
        .add("block.0", Layer::ReflectionPad(ReflectionPad2d(1)), &[x])
        .unwrap();
    t = b.add("block.1", valid(c), &[t]).unwrap();
    t = b.add("block.2", norm, &[t]).unwrap();
    t = b
        .add("block.3", Layer::Activation(Activation::Relu), &[t])
        .unwrap();
    // ResnetBlock's use_dropout: Dropout(0.5) between its two convolutions.
    let dropout = Layer::Dropout(Dropout {
        p: 0.5,
        at_test: false,
    });
    t = b.add("block.3b", dropout, &[t]).unwrap();
    t = b
        .add("block.4", Layer::ReflectionPad(ReflectionPad2d(1)), &[t])
        .unwrap();
    t = b.add("block.5", valid(c), &[t]).unwrap();
    t = b.add("block.6", norm, &[t]).unwrap();
    let sum = b.add("residual", Layer::Add(Add), &[x, t]).unwrap();
    let wide = b.add("expand", conv(4 * c, 3, false), &[sum]).unwrap();
    let shuffled = b
        .add("shuffle", Layer::PixelShuffle(PixelShuffle(2)), &[wide])
        .unwrap();
    let affine = Layer::InstanceNorm(InstanceNorm2d { affine: true });
    let normed = b.add("norm", affine, &[shuffled]).unwrap();
    let up = Layer::Upsample(Upsample {
        scale: 2,
        mode: UpsampleMode::Bilinear,
    });
    let out = b.add("up", up, &[normed]).unwrap();
    b.finish(&[out]).unwrap()
}

#[test]
fn skip_and_residual_graph_matches_the_reference_both_ways() {
    gpu_matches_reference(skip_graph(7, 9, 6));
}

#[test]
fn resnet_block_and_decoder_match_the_reference_both_ways() {
    gpu_matches_reference(resnet_graph(5, 7, 3));
}

fn gpu_matches_reference(graph: Graph) {
    let net = Net::new(gpu(), graph.clone(), 7);
    let pass = Pass::new(
        gpu(),
        &net,
        PassOptions {
            batch: BATCH,
            train: true,
            update_running: true,
            param_grads: ParamGrads::Overwrite,
            input_grad: true,
            backward: true,
        },
        PassBuffers {
            rng: Some(step_rng()),
            ..Default::default()
        },
    )
    .expect("a pass");
    let mut cpu = pollster::block_on(net.to_cpu(gpu())).expect("weights");
    cpu.rng = Some((SEED, STEP));
    let mut rng = Rng::new(11);
    let inputs: Vec<Vec<f64>> = graph.inputs.iter().map(|&s| rng.vec(len(s))).collect();
    for (buffer, x) in pass.inputs.iter().zip(&inputs) {
        gpu()
            .queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(&common::to_f32(x)));
    }
    let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
    let acts = cpu.forward_all(&refs, BATCH, true, true);
    record(|p| pass.record_forward(p));
    for (k, (&t, buffer)) in graph.outputs.iter().zip(&pass.outputs).enumerate() {
        let want = &acts.values[t.0];
        let got = download(buffer, want.len());
        assert_close(&format!("output {k}"), &got, want, 1e-4, 1e-3);
    }

    let doutputs: Vec<Vec<f64>> = graph
        .outputs
        .iter()
        .map(|&t| rng.vec(len(graph.shape(t))))
        .collect();
    for (buffer, d) in pass.doutputs.iter().zip(&doutputs) {
        gpu()
            .queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(&common::to_f32(d)));
    }
    record(|p| pass.record_backward(p));
    let drefs: Vec<&[f64]> = doutputs.iter().map(|d| d.as_slice()).collect();
    let (dinputs, dparams) = cpu.backward_all(&acts, &drefs, BATCH);
    for (k, (d, want)) in pass.dinputs.iter().zip(&dinputs).enumerate() {
        let d = d.as_ref().expect("input gradients were asked for");
        assert_close(
            &format!("d input {k}"),
            &download(d, want.len()),
            want,
            1e-4,
            1e-3,
        );
    }
    for (node, (params, wants)) in net.params.iter().zip(&dparams).enumerate() {
        for (p, want) in params.iter().zip(wants) {
            let what = format!("d {} (node {node})", p.spec.name);
            assert_close(&what, &download(&p.grad, want.len()), want, 1e-4, 1e-3);
        }
    }
    // Batch norms moved their running statistics as the reference did.
    for (n, running) in net.running.iter().enumerate() {
        if let (Some(got), Some(want)) = (running, &cpu.running[n]) {
            let got = download(got, want.len());
            assert_close("running statistics", &got, want, 1e-5, 1e-4);
        }
    }
}

/// The reference's backward, fan-in included, against central differences of its forward.
#[test]
fn reference_gradients_of_the_skip_graph_match_central_differences() {
    reference_matches_central_differences(skip_graph(3, 2, 3));
}

#[test]
fn reference_gradients_of_the_resnet_graph_match_central_differences() {
    reference_matches_central_differences(resnet_graph(3, 4, 2));
}

fn reference_matches_central_differences(graph: Graph) {
    let mut rng = Rng::new(5);
    let params: Vec<Vec<Vec<f64>>> = (0..graph.nodes.len())
        .map(|n| {
            graph
                .params_of(n)
                .iter()
                .map(|p| {
                    let len: usize = p.shape.iter().product();
                    rng.vec(len).iter().map(|v| 0.5 * v).collect()
                })
                .collect()
        })
        .collect();
    let running = (0..graph.nodes.len())
        .map(|n| {
            graph.nodes[n]
                .layer
                .op()
                .running(&graph.input_shapes(n))
                .map(|r| r.iter().map(|&v| v as f64).collect())
        })
        .collect();
    let cpu = CpuNet {
        arch: graph.clone(),
        params,
        running,
        rng: Some((SEED, STEP)),
    };
    let inputs: Vec<Vec<f64>> = graph.inputs.iter().map(|&s| rng.vec(len(s))).collect();
    let weights: Vec<Vec<f64>> = graph
        .outputs
        .iter()
        .map(|&t| rng.vec(len(graph.shape(t))))
        .collect();
    let loss = |net: &CpuNet, inputs: &[Vec<f64>]| -> f64 {
        let mut net = net.clone();
        let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
        let acts = net.forward_all(&refs, BATCH, true, false);
        graph
            .outputs
            .iter()
            .zip(&weights)
            .map(|(t, w)| dot(&acts.values[t.0], w))
            .sum()
    };
    let mut net = cpu.clone();
    let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
    let acts = net.forward_all(&refs, BATCH, true, false);
    let wrefs: Vec<&[f64]> = weights.iter().map(|w| w.as_slice()).collect();
    let (dinputs, dparams) = net.backward_all(&acts, &wrefs, BATCH);
    for k in 0..inputs.len() {
        let numeric = numeric_gradient(&inputs[k], |x| {
            let mut changed = inputs.clone();
            changed[k] = x.to_vec();
            loss(&cpu, &changed)
        });
        assert_gradient(&format!("d input {k}"), &dinputs[k], &numeric);
    }
    for (n, node_params) in cpu.params.iter().enumerate() {
        for (i, p) in node_params.iter().enumerate() {
            let numeric = numeric_gradient(p, |v| {
                let mut changed = cpu.clone();
                changed.params[n][i] = v.to_vec();
                loss(&changed, &inputs)
            });
            let what = format!("d {} param {i}", graph.nodes[n].name);
            assert_gradient(&what, &dparams[n][i], &numeric);
        }
    }
}

/// Dropout passes its input on in eval mode (sampling), needs no counter there, and keeps
/// drawing with `at_test` (pix2pix's noise); a pass that must draw without the counter is
/// refused.
#[test]
fn dropout_is_the_identity_in_eval_unless_kept_at_test() {
    let shape = Shape3::new(2, 3, 5);
    let graph = |at_test| {
        let layers = vec![Layer::Dropout(Dropout { p: 0.5, at_test })];
        Graph::sequential("drop", shape, layers).unwrap()
    };
    let x = Rng::new(4).vec(len(shape));
    let eval = |at_test, rng: Option<PassRng>| {
        let net = Net::new(gpu(), graph(at_test), 1);
        let options = PassOptions {
            batch: BATCH,
            train: false,
            update_running: false,
            param_grads: ParamGrads::Skip,
            input_grad: false,
            backward: false,
        };
        let buffers = PassBuffers {
            rng,
            ..Default::default()
        };
        let pass = Pass::new(gpu(), &net, options, buffers)?;
        let input = common::to_f32(&x);
        gpu()
            .queue
            .write_buffer(&pass.input, 0, bytemuck::cast_slice(&input));
        record(|p| pass.record_forward(p));
        Ok::<_, webgan::Error>(download(&pass.output, x.len()))
    };
    assert_eq!(eval(false, None).unwrap(), x, "eval: the input as it is");
    let kept = eval(true, Some(step_rng())).unwrap();
    let stream = webgan::streams::dropout(0);
    let mask = webgan::reference::dropout::mask(SEED, stream, STEP, x.len(), 0.5);
    let want = webgan::reference::dropout::forward(&x, &mask, 0.5);
    assert_close("dropout at test", &kept, &want, 1e-6, 1e-6);
    let zeros = kept.iter().filter(|&&v| v == 0.0).count();
    assert!(
        zeros > x.len() / 4 && zeros < 3 * x.len() / 4,
        "{zeros} dropped"
    );
    let err = eval(true, None)
        .expect_err("no counter, no draw")
        .to_string();
    assert!(err.contains("random counter"), "{err}");
}

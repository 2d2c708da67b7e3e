//! Graphs beyond a chain: a U-Net-style concat skip, a residual add, two inputs and two
//! outputs, a tensor with four readers. The GPU program (with its fusions and gradient fan-in)
//! against the CPU reference of the same graph, forward and backward; the reference against
//! central differences.
use crate::common;

use common::graph_case::{
    gpu_matches_reference, record, reference_matches_central_differences, step_rng, SEED, STEP,
};
use common::{assert_close, download, gpu, Rng};
use webgan::graph::ops::{
    Add, BatchNorm2d, Cat, Conv2d, Dense, Dropout, InstanceNorm2d, Narrow, PixelShuffle,
    ReflectionPad2d, Reshape, Upsample,
};
use webgan::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions, PassRng};
use webgan::graph::{Builder, Graph, Layer, Shape3};
use webgan::kernels::activation::Activation;
use webgan::kernels::upsample::UpsampleMode;

const BATCH: u32 = 3;

fn conv(out_channels: u32, kernel: u32, bias: bool) -> Layer {
    Layer::Conv(Conv2d {
        out_channels,
        kernel,
        stride: 1,
        padding: kernel / 2,
        bias,
        spectral_norm: false,
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
        .add("inner.1", Layer::BatchNorm(BatchNorm2d::AFFINE), &[inner])
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
                spectral_norm: false,
            }),
            &[flat],
        )
        .unwrap();
    b.finish(&[out, head]).unwrap()
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
            spectral_norm: false,
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

/// A split along channels (InfoGAN's head: D's logit beside its Q codes): one conv's output
/// narrowed into a one-channel part and the rest, each with its own reader, and the middle
/// channels read a third time, so that the input's gradient sums three narrows' (one writes,
/// two add).
fn split_graph(h: u32, w: u32) -> Graph {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(2, h, w));
    let body = b.add("body", conv(5, 3, true), &[x]).unwrap();
    let narrow = |start, channels| Layer::Narrow(Narrow { start, channels });
    let logit = b.add("logit", narrow(0, 1), &[body]).unwrap();
    let codes = b.add("codes", narrow(1, 4), &[body]).unwrap();
    let middle = b.add("middle", narrow(2, 2), &[body]).unwrap();
    let q = b.add("q", conv(3, 1, true), &[codes]).unwrap();
    let m = b
        .add("m", Layer::Activation(Activation::Tanh), &[middle])
        .unwrap();
    b.finish(&[logit, q, m]).unwrap()
}

#[test]
fn a_channel_split_matches_the_reference_both_ways() {
    gpu_matches_reference(&split_graph(5, 3), BATCH);
}

#[test]
fn reference_gradients_of_the_split_match_central_differences() {
    reference_matches_central_differences(&split_graph(3, 2), BATCH, usize::MAX);
}

#[test]
fn a_narrow_past_the_channels_is_refused() {
    let mut b = Builder::new();
    let x = b.input(Shape3::new(3, 2, 2));
    let too_far = Layer::Narrow(Narrow {
        start: 2,
        channels: 2,
    });
    let msg = b.add("q", too_far, &[x]).unwrap_err().to_string();
    assert!(msg.contains("channels 2..4"), "{msg}");
    let empty = Layer::Narrow(Narrow {
        start: 0,
        channels: 0,
    });
    assert!(b.add("q", empty, &[x]).is_err());
}

#[test]
fn skip_and_residual_graph_matches_the_reference_both_ways() {
    gpu_matches_reference(&skip_graph(7, 9, 6), BATCH);
}

#[test]
fn resnet_block_and_decoder_match_the_reference_both_ways() {
    gpu_matches_reference(&resnet_graph(5, 7, 3), BATCH);
}

/// The reference's backward, fan-in included, against central differences of its forward.
#[test]
fn reference_gradients_of_the_skip_graph_match_central_differences() {
    reference_matches_central_differences(&skip_graph(3, 2, 3), BATCH, usize::MAX);
}

#[test]
fn reference_gradients_of_the_resnet_graph_match_central_differences() {
    reference_matches_central_differences(&resnet_graph(3, 4, 2), BATCH, usize::MAX);
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

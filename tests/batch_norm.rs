//! Batch norm: the reference backward against central differences, and the GPU against the
//! reference in train mode (output, dinput, dγ, dβ, running statistics after one and two
//! steps) and eval mode, on awkward shapes.
//!
//! GPU tolerance: the GPU reduces the M = batch·pixels values of a channel in f32 (tree
//! sums), the reference in f64. Per-element results (output, dinput, running statistics)
//! carry the f32 error of the mean and 1/σ, a few ε·log2(M) relative with ε = 6e-8: ~1e-6 for
//! M ≤ 300 (3e-7 seen on lavapipe), so atol 1e-5 + rtol 1e-4 leaves a margin of 10× or more;
//! atol also covers dinput's cancellation in M·dy − Σdy − x̂·Σdy·x̂. dγ and dβ are sums of M
//! terms of size ≤ ~2, whose f32 error grows like ε·log2(M)·Σ|term| (≤ 6e-8·9·600 ≈ 3e-4 at
//! worst), so they get 1e-6·M more atol. A wrong index or formula gives errors of 0.1–1.

use crate::common;

use common::*;
use webgan::kernels::batch_norm::{BatchNorm, BatchNormBuffers, BatchNormOptions, BatchNormShape};
use webgan::reference::batch_norm as bn;
use webgan::Error;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;
const EPS: f64 = 1e-5;
const MOMENTUM: f64 = 0.1;

fn shape(batch: u32, channels: u32, pixels: u32) -> BatchNormShape {
    BatchNormShape {
        batch,
        channels,
        pixels,
    }
}

/// Tolerance of a sum over the M values of a channel (see the header).
fn sum_atol(s: &BatchNormShape) -> f64 {
    ATOL + 1e-6 * s.per_channel() as f64
}

#[test]
fn reference_gradients_match_central_differences() {
    for s in [shape(2, 3, 4), shape(5, 2, 1)] {
        let mut rng = Rng::new(3);
        let x = rng.vec(s.tensor_len());
        let c = s.channels as usize;
        let gamma: Vec<f64> = rng.vec(c).iter().map(|g| 1.0 + 0.5 * g).collect();
        let beta = rng.vec(c);
        let projection = rng.vec(s.tensor_len());
        let (dx, dgamma, dbeta) = bn::backward(&s, &x, &gamma, &projection, EPS);
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            dot(&projection, &bn::forward_train(&s, x, gamma, beta, EPS))
        };
        let what = format!("{s:?}");
        assert_gradient(
            &format!("{what} dinput"),
            &dx,
            &numeric_gradient(&x, |x| loss(x, &gamma, &beta)),
        );
        assert_gradient(
            &format!("{what} dgamma"),
            &dgamma,
            &numeric_gradient(&gamma, |g| loss(&x, g, &beta)),
        );
        assert_gradient(
            &format!("{what} dbeta"),
            &dbeta,
            &numeric_gradient(&beta, |b| loss(&x, &gamma, b)),
        );
    }
}

/// Random data for one layer; the running statistics start away from PyTorch's (0, 1) so that
/// a wrong momentum or mixing order shows, after 0, 3 or 30 updates (by seed) so that both the
/// averaging start (weight 1/(n + 1)) and the exponential regime (momentum) are checked.
struct Data {
    x: Vec<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    running_mean: Vec<f64>,
    running_var: Vec<f64>,
    updates: f64,
    dy: Vec<f64>,
}

impl Data {
    fn new(s: &BatchNormShape, seed: u64) -> Data {
        let mut rng = Rng::new(seed);
        let c = s.channels as usize;
        // An offset per channel, so that the mean is not ~0 and the centring is tested.
        let offsets = rng.vec(c);
        let mut x = rng.vec(s.tensor_len());
        for (k, v) in x.iter_mut().enumerate() {
            *v = (*v + 2.0 * offsets[(k / s.pixels as usize) % c]) as f32 as f64;
        }
        Data {
            x,
            gamma: rng
                .vec(c)
                .iter()
                .map(|g| (1.0 + 0.5 * g) as f32 as f64)
                .collect(),
            beta: rng.vec(c),
            running_mean: rng.vec(c),
            running_var: (0..c)
                .map(|_| rng.uniform(0.5, 1.5) as f32 as f64)
                .collect(),
            updates: [0.0, 3.0, 30.0][seed as usize % 3],
            dy: rng.vec(s.tensor_len()),
        }
    }

    /// [running mean; running var; updates], as the GPU keeps them.
    fn running(&self) -> Vec<f64> {
        [&self.running_mean[..], &self.running_var, &[self.updates]].concat()
    }
}

/// The eight buffers of one layer, uploaded from `Data`; dinput and daffine hold `before`.
struct Layer {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    affine: wgpu::Buffer,
    running: wgpu::Buffer,
    saved: wgpu::Buffer,
    doutput: wgpu::Buffer,
    dinput: wgpu::Buffer,
    daffine: wgpu::Buffer,
}

impl Layer {
    fn new(s: &BatchNormShape, d: &Data, dinput_before: &[f64], daffine_before: &[f64]) -> Layer {
        Layer {
            input: upload(&d.x),
            output: gpu().storage("output", s.tensor_len()),
            affine: upload(&[d.gamma.as_slice(), &d.beta].concat()),
            running: upload(&d.running()),
            saved: gpu().storage("saved", s.saved_len()),
            doutput: upload(&d.dy),
            dinput: upload(dinput_before),
            daffine: upload(daffine_before),
        }
    }

    fn build(&self, s: BatchNormShape, options: BatchNormOptions) -> webgan::Result<BatchNorm> {
        let buffers = BatchNormBuffers {
            input: &self.input,
            output: &self.output,
            affine: &self.affine,
            running: &self.running,
            saved: &self.saved,
            doutput: &self.doutput,
            dinput: &self.dinput,
            daffine: &self.daffine,
        };
        BatchNorm::new(gpu(), s, options, &buffers)
    }

    /// The output against `want`.
    fn check_output(&self, what: &str, s: &BatchNormShape, want: &[f64]) {
        let got = download(&self.output, s.tensor_len());
        assert_close(&format!("{what} output"), &got, want, ATOL, RTOL);
    }

    /// dinput, dγ and dβ against the reference's `(dx, dgamma, dbeta)`; the per-channel sums
    /// get the wider tolerance of sums of M terms.
    fn check_gradients(
        &self,
        what: &str,
        s: &BatchNormShape,
        want: &(Vec<f64>, Vec<f64>, Vec<f64>),
    ) {
        let (dx, dgamma, dbeta) = want;
        let got_dx = download(&self.dinput, s.tensor_len());
        assert_close(&format!("{what} dinput"), &got_dx, dx, ATOL, RTOL);
        let (got_dgamma, got_dbeta) = Layer::halves(&self.daffine, s.channels as usize);
        assert_close(
            &format!("{what} dgamma"),
            &got_dgamma,
            dgamma,
            sum_atol(s),
            RTOL,
        );
        assert_close(
            &format!("{what} dbeta"),
            &got_dbeta,
            dbeta,
            sum_atol(s),
            RTOL,
        );
    }

    /// (first half, second half) of a [2, channels] buffer.
    fn halves(buffer: &wgpu::Buffer, channels: usize) -> (Vec<f64>, Vec<f64>) {
        let v = download(buffer, 2 * channels);
        (v[..channels].to_vec(), v[channels..].to_vec())
    }
}

/// [running mean; running var; updates] on the GPU against the reference's.
fn check_running(what: &str, layer: &Layer, s: &BatchNormShape, want: &[f64]) {
    let c = s.channels as usize;
    let got = download(&layer.running, 2 * c + 1);
    assert_close(
        &format!("{what} running_mean"),
        &got[..c],
        &want[..c],
        ATOL,
        RTOL,
    );
    assert_close(
        &format!("{what} running_var"),
        &got[c..2 * c],
        &want[c..2 * c],
        ATOL,
        RTOL,
    );
    assert_eq!(got[2 * c], want[2 * c], "{what} updates");
}

/// Batch 1; 3 channels of 5×7; 65 channels; dense (pixels 1); M = 300 in 2 segments; M = 679
/// in 3 segments that end mid-image.
fn awkward_shapes() -> [BatchNormShape; 6] {
    [
        shape(1, 3, 35),
        shape(2, 65, 3),
        shape(4, 5, 1),
        shape(3, 2, 100),
        shape(2, 7, 11),
        shape(7, 3, 97),
    ]
}

#[test]
fn gpu_train_steps_and_eval_match_reference() {
    let gpu = gpu();
    for (seed, s) in awkward_shapes().into_iter().enumerate() {
        let what = format!("{s:?}");
        let c = s.channels as usize;
        let d = Data::new(&s, seed as u64);
        // Garbage in the gradients: overwrite mode must not read them.
        let layer = Layer::new(&s, &d, &vec![7.0; s.tensor_len()], &vec![7.0; 2 * c]);
        let layer_bn = layer
            .build(s, BatchNormOptions::default())
            .expect("valid layer");

        // Step 1: forward and backward in one submission.
        gpu.run(&[&layer_bn.forward_train()[..], &layer_bn.backward()[..]].concat());
        layer.check_output(
            &what,
            &s,
            &bn::forward_train(&s, &d.x, &d.gamma, &d.beta, EPS),
        );
        layer.check_gradients(&what, &s, &bn::backward(&s, &d.x, &d.gamma, &d.dy, EPS));
        let mut running = d.running();
        let (mean, var) = bn::statistics(&s, &d.x);
        bn::update_running(&s, &mean, &var, MOMENTUM, &mut running);
        check_running(&format!("{what} step 1"), &layer, &s, &running);

        // Step 2 on a new batch: the running statistics move again.
        let x2 = Rng::new(100 + seed as u64).vec(s.tensor_len());
        let x2_f32 = to_f32(&x2);
        gpu.queue
            .write_buffer(&layer.input, 0, bytemuck::cast_slice(&x2_f32));
        gpu.run(&layer_bn.forward_train());
        let (mean, var) = bn::statistics(&s, &x2);
        bn::update_running(&s, &mean, &var, MOMENTUM, &mut running);
        check_running(&format!("{what} step 2"), &layer, &s, &running);

        // Eval: the running statistics normalise, and stay as they were.
        gpu.run(&layer_bn.forward_eval());
        let (running_mean, running_var) = running[..2 * c].split_at(c);
        let want = bn::forward_eval(&s, &x2, &d.gamma, &d.beta, running_mean, running_var, EPS);
        layer.check_output(&format!("{what} eval"), &s, &want);
        check_running(&format!("{what} after eval"), &layer, &s, &running);
    }
}

#[test]
fn backward_accumulates_when_asked() {
    let gpu = gpu();
    let s = shape(2, 3, 5);
    let c = s.channels as usize;
    let d = Data::new(&s, 9);
    let mut rng = Rng::new(10);
    let (dinput_before, daffine_before) = (rng.vec(s.tensor_len()), rng.vec(2 * c));
    let layer = Layer::new(&s, &d, &dinput_before, &daffine_before);
    let options = BatchNormOptions {
        accumulate_input: true,
        accumulate_params: true,
        ..Default::default()
    };
    let layer_bn = layer.build(s, options).expect("valid layer");
    let forward = layer_bn.forward_train();
    let backward = layer_bn.backward();
    // Backward twice: each gradient = before + 2 · gradient.
    gpu.run(&[&forward[..], &backward[..], &backward[..]].concat());
    let (dx, dgamma, dbeta) = bn::backward(&s, &d.x, &d.gamma, &d.dy, EPS);
    let twice = |before: &[f64], grad: &[f64]| -> Vec<f64> {
        before.iter().zip(grad).map(|(b, g)| b + 2.0 * g).collect()
    };
    assert_close(
        "accumulated dinput",
        &download(&layer.dinput, s.tensor_len()),
        &twice(&dinput_before, &dx),
        ATOL,
        RTOL,
    );
    let want_daffine = twice(&daffine_before, &[dgamma, dbeta].concat());
    let got_daffine = download(&layer.daffine, 2 * c);
    assert_close(
        "accumulated daffine",
        &got_daffine,
        &want_daffine,
        sum_atol(&s),
        RTOL,
    );
}

/// ReLU and leaky ReLU done in the batch norm's own passes: train output, dinput, dγ, dβ and
/// the eval output equal the reference batch norm followed by the reference activation, with
/// the gradient arriving at the activation's output. Activations that cannot be fused are
/// refused.
#[test]
fn a_fused_relu_or_leaky_relu_matches_the_layers_one_after_the_other() {
    use webgan::kernels::activation::Activation;
    use webgan::reference::activation as act;
    let gpu = gpu();
    for (i, (s, a)) in [
        (shape(2, 3, 5), Activation::Relu),
        (shape(3, 7, 11), Activation::LeakyRelu(0.2)),
        (shape(4, 5, 1), Activation::LeakyRelu(0.01)),
        (shape(7, 3, 97), Activation::LeakyRelu(0.0)),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("{s:?} {a:?}");
        let c = s.channels as usize;
        let d = Data::new(&s, 40 + i as u64);
        let layer = Layer::new(&s, &d, &vec![7.0; s.tensor_len()], &vec![7.0; 2 * c]);
        let options = BatchNormOptions {
            activation: Some(a),
            ..Default::default()
        };
        let layer_bn = layer.build(s, options).expect("valid layer");
        gpu.run(&[&layer_bn.forward_train()[..], &layer_bn.backward()[..]].concat());
        let y = bn::forward_train(&s, &d.x, &d.gamma, &d.beta, EPS);
        layer.check_output(&what, &s, &act::forward(a, &y));
        // d.dy arrives at the activation's output.
        let dy = act::backward(a, &y, &d.dy);
        layer.check_gradients(&what, &s, &bn::backward(&s, &d.x, &d.gamma, &dy, EPS));

        gpu.run(&layer_bn.forward_eval());
        let mut running = d.running();
        let (mean, var) = bn::statistics(&s, &d.x);
        bn::update_running(&s, &mean, &var, MOMENTUM, &mut running);
        let (running_mean, running_var) = running[..2 * c].split_at(c);
        let y = bn::forward_eval(&s, &d.x, &d.gamma, &d.beta, running_mean, running_var, EPS);
        layer.check_output(&format!("{what} eval"), &s, &act::forward(a, &y));
    }

    let s = shape(2, 3, 5);
    let d = Data::new(&s, 49);
    let layer = Layer::new(&s, &d, &d.x, &[0.0; 6]);
    for a in [
        Activation::Tanh,
        Activation::Selu,
        Activation::Sigmoid,
        Activation::LeakyRelu(-0.5),
        Activation::LeakyRelu(f32::NAN),
    ] {
        let options = BatchNormOptions {
            activation: Some(a),
            ..Default::default()
        };
        assert!(
            matches!(layer.build(s, options), Err(Error::Invalid(_))),
            "{a:?} cannot be fused"
        );
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let gpu = gpu();
    let s = shape(2, 3, 4);
    let d = Data::new(&s, 1);
    let layer = Layer::new(&s, &d, &d.x, &[0.0; 6]);
    let shape_error = |result: webgan::Result<BatchNorm>, why: &str| {
        assert!(
            matches!(result, Err(Error::Shape { .. })),
            "{why}: {:?}",
            result.err()
        );
    };
    shape_error(
        layer.build(shape(2, 0, 4), Default::default()),
        "0 channels",
    );
    shape_error(
        layer.build(shape(1, 3, 1), Default::default()),
        "one value per channel",
    );
    shape_error(
        layer.build(shape(2, 3, 5), Default::default()),
        "buffers for 4 pixels, shape of 5",
    );
    shape_error(
        layer.build(shape(2, 4, 3), Default::default()),
        "affine for 3 channels, shape of 4",
    );

    let bad_eps = BatchNormOptions {
        eps: 0.0,
        ..Default::default()
    };
    assert!(
        matches!(layer.build(s, bad_eps), Err(Error::Invalid(_))),
        "eps 0"
    );
    let bad_momentum = BatchNormOptions {
        momentum: 1.5,
        ..Default::default()
    };
    assert!(
        matches!(layer.build(s, bad_momentum), Err(Error::Invalid(_))),
        "momentum 1.5"
    );

    let big = gpu.storage("big", 100);
    let aliased = BatchNormBuffers {
        input: &layer.input,
        output: &big,
        affine: &layer.affine,
        running: &layer.running,
        saved: &layer.saved,
        doutput: &layer.doutput,
        dinput: &big,
        daffine: &layer.daffine,
    };
    assert!(
        matches!(
            BatchNorm::new(gpu, s, Default::default(), &aliased),
            Err(Error::Invalid(_))
        ),
        "output and dinput the same buffer"
    );
}

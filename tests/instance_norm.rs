//! Instance norm: the reference backward against central differences, and the GPU against the
//! reference (output, dinput, dγ, dβ), with and without affine parameters, overwriting and
//! accumulating, on odd shapes and on a 256×256 plane shared by 256 threads.
//!
//! GPU tolerance: the GPU reduces each plane's M = pixels values in f32 (per thread about 256
//! in sequence, then the segments combined), the reference in f64. Per-element results carry
//! the f32 error of the mean and 1/σ, a few ε·256 relative at worst with ε = 6e-8 (≤ 2e-5,
//! typically far less as rounding errors cancel), so atol 1e-5 + rtol 1e-4 holds; atol also
//! covers dinput's cancellation in M·dy − Σdy − x̂·Σdy·x̂. dγ and dβ are sums of batch·M terms
//! of size ≤ ~2, whose f32 error grows with Σ|term|, so they get 1e-6·batch·M more atol. A
//! wrong index or formula gives errors of 0.1–1.

use crate::common;

use common::*;
use webgan::kernels::instance_norm::{
    InstanceNorm, InstanceNormAffine, InstanceNormBuffers, InstanceNormOptions, InstanceNormShape,
};
use webgan::reference::instance_norm as reference;
use webgan::Error;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;
const EPS: f64 = 1e-5;

fn shape(batch: u32, channels: u32, pixels: u32) -> InstanceNormShape {
    InstanceNormShape {
        batch,
        channels,
        pixels,
    }
}

/// Tolerance of a sum over the batch·M values of a channel (see the header).
fn sum_atol(s: &InstanceNormShape) -> f64 {
    ATOL + 1e-6 * (s.batch * s.pixels) as f64
}

#[test]
fn reference_gradients_match_central_differences() {
    for s in [shape(2, 3, 4), shape(3, 2, 7), shape(1, 1, 2)] {
        let mut rng = Rng::new(3);
        let x = rng.vec(s.tensor_len());
        let c = s.channels as usize;
        let gamma: Vec<f64> = rng.vec(c).iter().map(|g| 1.0 + 0.5 * g).collect();
        let beta = rng.vec(c);
        let projection = rng.vec(s.tensor_len());
        let (dx, dgamma, dbeta) = reference::backward(&s, &x, &gamma, &projection, EPS);
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            dot(&projection, &reference::forward(&s, x, gamma, beta, EPS))
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

/// Random data for one layer: x with an offset per plane (so that centring is tested and the
/// planes of one channel differ), γ around 1, β, and dy.
struct Data {
    x: Vec<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    dy: Vec<f64>,
}

impl Data {
    fn new(s: &InstanceNormShape, seed: u64) -> Data {
        let mut rng = Rng::new(seed);
        let c = s.channels as usize;
        let offsets = rng.vec(s.planes());
        let mut x = rng.vec(s.tensor_len());
        for (k, v) in x.iter_mut().enumerate() {
            *v = (*v + 3.0 * offsets[k / s.pixels as usize]) as f32 as f64;
        }
        Data {
            x,
            gamma: rng
                .vec(c)
                .iter()
                .map(|g| (1.0 + 0.5 * g) as f32 as f64)
                .collect(),
            beta: rng.vec(c),
            dy: rng.vec(s.tensor_len()),
        }
    }

    /// γ and β, or γ = 1 and β = 0 for a layer without parameters.
    fn params(&self, affine: bool) -> (Vec<f64>, Vec<f64>) {
        if affine {
            (self.gamma.clone(), self.beta.clone())
        } else {
            (vec![1.0; self.gamma.len()], vec![0.0; self.beta.len()])
        }
    }
}

/// The buffers of one layer, uploaded from `Data`; dinput and daffine hold what they are given.
struct Layer {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    saved: wgpu::Buffer,
    doutput: wgpu::Buffer,
    dinput: wgpu::Buffer,
    affine: wgpu::Buffer,
    daffine: wgpu::Buffer,
}

impl Layer {
    fn new(
        s: &InstanceNormShape,
        d: &Data,
        dinput_before: &[f64],
        daffine_before: &[f64],
    ) -> Layer {
        Layer {
            input: upload(&d.x),
            output: gpu().storage("output", s.tensor_len()),
            saved: gpu().storage("saved", s.saved_len()),
            doutput: upload(&d.dy),
            dinput: upload(dinput_before),
            affine: upload(&[d.gamma.as_slice(), &d.beta].concat()),
            daffine: upload(daffine_before),
        }
    }

    fn build(
        &self,
        s: InstanceNormShape,
        affine: bool,
        options: InstanceNormOptions,
    ) -> webgan::Result<InstanceNorm> {
        let buffers = InstanceNormBuffers {
            input: &self.input,
            output: &self.output,
            saved: &self.saved,
            doutput: &self.doutput,
            dinput: &self.dinput,
            affine: affine.then_some(InstanceNormAffine {
                affine: &self.affine,
                daffine: &self.daffine,
            }),
        };
        InstanceNorm::new(gpu(), s, options, &buffers)
    }

    /// (dγ, dβ) as the GPU left them.
    fn daffine(&self, channels: usize) -> (Vec<f64>, Vec<f64>) {
        let v = download(&self.daffine, 2 * channels);
        (v[..channels].to_vec(), v[channels..].to_vec())
    }
}

/// Batch 3 × 5 channels of 7×9; one image of 2 pixels; 65 channels of 3×5; a plane of 700
/// pixels in 3 segments of unequal counts; a 256×256 plane in 256 segments.
fn odd_shapes() -> [InstanceNormShape; 5] {
    [
        shape(3, 5, 63),
        shape(1, 1, 2),
        shape(2, 65, 15),
        shape(2, 3, 700),
        shape(1, 2, 256 * 256),
    ]
}

#[test]
fn gpu_forward_and_backward_match_reference() {
    let gpu = gpu();
    for (seed, s) in odd_shapes().into_iter().enumerate() {
        for affine in [false, true] {
            let what = format!("{s:?} affine {affine}");
            let c = s.channels as usize;
            let d = Data::new(&s, seed as u64);
            // Garbage in the gradients: overwrite mode must not read them.
            let layer = Layer::new(&s, &d, &vec![7.0; s.tensor_len()], &vec![7.0; 2 * c]);
            let norm = layer
                .build(s, affine, InstanceNormOptions::default())
                .expect("valid layer");
            // Planes of a multiple of 4 pixels (700, 256²) take the vec4 kernels.
            let vec4 = if s.pixels % 4 == 0 { "4" } else { "" };
            let entry = |d: &webgan::kernels::Dispatch| d.kernels()[0].1;
            assert_eq!(entry(norm.forward()[2]), format!("normalize{vec4}"));
            assert_eq!(entry(norm.backward()[2]), format!("backward_input{vec4}"));
            gpu.run(&[&norm.forward()[..], &norm.backward()[..]].concat());

            let (gamma, beta) = d.params(affine);
            let want = reference::forward(&s, &d.x, &gamma, &beta, EPS);
            let got = download(&layer.output, s.tensor_len());
            assert_close(&format!("{what} output"), &got, &want, ATOL, RTOL);

            let (dx, dgamma, dbeta) = reference::backward(&s, &d.x, &gamma, &d.dy, EPS);
            let got = download(&layer.dinput, s.tensor_len());
            assert_close(&format!("{what} dinput"), &got, &dx, ATOL, RTOL);
            let (got_dgamma, got_dbeta) = layer.daffine(c);
            if affine {
                let atol = sum_atol(&s);
                assert_close(&format!("{what} dgamma"), &got_dgamma, &dgamma, atol, RTOL);
                assert_close(&format!("{what} dbeta"), &got_dbeta, &dbeta, atol, RTOL);
            } else {
                // Without parameters their buffer is neither bound nor written.
                assert_eq!(got_dgamma, vec![7.0; c], "{what}: daffine untouched");
                assert_eq!(got_dbeta, vec![7.0; c], "{what}: daffine untouched");
            }
        }
    }
}

#[test]
fn backward_accumulates_when_asked() {
    let gpu = gpu();
    let s = shape(3, 5, 63);
    let c = s.channels as usize;
    let d = Data::new(&s, 9);
    let mut rng = Rng::new(10);
    let (dinput_before, daffine_before) = (rng.vec(s.tensor_len()), rng.vec(2 * c));
    let layer = Layer::new(&s, &d, &dinput_before, &daffine_before);
    let options = InstanceNormOptions {
        accumulate_input: true,
        accumulate_params: true,
        ..Default::default()
    };
    let norm = layer.build(s, true, options).expect("valid layer");
    let (forward, backward) = (norm.forward(), norm.backward());
    // Backward twice: each gradient = before + 2 · gradient.
    gpu.run(&[&forward[..], &backward[..], &backward[..]].concat());
    let (dx, dgamma, dbeta) = reference::backward(&s, &d.x, &d.gamma, &d.dy, EPS);
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
    assert_close(
        "accumulated daffine",
        &download(&layer.daffine, 2 * c),
        &twice(&daffine_before, &[dgamma, dbeta].concat()),
        sum_atol(&s),
        RTOL,
    );

    // Only dinput accumulating: daffine is overwritten.
    let layer = Layer::new(&s, &d, &dinput_before, &daffine_before);
    let options = InstanceNormOptions {
        accumulate_input: true,
        ..Default::default()
    };
    let norm = layer.build(s, true, options).expect("valid layer");
    gpu.run(&[&norm.forward()[..], &norm.backward()[..]].concat());
    let (dx, dgamma, dbeta) = reference::backward(&s, &d.x, &d.gamma, &d.dy, EPS);
    let once: Vec<f64> = dinput_before.iter().zip(&dx).map(|(b, g)| b + g).collect();
    let got = download(&layer.dinput, s.tensor_len());
    assert_close("dinput added once", &got, &once, ATOL, RTOL);
    let (got_dgamma, got_dbeta) = layer.daffine(c);
    assert_close(
        "dgamma overwritten",
        &got_dgamma,
        &dgamma,
        sum_atol(&s),
        RTOL,
    );
    assert_close("dbeta overwritten", &got_dbeta, &dbeta, sum_atol(&s), RTOL);
}

/// ReLU and leaky ReLU done in the instance norm's own passes (what the plan fuses in
/// CycleGAN's generators): output, dinput, dγ and dβ equal the reference instance norm followed
/// by the reference activation, with the gradient arriving at the activation's output, on
/// planes that take the f32 and the vec4 kernels. Activations that cannot be fused are refused.
#[test]
fn a_fused_relu_or_leaky_relu_matches_the_layers_one_after_the_other() {
    use webgan::kernels::activation::Activation;
    use webgan::reference::activation as act;
    let gpu = gpu();
    for (i, (s, a, affine)) in [
        (shape(3, 5, 63), Activation::Relu, true),
        (shape(2, 3, 700), Activation::LeakyRelu(0.2), false),
        (shape(2, 65, 16), Activation::Relu, false),
        (shape(1, 2, 15), Activation::LeakyRelu(0.0), true),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("{s:?} {a:?} affine {affine}");
        let c = s.channels as usize;
        let d = Data::new(&s, 60 + i as u64);
        let layer = Layer::new(&s, &d, &vec![7.0; s.tensor_len()], &vec![7.0; 2 * c]);
        let options = InstanceNormOptions {
            activation: Some(a),
            ..Default::default()
        };
        let norm = layer.build(s, affine, options).expect("valid layer");
        gpu.run(&[&norm.forward()[..], &norm.backward()[..]].concat());
        let (gamma, beta) = d.params(affine);
        let y = reference::forward(&s, &d.x, &gamma, &beta, EPS);
        let got = download(&layer.output, s.tensor_len());
        assert_close(
            &format!("{what} output"),
            &got,
            &act::forward(a, &y),
            ATOL,
            RTOL,
        );
        // d.dy arrives at the activation's output.
        let dy = act::backward(a, &y, &d.dy);
        let (dx, dgamma, dbeta) = reference::backward(&s, &d.x, &gamma, &dy, EPS);
        let got = download(&layer.dinput, s.tensor_len());
        assert_close(&format!("{what} dinput"), &got, &dx, ATOL, RTOL);
        if affine {
            let (got_dgamma, got_dbeta) = layer.daffine(c);
            let atol = sum_atol(&s);
            assert_close(&format!("{what} dgamma"), &got_dgamma, &dgamma, atol, RTOL);
            assert_close(&format!("{what} dbeta"), &got_dbeta, &dbeta, atol, RTOL);
        }
    }

    let s = shape(2, 3, 4);
    let d = Data::new(&s, 69);
    let layer = Layer::new(&s, &d, &d.x, &[0.0; 6]);
    for a in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::LeakyRelu(-0.5),
        Activation::LeakyRelu(f32::NAN),
    ] {
        let options = InstanceNormOptions {
            activation: Some(a),
            ..Default::default()
        };
        assert!(
            matches!(layer.build(s, false, options), Err(Error::Invalid(_))),
            "{a:?} cannot follow in the same pass"
        );
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let gpu = gpu();
    let s = shape(2, 3, 4);
    let d = Data::new(&s, 1);
    let layer = Layer::new(&s, &d, &d.x, &[0.0; 6]);
    let shape_error = |result: webgan::Result<InstanceNorm>, why: &str| {
        assert!(
            matches!(result, Err(Error::Shape { .. })),
            "{why}: {:?}",
            result.err()
        );
    };
    let options = InstanceNormOptions::default();
    shape_error(layer.build(shape(2, 0, 4), true, options), "0 channels");
    shape_error(layer.build(shape(6, 1, 1), true, options), "1×1 planes");
    shape_error(
        layer.build(shape(2, 3, 5), false, options),
        "buffers for 4 pixels, shape of 5",
    );
    shape_error(
        layer.build(shape(1, 6, 4), true, options),
        "affine for 3 channels, shape of 6",
    );
    layer
        .build(shape(1, 6, 4), false, options)
        .expect("no affine buffers to be too small");

    let bad_eps = InstanceNormOptions {
        eps: f32::NAN,
        ..Default::default()
    };
    assert!(
        matches!(layer.build(s, true, bad_eps), Err(Error::Invalid(_))),
        "eps NaN"
    );

    let aliased = InstanceNormBuffers {
        input: &layer.input,
        output: &layer.dinput,
        saved: &layer.saved,
        doutput: &layer.doutput,
        dinput: &layer.dinput,
        affine: None,
    };
    assert!(
        matches!(
            InstanceNorm::new(gpu, s, options, &aliased),
            Err(Error::Invalid(_))
        ),
        "output and dinput the same buffer"
    );
}

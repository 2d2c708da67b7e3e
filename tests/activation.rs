//! Activations: the reference backward against central differences, and the GPU against the
//! reference, including |x| = 100 where naive sigmoid and tanh overflow.
//!
//! GPU tolerance: each element is one f32 evaluation of exp/tanh on an f32 input, compared
//! with f64. f32 rounding is 6e-8 relative and WGSL lets exp be off by 3 + 2|x| ULP, so
//! rtol 1e-5 leaves a margin of about 10× on the [−4, 4] range tested at random. Where the
//! maths cancels (eˣ − 1 near x = 0 in SELU, 1 − tanh² near |x| = 4) the error is a few ULP
//! of 1 instead: 2.5e-7 on lavapipe, and GPUs' exp and tanh may be a few times worse, hence
//! atol 1e-5. A wrong branch or formula gives errors of order 0.01–1.

use crate::common;

use common::*;
use webgan::kernels::activation::{self, Activation};
use webgan::reference;
use webgan::Error;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-5;

const KINDS: [Activation; 6] = [
    Activation::Relu,
    Activation::LeakyRelu(0.2),
    Activation::LeakyRelu(0.01),
    Activation::Selu,
    Activation::Tanh,
    Activation::Sigmoid,
];

/// `n` values with 0.1 ≤ |x| < `max`: central differences must not straddle the kink at 0.
fn away_from_zero(rng: &mut Rng, n: usize, max: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let magnitude = rng.uniform(0.1, max);
            let x = if rng.below(2) == 0 {
                magnitude
            } else {
                -magnitude
            };
            x as f32 as f64
        })
        .collect()
}

#[test]
fn reference_gradients_match_central_differences() {
    for kind in KINDS {
        let mut rng = Rng::new(11);
        let x = away_from_zero(&mut rng, 40, 4.0);
        let projection = rng.vec(x.len());
        let dx = reference::activation::backward(kind, &x, &projection);
        let numeric = numeric_gradient(&x, |x| {
            dot(&projection, &reference::activation::forward(kind, x))
        });
        assert_gradient(&format!("{kind:?} dinput"), &dx, &numeric);
    }
}

/// Random values in [−4, 4], the extremes ±100 and ±20, and exact zeros.
fn test_input(rng: &mut Rng, len: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..len)
        .map(|_| rng.uniform(-4.0, 4.0) as f32 as f64)
        .collect();
    x[..6].copy_from_slice(&[100.0, -100.0, 20.0, -20.0, 0.0, -0.0]);
    x
}

#[test]
fn gpu_matches_reference_forward_and_backward() {
    let gpu = gpu();
    // Not a multiple of the 256-thread workgroup.
    for (len, seed) in [(6, 1), (1000, 2), (257, 3)] {
        let mut rng = Rng::new(seed);
        let x = test_input(&mut rng, len);
        let dy = rng.vec(len);
        let input = upload(&x);
        let doutput = upload(&dy);
        for kind in KINDS {
            let output = gpu.storage("output", len);
            // Garbage first: overwrite mode must not read it.
            let dinput = upload(&vec![7.0; len]);
            let fwd = activation::forward(gpu, kind, &input, &output, len).expect("forward");
            // Lengths of a multiple of 4 (1000) take the vec4 kernels.
            let vec4 = if len % 4 == 0 { "4" } else { "" };
            assert_eq!(fwd.kernels()[0].1, format!("forward{vec4}"), "len {len}");
            let bwd = activation::backward(gpu, kind, &input, &doutput, &dinput, len, false)
                .expect("backward");
            gpu.run(&[&fwd, &bwd]);
            let what = format!("{kind:?} len {len}");
            let y = download(&output, len);
            let dx = download(&dinput, len);
            assert!(
                y.iter().chain(&dx).all(|v| v.is_finite()),
                "{what}: not finite"
            );
            let want_y = reference::activation::forward(kind, &x);
            let want_dx = reference::activation::backward(kind, &x, &dy);
            assert_close(&format!("{what} output"), &y, &want_y, ATOL, RTOL);
            assert_close(&format!("{what} dinput"), &dx, &want_dx, ATOL, RTOL);
        }
    }
}

#[test]
fn backward_accumulates_into_dinput() {
    let gpu = gpu();
    let len = 300;
    let mut rng = Rng::new(5);
    let x = test_input(&mut rng, len);
    let dy = rng.vec(len);
    let before = rng.vec(len);
    let (input, doutput) = (upload(&x), upload(&dy));
    for kind in KINDS {
        let dinput = upload(&before);
        let bwd = activation::backward(gpu, kind, &input, &doutput, &dinput, len, true)
            .expect("backward");
        // Twice: dinput = before + 2 · dy · f′(x).
        gpu.run(&[&bwd, &bwd]);
        let grad = reference::activation::backward(kind, &x, &dy);
        let want: Vec<f64> = before.iter().zip(&grad).map(|(b, g)| b + 2.0 * g).collect();
        assert_close(
            &format!("{kind:?} accumulated dinput"),
            &download(&dinput, len),
            &want,
            ATOL,
            RTOL,
        );
    }
}

#[test]
fn bad_buffers_are_errors() {
    let gpu = gpu();
    let small = gpu.storage("small", 10);
    let big = gpu.storage("big", 100);
    let other = gpu.storage("other", 100);
    let too_small = activation::forward(gpu, Activation::Relu, &big, &small, 100);
    assert!(
        matches!(too_small, Err(Error::Shape { .. })),
        "an output of 10 for 100 elements: {:?}",
        too_small.err()
    );
    let in_place = activation::forward(gpu, Activation::Tanh, &big, &big, 100);
    assert!(
        matches!(in_place, Err(Error::Invalid(_))),
        "in place forward"
    );
    let aliased = activation::backward(gpu, Activation::Selu, &big, &other, &other, 100, false);
    assert!(
        matches!(aliased, Err(Error::Invalid(_))),
        "dinput aliasing doutput"
    );
    let nan_slope = activation::forward(gpu, Activation::LeakyRelu(f32::NAN), &big, &other, 100);
    assert!(matches!(nan_slope, Err(Error::Invalid(_))), "NaN slope");
}

//! Upsampling (`upsample.wgsl`, nearest and bilinear) against `reference::upsample` on odd
//! shapes and scales, overwriting and accumulating the input gradient; the reference against
//! PyTorch's outputs on small cases and its backward against central differences.
//!
//! Tolerance: the GPU computes the bilinear weights in f32 from 1/s, their error a few ε times
//! the source position (≤ 27 here): ≤ 1e-5 on a sum of at most 4 (forward) or 9s² (backward)
//! products of values ≤ 1, so atol 2e-5 + rtol 1e-5. Nearest is a copy (exact) forward and a sum
//! of s² values backward. A wrong tap or weight gives errors of 0.1 or more.
use crate::common;

use common::*;
use webgan::kernels::upsample::{self, UpsampleMode, UpsampleShape};
use webgan::reference::upsample as reference;
use webgan::Error;

const MODES: [UpsampleMode; 2] = [UpsampleMode::Nearest, UpsampleMode::Bilinear];

fn shape(batch: u32, channels: u32, height: u32, width: u32, scale: u32) -> UpsampleShape {
    UpsampleShape {
        batch,
        channels,
        height,
        width,
        scale,
    }
}

/// Batch 3 × 5 channels of 7×9 by 2 and 3; scale 1 (the identity); one pixel by 4; one row by
/// 3 (the clamped edges of bilinear everywhere); a 2×1 image by 5.
fn odd_shapes() -> [UpsampleShape; 6] {
    [
        shape(3, 5, 7, 9, 2),
        shape(3, 5, 7, 9, 3),
        shape(2, 3, 5, 4, 1),
        shape(1, 2, 1, 1, 4),
        shape(2, 3, 1, 5, 3),
        shape(1, 1, 2, 1, 5),
    ]
}

#[test]
fn reference_matches_pytorch() {
    // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode=...).
    let s = shape(1, 1, 2, 2, 2);
    let x = [1.0, 2.0, 3.0, 4.0];
    #[rustfmt::skip]
    let nearest = [
        1.0, 1.0, 2.0, 2.0,
        1.0, 1.0, 2.0, 2.0,
        3.0, 3.0, 4.0, 4.0,
        3.0, 3.0, 4.0, 4.0,
    ];
    #[rustfmt::skip]
    let bilinear = [
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    ];
    assert_eq!(reference::forward(&s, UpsampleMode::Nearest, &x), nearest);
    assert_eq!(reference::forward(&s, UpsampleMode::Bilinear, &x), bilinear);
    // F.interpolate(torch.tensor([[[[0., 3.]]]]), scale_factor=3, mode='bilinear'): 3 rows of
    // one, its source positions −1/3 (clamped to 0), 0, 1/3, 2/3, 1, 4/3 (past the last pixel).
    let s = shape(1, 1, 1, 2, 3);
    let got = reference::forward(&s, UpsampleMode::Bilinear, &[0.0, 3.0]);
    let row = [0.0, 0.0, 1.0, 2.0, 3.0, 3.0];
    assert_close("bilinear ×3", &got, &row.repeat(3), 1e-12, 0.0);
}

#[test]
fn reference_backward_matches_central_differences() {
    for s in [
        shape(2, 1, 3, 4, 2),
        shape(1, 2, 2, 3, 3),
        shape(1, 1, 3, 2, 1),
    ] {
        for mode in MODES {
            let mut rng = Rng::new(1);
            let x = rng.vec(s.input_len());
            let w = rng.vec(s.output_len());
            let numeric = numeric_gradient(&x, |x| dot(&w, &reference::forward(&s, mode, x)));
            let analytic = reference::backward(&s, mode, &w);
            assert_gradient(&format!("{s:?} {mode:?}"), &analytic, &numeric);
        }
    }
}

#[test]
fn gpu_forward_and_backward_match_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    for s in odd_shapes() {
        for mode in MODES {
            let what = format!("{s:?} {mode:?}");
            let x = rng.vec(s.input_len());
            let output = upload(&vec![7.0; s.output_len()]);
            let d = upsample::forward(gpu, &s, mode, &upload(&x), &output).expect("forward");
            gpu.run(&[&d]);
            let got = download(&output, s.output_len());
            let want = reference::forward(&s, mode, &x);
            assert_close(&format!("{what} output"), &got, &want, 2e-5, 1e-5);

            let dy = rng.vec(s.output_len());
            let before = rng.vec(s.input_len());
            let want = reference::backward(&s, mode, &dy);
            for accumulate in [false, true] {
                let dinput = upload(&before);
                let d = upsample::backward(gpu, &s, mode, &upload(&dy), &dinput, accumulate)
                    .expect("backward");
                gpu.run(&[&d]);
                let want: Vec<f64> = if accumulate {
                    want.iter().zip(&before).map(|(g, b)| g + b).collect()
                } else {
                    want.clone()
                };
                let got = download(&dinput, s.input_len());
                let what = format!("{what} dinput, accumulate {accumulate}");
                assert_close(&what, &got, &want, 2e-5, 1e-5);
            }
        }
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let gpu = gpu();
    let big = gpu.storage("big", 1000);
    let other = gpu.storage("other", 1000);
    let mode = UpsampleMode::Bilinear;
    let refused = |s: UpsampleShape, why: &str, says: &str| {
        for result in [
            upsample::forward(gpu, &s, mode, &big, &other),
            upsample::backward(gpu, &s, mode, &big, &other, false),
        ] {
            match result {
                Err(e @ Error::Shape { .. }) => assert!(e.to_string().contains(says), "{why}: {e}"),
                other => panic!("{why}: {:?}", other.err()),
            }
        }
    };
    refused(shape(1, 1, 4, 4, 0), "scale 0", "whole number ≥ 1");
    refused(shape(1, 0, 4, 4, 2), "no channels", "positive");
    refused(
        shape(2, 2, 8, 8, 2),
        "1,024 elements upsampled",
        "holds 1000",
    );
    refused(
        shape(1, 1, 1 << 16, 1 << 15, 2),
        "2^33 elements",
        "more than 2^32",
    );
    let e = upsample::backward(gpu, &shape(1, 1, 4, 4, 2), mode, &big, &big, true)
        .err()
        .expect("the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
}

//! Reflection padding (`reflection_pad.wgsl`) against `reference::reflection_pad` on odd
//! shapes, overwriting and accumulating the input gradient; the reference against PyTorch's
//! output on a small case and its backward against central differences.
//!
//! Tolerance: forward is a copy (exact); backward adds at most 9 gradients in f32 against f64,
//! a few ε of the largest, so atol 1e-6 + rtol 1e-6. A wrong index gives errors of 0.1–1.
use crate::common;

use common::*;
use webgan::kernels::reflection_pad::{self, ReflectionPadShape};
use webgan::reference::reflection_pad as reference;
use webgan::Error;

fn shape(batch: u32, channels: u32, height: u32, width: u32, padding: u32) -> ReflectionPadShape {
    ReflectionPadShape {
        batch,
        channels,
        height,
        width,
        padding,
    }
}

/// Batch 3 × 5 channels of 7×9 with CycleGAN's 3 and 1 and the most 7 allows; a 3×3 image by
/// 2 (both reflections reach the middle pixel); one row padded by nothing; a 2×2 image.
fn odd_shapes() -> [ReflectionPadShape; 6] {
    [
        shape(3, 5, 7, 9, 3),
        shape(3, 5, 7, 9, 1),
        shape(1, 2, 7, 9, 6),
        shape(2, 1, 3, 3, 2),
        shape(1, 3, 1, 5, 0),
        shape(4, 1, 2, 2, 1),
    ]
}

#[test]
fn reference_matches_pytorch() {
    // torch.nn.ReflectionPad2d(2)(torch.arange(9.).view(1, 1, 3, 3)): rows and columns both
    // read 2 1 0 1 2 1 0.
    let s = shape(1, 1, 3, 3, 2);
    let x: Vec<f64> = (0..9).map(f64::from).collect();
    let order = [2, 1, 0, 1, 2, 1, 0];
    let want: Vec<f64> = order
        .iter()
        .flat_map(|r| order.iter().map(move |c| (r * 3 + c) as f64))
        .collect();
    assert_eq!(reference::forward(&s, &x), want);
}

#[test]
fn reference_backward_matches_central_differences() {
    for s in [shape(2, 1, 3, 4, 2), shape(1, 2, 4, 3, 1)] {
        let mut rng = Rng::new(1);
        let x = rng.vec(s.input_len());
        let w = rng.vec(s.output_len());
        let numeric = numeric_gradient(&x, |x| dot(&w, &reference::forward(&s, x)));
        assert_gradient(&format!("{s:?}"), &reference::backward(&s, &w), &numeric);
    }
}

#[test]
fn gpu_forward_and_backward_match_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    for s in odd_shapes() {
        let x = rng.vec(s.input_len());
        let output = upload(&vec![7.0; s.output_len()]);
        let d = reflection_pad::forward(gpu, &s, &upload(&x), &output).expect("forward");
        gpu.run(&[&d]);
        let got = download(&output, s.output_len());
        assert_close(
            &format!("{s:?} output"),
            &got,
            &reference::forward(&s, &x),
            0.0,
            0.0,
        );

        let dy = rng.vec(s.output_len());
        let before = rng.vec(s.input_len());
        let want = reference::backward(&s, &dy);
        for accumulate in [false, true] {
            let dinput = upload(&before);
            let d = reflection_pad::backward(gpu, &s, &upload(&dy), &dinput, accumulate)
                .expect("backward");
            gpu.run(&[&d]);
            let want: Vec<f64> = if accumulate {
                want.iter().zip(&before).map(|(g, b)| g + b).collect()
            } else {
                want.clone()
            };
            let got = download(&dinput, s.input_len());
            let what = format!("{s:?} dinput, accumulate {accumulate}");
            assert_close(&what, &got, &want, 1e-6, 1e-6);
        }
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let gpu = gpu();
    let big = gpu.storage("big", 1000);
    let other = gpu.storage("other", 1000);
    let refused = |s: ReflectionPadShape, why: &str, says: &str| {
        for result in [
            reflection_pad::forward(gpu, &s, &big, &other),
            reflection_pad::backward(gpu, &s, &big, &other, false),
        ] {
            match result {
                Err(e @ Error::Shape { .. }) => assert!(e.to_string().contains(says), "{why}: {e}"),
                other => panic!("{why}: {:?}", other.err()),
            }
        }
    };
    refused(
        shape(1, 1, 3, 9, 3),
        "padding = height",
        "padding 3 must be less than the height 3 and the width 9",
    );
    refused(shape(1, 1, 9, 2, 2), "padding > width", "less than");
    refused(shape(0, 1, 4, 4, 1), "no batch", "positive");
    refused(
        shape(1, 8, 10, 10, 1),
        "1,152 elements padded",
        "holds 1000",
    );
    let e = reflection_pad::forward(gpu, &shape(1, 1, 4, 4, 1), &big, &big)
        .err()
        .expect("the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
}

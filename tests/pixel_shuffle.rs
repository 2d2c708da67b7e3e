//! Pixel shuffle (`pixel_shuffle.wgsl`) against `reference::pixel_shuffle` on odd shapes,
//! overwriting and accumulating the input gradient; the reference against PyTorch's channel
//! order on a small case and its backward against central differences.
//!
//! Both passes move values without arithmetic (accumulate adds one f32 to another), so the
//! forward and the overwriting backward must be exact, the accumulating one within ε.
use crate::common;

use common::*;
use webgan::kernels::pixel_shuffle::{self, PixelShuffleShape};
use webgan::reference::pixel_shuffle as reference;
use webgan::Error;

fn shape(batch: u32, in_channels: u32, height: u32, width: u32, factor: u32) -> PixelShuffleShape {
    PixelShuffleShape {
        batch,
        in_channels,
        height,
        width,
        factor,
    }
}

/// Batch 3 × 5 output channels of 7×9 inputs by 2 and by 3; factor 1 (the identity); one
/// pixel by 2; a 1×3 row by 4.
fn odd_shapes() -> [PixelShuffleShape; 5] {
    [
        shape(3, 5 * 4, 7, 9, 2),
        shape(3, 5 * 9, 7, 9, 3),
        shape(2, 3, 5, 4, 1),
        shape(1, 4, 1, 1, 2),
        shape(2, 2 * 16, 1, 3, 4),
    ]
}

#[test]
fn reference_matches_pytorch() {
    // nn.PixelShuffle(2)(torch.arange(8.).view(1, 4, 1, 2)): channel 2i + j fills sub-row i,
    // sub-column j.
    let s = shape(1, 4, 1, 2, 2);
    let x: Vec<f64> = (0..8).map(f64::from).collect();
    assert_eq!(
        reference::forward(&s, &x),
        [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]
    );
}

#[test]
fn reference_backward_matches_central_differences() {
    let s = shape(2, 2 * 4, 2, 3, 2);
    let mut rng = Rng::new(1);
    let x = rng.vec(s.tensor_len());
    let w = rng.vec(s.tensor_len());
    let numeric = numeric_gradient(&x, |x| dot(&w, &reference::forward(&s, x)));
    assert_gradient("pixel shuffle", &reference::backward(&s, &w), &numeric);
}

#[test]
fn gpu_forward_and_backward_match_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    for s in odd_shapes() {
        let x = rng.vec(s.tensor_len());
        let output = upload(&vec![7.0; s.tensor_len()]);
        let d = pixel_shuffle::forward(gpu, &s, &upload(&x), &output).expect("forward");
        gpu.run(&[&d]);
        let got = download(&output, s.tensor_len());
        let want = reference::forward(&s, &x);
        assert_close(&format!("{s:?} output"), &got, &want, 0.0, 0.0);

        let dy = rng.vec(s.tensor_len());
        let before = rng.vec(s.tensor_len());
        let want = reference::backward(&s, &dy);
        for accumulate in [false, true] {
            let dinput = upload(&before);
            let d = pixel_shuffle::backward(gpu, &s, &upload(&dy), &dinput, accumulate)
                .expect("backward");
            gpu.run(&[&d]);
            let (want, tolerance) = if accumulate {
                let sum = want.iter().zip(&before).map(|(g, b)| g + b).collect();
                (sum, 1e-7)
            } else {
                (want.clone(), 0.0)
            };
            let got = download(&dinput, s.tensor_len());
            let what = format!("{s:?} dinput, accumulate {accumulate}");
            assert_close(&what, &got, &want, tolerance, tolerance);
        }
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let gpu = gpu();
    let big = gpu.storage("big", 1000);
    let other = gpu.storage("other", 1000);
    let refused = |s: PixelShuffleShape, why: &str, says: &str| {
        for result in [
            pixel_shuffle::forward(gpu, &s, &big, &other),
            pixel_shuffle::backward(gpu, &s, &big, &other, false),
        ] {
            match result {
                Err(e @ Error::Shape { .. }) => assert!(e.to_string().contains(says), "{why}: {e}"),
                other => panic!("{why}: {:?}", other.err()),
            }
        }
    };
    refused(
        shape(1, 6, 4, 4, 2),
        "6 channels by 2",
        "the input's 6 channels must be a positive multiple of the factor 2 squared",
    );
    refused(shape(1, 4, 4, 4, 0), "factor 0", "factor 0 squared");
    refused(shape(1, 4, 0, 4, 2), "no rows", "positive");
    refused(shape(2, 8, 8, 8, 2), "1,024 elements", "holds 1000");
    let e = pixel_shuffle::forward(gpu, &shape(1, 4, 2, 2, 2), &big, &big)
        .err()
        .expect("the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
}

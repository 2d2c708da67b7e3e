//! Dropout (`dropout.wgsl` after random.wgsl's fill) against `reference::dropout`: the GPU's
//! mask equals the reference's word for word (Philox is integer arithmetic), output and dinput
//! follow on odd lengths, overwriting and accumulating; the fraction dropped is p within 5σ;
//! each step and each layer's stream draws a new mask; the reference backward against central
//! differences.
//!
//! Tolerance: output and dinput are one f32 product by 1/(1 − p) (rounded to f32), so rtol 1e-6.
use crate::common;

use common::*;
use webgan::kernels::dropout::{Dropout, DropoutBuffers, DropoutDraw};
use webgan::kernels::random;
use webgan::reference::dropout as reference;
use webgan::{streams, Error};

const SEED: u64 = 0x5eed_0000_0000_0042;

/// The buffers of one layer: input and doutput from data, the rest filled with 7 (dinput with
/// `before`), and a counter whose word 1 holds `step`.
struct Layer {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    mask: wgpu::Buffer,
    doutput: wgpu::Buffer,
    dinput: wgpu::Buffer,
    counter: wgpu::Buffer,
}

impl Layer {
    fn new(x: &[f64], dy: &[f64], before: &[f64], step: u32) -> Layer {
        Layer {
            input: upload(x),
            output: upload(&vec![7.0; x.len()]),
            mask: upload(&vec![7.0; x.len()]),
            doutput: upload(dy),
            dinput: upload(before),
            counter: gpu().storage_from("counter", &[99u32, step, 99]),
        }
    }

    fn build(&self, p: f32, stream: u32, accumulate: bool) -> webgan::Result<Dropout> {
        let draw = DropoutDraw {
            seed: SEED,
            stream,
            counter: &self.counter,
            counter_index: 1,
        };
        let buffers = DropoutBuffers {
            input: &self.input,
            output: &self.output,
            mask: &self.mask,
            doutput: &self.doutput,
            dinput: &self.dinput,
        };
        Dropout::new(
            gpu(),
            self.input.size() as usize / 4,
            p,
            draw,
            &buffers,
            accumulate,
        )
    }

    fn mask(&self, len: usize) -> Vec<f64> {
        let words = gpu().read_u32_blocking(&self.mask).expect("readback");
        words[..len].iter().map(|&m| m as f64).collect()
    }
}

#[test]
fn reference_backward_matches_central_differences() {
    let mut rng = Rng::new(1);
    let (x, w) = (rng.vec(40), rng.vec(40));
    let p = 0.3;
    let mask = reference::mask(SEED, streams::dropout(0), 5, 40, p);
    assert!(mask.contains(&0.0) && mask.contains(&1.0), "{mask:?}");
    let numeric = numeric_gradient(&x, |x| dot(&w, &reference::forward(x, &mask, p)));
    assert_gradient("dropout", &reference::backward(&w, &mask, p), &numeric);
}

#[test]
fn gpu_matches_reference_on_odd_lengths() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    // Batch 3 × 5 channels of 7×9; one element; a workgroup and one.
    for (len, p, step) in [(3 * 5 * 7 * 9, 0.5f32, 0u32), (1, 0.2, 3), (257, 0.75, 12)] {
        let p64 = p as f64;
        let (x, dy, before) = (rng.vec(len), rng.vec(len), rng.vec(len));
        let stream = streams::dropout(2);
        for accumulate in [false, true] {
            let what = format!("len {len} p {p} accumulate {accumulate}");
            let layer = Layer::new(&x, &dy, &before, step);
            let dropout = layer.build(p, stream, accumulate).expect("valid layer");
            gpu.run(&[&dropout.forward()[..], &dropout.backward()[..]].concat());
            let mask = reference::mask(SEED, stream, step, len, p64);
            assert_eq!(layer.mask(len), mask, "{what}: mask");
            let got = download(&layer.output, len);
            let want = reference::forward(&x, &mask, p64);
            assert_close(&format!("{what} output"), &got, &want, 0.0, 1e-6);
            let mut want = reference::backward(&dy, &mask, p64);
            if accumulate {
                want.iter_mut().zip(&before).for_each(|(g, b)| *g += b);
            }
            let got = download(&layer.dinput, len);
            assert_close(&format!("{what} dinput"), &got, &want, 1e-7, 1e-6);
        }
    }
}

#[test]
fn the_fraction_dropped_is_p_and_each_step_and_stream_draws_anew() {
    let gpu = gpu();
    let len = 100_000;
    let x = vec![1.0; len];
    for p in [0.0f32, 0.1, 0.5, 0.9] {
        let layer = Layer::new(&x, &x, &x, 0);
        let dropout = layer
            .build(p, streams::dropout(0), false)
            .expect("valid layer");
        gpu.run(&dropout.forward());
        let first = layer.mask(len);
        let dropped = first.iter().filter(|&&m| m == 0.0).count() as f64 / len as f64;
        // Binomial: σ = √(p(1 − p)/n) ≤ 1.6e-3.
        let sigma = (p as f64 * (1.0 - p as f64) / len as f64).sqrt();
        assert!(
            (dropped - p as f64).abs() <= 5.0 * sigma + 1e-9,
            "p {p}: dropped {dropped}"
        );
        // The kept elements are scaled to keep the expectation: mean output ≈ 1.
        let out = download(&layer.output, len);
        let mean = out.iter().sum::<f64>() / len as f64;
        let sigma_mean = sigma / (1.0 - p as f64);
        assert!(
            (mean - 1.0).abs() <= 5.0 * sigma_mean + 1e-6,
            "p {p}: mean {mean}"
        );
        if p == 0.0 {
            continue;
        }
        // The next step (advanced on the GPU) and another layer's stream draw other masks.
        let advance = random::advance(gpu, &layer.counter, 1).expect("advance");
        gpu.run(&[&advance, dropout.forward()[0]]);
        let next = layer.mask(len);
        let other = Layer::new(&x, &x, &x, 0);
        let other_dropout = other
            .build(p, streams::dropout(1), false)
            .expect("valid layer");
        gpu.run(&other_dropout.forward());
        for (what, mask) in [("next step", next), ("other stream", other.mask(len))] {
            let same = first.iter().zip(&mask).filter(|(a, b)| a == b).count();
            // Independent masks agree with probability p² + (1 − p)² per element.
            let expected = (p * p + (1.0 - p) * (1.0 - p)) as f64 * len as f64;
            assert!(
                (same as f64 - expected).abs() < 0.02 * len as f64,
                "p {p}, {what}: {same} of {len} elements agree"
            );
        }
    }
}

#[test]
fn bad_probabilities_and_buffers_are_errors() {
    let x = vec![0.5; 8];
    let layer = Layer::new(&x, &x, &x, 0);
    for p in [1.0, -0.1, f32::NAN, 2.0] {
        assert!(
            matches!(
                layer.build(p, streams::dropout(0), false),
                Err(Error::Invalid(_))
            ),
            "p = {p} accepted"
        );
    }
    let short = upload(&x[..4]);
    let draw = DropoutDraw {
        seed: 1,
        stream: streams::dropout(0),
        counter: &layer.counter,
        counter_index: 1,
    };
    let mut buffers = DropoutBuffers {
        input: &layer.input,
        output: &layer.output,
        mask: &short,
        doutput: &layer.doutput,
        dinput: &layer.dinput,
    };
    let e = Dropout::new(gpu(), 8, 0.5, draw, &buffers, false)
        .err()
        .expect("a short mask");
    assert!(e.to_string().contains("mask holds 4 elements"), "{e}");
    buffers.mask = &layer.output;
    let e = Dropout::new(gpu(), 8, 0.5, draw, &buffers, false)
        .err()
        .expect("mask and output the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    let e = Dropout::new(gpu(), 0, 0.5, draw, &buffers, false)
        .err()
        .expect("no elements");
    assert!(e.to_string().contains("0 elements"), "{e}");
}

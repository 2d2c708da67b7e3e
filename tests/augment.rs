//! DiffAugment (`augment.wgsl` after random.wgsl's fill) against `reference::augment`, which
//! follows the authors' DiffAugment_pytorch.py: the drawn parameters equal the reference's bit
//! for bit, differ between steps and streams, and cover exactly the reference's ranges; output
//! and dinput follow on odd shapes for each augmentation alone and the paper's policy,
//! overwriting and accumulating, with drawn and with chosen extreme parameters; the reference
//! backward against central differences; bad policies, shapes and buffers are errors.
//!
//! Tolerance: translation and cutout copy or zero f32 values, so they must be exact. Color's
//! sample means are f32 sums of up to 3,072 values near ½ in segments of 256; lavapipe is
//! within 2e-7 of f64 on these shapes, and the bound is 1e-6 (a mean off by 1e-4 fails it).
use crate::common;

use common::*;
use webgan::kernels::augment::{
    self, Augment, AugmentBuffers, AugmentDraw, AugmentShape, Kind, Policy, SampleParams,
};
use webgan::kernels::random;
use webgan::reference::augment as reference;
use webgan::{streams, Error};

const SEED: u64 = 0x5eed_0000_0000_00a0;
const ALL: &[Kind] = &[Kind::Color, Kind::Translation, Kind::Cutout];
const POLICIES: [&[Kind]; 4] = [&[Kind::Color], &[Kind::Translation], &[Kind::Cutout], ALL];

fn shape(batch: u32, channels: u32, height: u32, width: u32) -> AugmentShape {
    AugmentShape {
        batch,
        channels,
        height,
        width,
    }
}

/// (atol, rtol) of a policy's output and gradient: exact without color.
fn tolerance(policy: &[Kind]) -> (f64, f64) {
    if policy.contains(&Kind::Color) {
        (1e-6, 1e-6)
    } else {
        (0.0, 0.0)
    }
}

/// The buffers of one augmented pass: input and doutput from data, output filled with 7,
/// dinput with `before`, and a counter whose word 1 holds `step`.
struct Pass {
    shape: AugmentShape,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    params: wgpu::Buffer,
    doutput: wgpu::Buffer,
    dinput: wgpu::Buffer,
    counter: wgpu::Buffer,
}

impl Pass {
    fn new(shape: AugmentShape, x: &[f64], dy: &[f64], before: &[f64], step: u32) -> Pass {
        Pass {
            shape,
            input: upload(x),
            output: upload(&vec![7.0; x.len()]),
            params: gpu().storage("params", shape.params_len()),
            doutput: upload(dy),
            dinput: upload(before),
            counter: gpu().storage_from("counter", &[99u32, step, 99]),
        }
    }

    fn draw(&self, stream: u32) -> AugmentDraw<'_> {
        AugmentDraw {
            seed: SEED,
            stream,
            counter: &self.counter,
            counter_index: 1,
        }
    }

    fn buffers(&self) -> AugmentBuffers<'_> {
        AugmentBuffers {
            input: &self.input,
            output: &self.output,
            params: &self.params,
            doutput: &self.doutput,
            dinput: &self.dinput,
        }
    }

    fn build(&self, policy: &[Kind], stream: u32, accumulate: bool) -> webgan::Result<Augment> {
        let (draw, buffers) = (self.draw(stream), self.buffers());
        Augment::new(gpu(), self.shape, policy, draw, &buffers, accumulate)
    }

    /// Chosen parameters into `params`, for `Augment::apply`.
    fn set_params(&self, params: &[SampleParams]) {
        let words = SampleParams::to_words(params);
        gpu()
            .queue
            .write_buffer(&self.params, 0, bytemuck::cast_slice(&words));
    }

    fn params(&self) -> Vec<SampleParams> {
        let words = gpu().read_u32_blocking(&self.params).expect("readback");
        SampleParams::from_words(&words[..self.shape.params_len()])
    }
}

/// Runs `run` on a fresh pass and checks output and dinput against the reference with the
/// parameters the pass holds afterwards, which it returns.
fn check_pass(
    what: &str,
    s: AugmentShape,
    policy: &[Kind],
    accumulate: bool,
    prepare: impl Fn(&Pass),
    run: impl Fn(&Augment) -> Vec<&webgan::kernels::Dispatch>,
) -> Vec<SampleParams> {
    let len = s.tensor_len();
    let mut rng = Rng::new(len as u64 + policy.len() as u64);
    // Off zero, as images and gradients often are: an error in a mean then shows.
    let off =
        |v: Vec<f64>, by: f64| -> Vec<f64> { v.iter().map(|x| (x + by) as f32 as f64).collect() };
    let (x, dy, before) = (
        off(rng.vec(len), 0.5),
        off(rng.vec(len), -0.25),
        rng.vec(len),
    );
    let pass = Pass::new(s, &x, &dy, &before, 4);
    let augment = pass
        .build(policy, streams::augment(0), accumulate)
        .expect("a valid pass");
    prepare(&pass);
    gpu().run(&[&run(&augment)[..], &augment.backward()[..]].concat());
    let params = pass.params();
    let check = |name: &str, buffer: &wgpu::Buffer, want: &[f64], (atol, rtol)| {
        let got = download(buffer, len);
        assert_close(&format!("{what} {name}"), &got, want, atol, rtol);
    };
    let (atol, rtol) = tolerance(policy);
    let want = reference::forward(&s, policy, &x, &params);
    check("output", &pass.output, &want, (atol, rtol));
    let mut want = reference::backward(&s, policy, &dy, &params);
    // Adding into dinput rounds once more in f32.
    let tolerance = if accumulate {
        want.iter_mut().zip(&before).for_each(|(g, b)| *g += b);
        (atol.max(1e-7), rtol.max(1e-7))
    } else {
        (atol, rtol)
    };
    check("dinput", &pass.dinput, &want, tolerance);
    params
}

#[test]
fn reference_backward_matches_central_differences() {
    let s = shape(2, 3, 5, 6);
    let params = [
        SampleParams {
            brightness: 0.3,
            saturation: 1.7,
            contrast: 0.6,
            shift: [1, -1],
            cutout: [0, 5],
        },
        SampleParams {
            brightness: -0.2,
            saturation: 0.4,
            contrast: 1.3,
            shift: [-1, 1],
            cutout: [4, 2],
        },
    ];
    let mut rng = Rng::new(1);
    let (x, w) = (rng.vec(s.tensor_len()), rng.vec(s.tensor_len()));
    type Op = fn(&AugmentShape, &[f64], &[SampleParams]) -> Vec<f64>;
    use reference as r;
    let ops: [(&str, Op, Op); 5] = [
        ("saturation", r::saturation, r::saturation_backward),
        ("contrast", r::contrast, r::contrast_backward),
        ("color", r::color, r::color_backward),
        ("translation", r::translation, r::translation_backward),
        ("cutout", r::cutout, r::cutout_backward),
    ];
    for (name, forward, backward) in ops {
        let numeric = numeric_gradient(&x, |x| dot(&w, &forward(&s, x, &params)));
        assert_gradient(name, &backward(&s, &w, &params), &numeric);
    }
    // Brightness only adds: its gradient is doutput, which color's backward passes on.
    let numeric = numeric_gradient(&x, |x| dot(&w, &reference::brightness(&s, x, &params)));
    assert_gradient("brightness", &w, &numeric);
    let numeric = numeric_gradient(&x, |x| dot(&w, &reference::forward(&s, ALL, x, &params)));
    assert_gradient(
        "policy",
        &reference::backward(&s, ALL, &w, &params),
        &numeric,
    );
}

#[test]
fn gpu_matches_reference_on_odd_shapes_with_drawn_parameters() {
    let shapes = [
        shape(3, 1, 7, 9),
        shape(3, 3, 7, 9),
        shape(3, 3, 28, 28),
        shape(3, 3, 32, 32),
        shape(1, 1, 1, 1),
    ];
    for s in shapes {
        for policy in POLICIES {
            for accumulate in [false, true] {
                let what = format!("{s:?} {policy:?} accumulate {accumulate}");
                let drawn = check_pass(&what, s, policy, accumulate, |_| {}, Augment::forward);
                let want = reference::draw(&s, SEED, streams::augment(0), 4);
                assert_eq!(drawn, want, "{what}: drawn parameters");
            }
        }
    }
}

#[test]
fn gpu_matches_reference_with_extreme_parameters() {
    // 7×9: sh = sw = 1, ch = 4 (offsets 0..=7), cw = 5 (offsets 0..=8).
    let s = shape(4, 3, 7, 9);
    let params = [
        ([-1, -1], [0, 0], 0.0, 0.5),
        ([1, 1], [7, 8], 1.999_999_9, 1.499_999_9),
        ([-1, 1], [2, 2], 1.0, 1.0),
        ([1, -1], [3, 7], 0.5, 0.75),
    ]
    .map(|(shift, cutout, saturation, contrast)| SampleParams {
        brightness: -0.5,
        saturation,
        contrast,
        shift,
        cutout,
    });
    for policy in POLICIES {
        for accumulate in [false, true] {
            let what = format!("chosen parameters {policy:?} accumulate {accumulate}");
            let upload_params = |pass: &Pass| pass.set_params(&params);
            let used = check_pass(&what, s, policy, accumulate, upload_params, Augment::apply);
            assert_eq!(used, params, "{what}: apply must not redraw");
        }
    }
}

/// The parameters of `batch` samples of `s` drawn on the GPU at the counter's step.
fn draw_on_gpu(s: AugmentShape, stream: u32, counter: &wgpu::Buffer) -> Vec<SampleParams> {
    let params = gpu().storage("params", s.params_len());
    let draw = AugmentDraw {
        seed: SEED,
        stream,
        counter,
        counter_index: 0,
    };
    let d = augment::draw(gpu(), &s, draw, &params).expect("a valid draw");
    gpu().run(&[&d]);
    let words = gpu().read_u32_blocking(&params).expect("readback");
    SampleParams::from_words(&words[..s.params_len()])
}

#[test]
fn draws_cover_the_reference_ranges_and_differ_between_steps_and_streams() {
    for (s, limit, offsets) in [
        (shape(2000, 1, 28, 28), [4, 4], [28, 28]),
        (shape(2000, 1, 7, 9), [1, 1], [7, 8]),
        (shape(2000, 1, 1, 2), [0, 0], [0, 1]),
    ] {
        assert_eq!(s.translation_limit(), limit);
        let counter = gpu().storage_from("counter", &[3u32]);
        let first = draw_on_gpu(s, streams::augment(1), &counter);
        assert_eq!(first, reference::draw(&s, SEED, streams::augment(1), 3));
        for axis in 0..2 {
            // Every value of torch.randint's ranges, and no other, in 2,000 draws.
            let mut shifts: Vec<i32> = first.iter().map(|p| p.shift[axis]).collect();
            shifts.sort_unstable();
            shifts.dedup();
            let l = limit[axis] as i32;
            assert_eq!(shifts, (-l..=l).collect::<Vec<_>>(), "{s:?} shifts");
            let mut cut: Vec<u32> = first.iter().map(|p| p.cutout[axis]).collect();
            cut.sort_unstable();
            cut.dedup();
            assert_eq!(
                cut,
                (0..=offsets[axis]).collect::<Vec<_>>(),
                "{s:?} offsets"
            );
        }
        for (what, lo, hi, f) in [
            (
                "brightness",
                -0.5,
                0.5,
                (|p: &SampleParams| p.brightness) as fn(&SampleParams) -> f32,
            ),
            ("saturation", 0.0, 2.0, |p| p.saturation),
            ("contrast", 0.5, 1.5, |p| p.contrast),
        ] {
            let v: Vec<f32> = first.iter().map(f).collect();
            assert!(v.iter().all(|&x| (lo..hi).contains(&x)), "{what} outside");
            // Uniform: the mean within 5σ = 5 (hi − lo) / √(12 · 2000) of the middle.
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            assert!((mean - (lo + hi) as f64 / 2.0).abs() < 0.033 * (hi - lo) as f64);
        }
        // The next step (advanced on the GPU) and another stream draw other parameters.
        gpu().run(&[&random::advance(gpu(), &counter, 0).expect("advance")]);
        let next = draw_on_gpu(s, streams::augment(1), &counter);
        assert_eq!(next, reference::draw(&s, SEED, streams::augment(1), 4));
        let other = draw_on_gpu(s, streams::augment(2), &counter);
        for (what, params) in [("next step", next), ("other stream", other)] {
            let same = first.iter().zip(&params).filter(|(a, b)| a == b).count();
            assert_eq!(same, 0, "{s:?} {what}: {same} samples drew the same");
        }
    }
}

#[test]
fn cutout_sizes_and_translation_limits_follow_the_reference() {
    for size in 1..=600u32 {
        let s = shape(1, 1, size, size + 1);
        let f = |v: u32, ratio: f64| (v as f64 * ratio + 0.5) as u32;
        assert_eq!(s.translation_limit(), [f(size, 0.125), f(size + 1, 0.125)]);
        assert_eq!(s.cutout_size(), [f(size, 0.5), f(size + 1, 0.5)]);
    }
    // On the GPU: a square inside a 28×28 image zeroes exactly 14 × 14 pixels per channel.
    let s = shape(2, 3, 28, 28);
    let inside = SampleParams {
        brightness: 0.0,
        saturation: 1.0,
        contrast: 1.0,
        shift: [0, 0],
        cutout: [7, 20],
    };
    let corner = SampleParams {
        cutout: [0, 28],
        ..inside
    };
    let ones = vec![1.0; s.tensor_len()];
    let pass = Pass::new(s, &ones, &ones, &ones, 0);
    let augment = pass.build(&[Kind::Cutout], 0, false).expect("valid");
    pass.set_params(&[inside, corner]);
    gpu().run(&augment.apply());
    let out = download(&pass.output, s.tensor_len());
    let zeros = |sample: usize| {
        let n = s.sample_len();
        out[sample * n..(sample + 1) * n]
            .iter()
            .filter(|&&v| v == 0.0)
            .count()
    };
    // The corner's square runs from −7 to 6 rows and 21 to 34 columns: 7 × 7 inside.
    assert_eq!([zeros(0), zeros(1)], [3 * 14 * 14, 3 * 7 * 7]);
}

#[test]
fn policies_parse_as_the_reference_names_them() {
    let parse = |s: &str| s.parse::<Policy>();
    let paper = parse("color,translation,cutout").expect("the paper's policy");
    assert_eq!(paper.kinds(), ALL);
    assert_eq!(paper.to_string(), "color,translation,cutout");
    assert_eq!(
        parse(" cutout , color").expect("blanks").kinds(),
        &[Kind::Cutout, Kind::Color]
    );
    assert!(parse("").expect("no augmentation").is_empty());
    for (bad, says) in [
        ("color,rotation", "unknown augmentation \"rotation\""),
        ("Color", "unknown augmentation \"Color\""),
        ("color,,cutout", "unknown augmentation \"\""),
        ("cutout,color,cutout", "names cutout twice"),
    ] {
        let e = parse(bad).expect_err(bad);
        assert!(
            matches!(e, Error::Invalid(_)) && e.to_string().contains(says),
            "{e}"
        );
    }
}

#[test]
fn bad_shapes_policies_and_buffers_are_errors() {
    let s = shape(2, 3, 5, 6);
    let x = vec![0.5; s.tensor_len()];
    let pass = Pass::new(s, &x, &x, &x, 0);
    let build = |shape, policy: &[Kind], buffers: &AugmentBuffers| {
        let draw = pass.draw(0);
        Augment::new(gpu(), shape, policy, draw, buffers, false).err()
    };
    let says = |e: Option<Error>, text: &str| {
        let e = e.expect("an error");
        assert!(e.to_string().contains(text), "{e} does not say {text}");
    };
    says(
        build(shape(0, 3, 5, 6), ALL, &pass.buffers()),
        "every size must be positive",
    );
    says(
        build(shape(2, 3, 5, 0), ALL, &pass.buffers()),
        "every size must be positive",
    );
    says(build(s, &[], &pass.buffers()), "the policy is empty");
    says(
        build(s, &[Kind::Color, Kind::Color], &pass.buffers()),
        "names color twice",
    );
    // One more row than the buffers hold.
    says(
        build(shape(2, 3, 6, 6), ALL, &pass.buffers()),
        "holds 180 elements",
    );
    let short = gpu().storage("params", s.params_len() - 1);
    let buffers = AugmentBuffers {
        params: &short,
        ..pass.buffers()
    };
    says(
        build(s, ALL, &buffers),
        "params holds 15 elements but the shape needs 16",
    );
    let buffers = AugmentBuffers {
        output: &pass.input,
        ..pass.buffers()
    };
    says(
        build(s, &[Kind::Cutout], &buffers),
        "input and output are the same buffer",
    );
    let buffers = AugmentBuffers {
        dinput: &pass.doutput,
        ..pass.buffers()
    };
    says(
        build(s, ALL, &buffers),
        "doutput and dinput are the same buffer",
    );
}

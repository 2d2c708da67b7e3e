//! pix2pix's and CycleGAN's random jitter (`jitter.wgsl` after random.wgsl's fill) against
//! `reference::jitter`, the Python's `get_params` and crop-then-flip: the output and the drawn
//! crops equal the reference's bit for bit on odd shapes (L = 11, S = 8, one and three
//! channels, batches 1 to 5, several counter values, flipping on and off); the crop is read
//! from the counter as it stands when the dispatch runs; two jitters with the same stream and
//! counter crop a pair alike (whatever their channels), different streams and different steps
//! do not; offsets cover 0 ..= L − S evenly and about half the samples flip; S = L without
//! flipping is the identity; a folded grid reaches every element; the load size helper keeps
//! the reference's proportion; bad shapes and buffers are refused.
use crate::common;

use common::*;
use webgan::kernels::jitter::{self, Crop, Jitter, JitterDraw, JitterShape, MAX_SIDE};
use webgan::reference::jitter as reference;
use webgan::{streams, Error};

const SEED: u64 = 0x5eed_0000_0000_0286;

/// A jitter's buffers on the GPU: input, output and a counter whose word 1 is the step.
struct Case {
    shape: JitterShape,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    counter: wgpu::Buffer,
}

impl Case {
    fn new(shape: JitterShape) -> Case {
        let gpu = gpu();
        Case {
            shape,
            input: gpu.storage("input", shape.input_len()),
            output: gpu.storage("output", shape.output_len()),
            counter: gpu.storage_from("counter", &[99u32, 0, 99]),
        }
    }

    fn draw(&self, stream: u32) -> JitterDraw<'_> {
        JitterDraw {
            seed: SEED,
            stream,
            counter: &self.counter,
            counter_index: 1,
        }
    }

    fn build(&self, stream: u32) -> webgan::Result<Jitter> {
        Jitter::new(
            gpu(),
            self.shape,
            self.draw(stream),
            &self.input,
            &self.output,
        )
    }

    /// The jitter of `images` at `step`, with the crops it drew.
    fn run(&self, jitter: &Jitter, images: &[f32], step: u32) -> (Vec<f32>, Vec<Crop>) {
        let gpu = gpu();
        gpu.queue
            .write_buffer(&self.input, 0, bytemuck::cast_slice(images));
        gpu.queue
            .write_buffer(&self.counter, 4, bytemuck::bytes_of(&step));
        gpu.run(&[jitter.dispatch()]);
        let out = gpu.read_f32_blocking(&self.output).expect("readback");
        let words = gpu.read_u32_blocking(jitter.crops()).expect("readback");
        (
            out[..self.shape.output_len()].to_vec(),
            Crop::from_words(&words[..self.shape.crops_len()]),
        )
    }
}

fn rand_f32(rng: &mut Rng, len: usize) -> Vec<f32> {
    rng.vec(len).into_iter().map(|x| x as f32).collect()
}

/// Each pixel its own column and row, `row · load + column` in every plane (exact in f32), so
/// a crop's first pixels say where it came from.
fn coordinates(shape: &JitterShape) -> Vec<f32> {
    let plane = (shape.load as usize).pow(2);
    (0..shape.input_len()).map(|e| (e % plane) as f32).collect()
}

/// A sample's crop read from the output of [`coordinates`]: the first pixel is the crop's
/// (x, y) unflipped, (x + S − 1, y) flipped, and the second is one column right or left of it.
fn crop_seen(shape: &JitterShape, out: &[f32], sample: usize) -> Crop {
    let first = sample * shape.channels as usize * (shape.crop as usize).pow(2);
    let (a, b) = (out[first] as u32, out[first + 1] as u32);
    let flip = b < a;
    let column = a % shape.load;
    Crop {
        x: if flip {
            column + 1 - shape.crop
        } else {
            column
        },
        y: a / shape.load,
        flip,
    }
}

fn shape(batch: u32, channels: u32, load: u32, crop: u32, flip: bool) -> JitterShape {
    JitterShape {
        batch,
        channels,
        load,
        crop,
        flip,
    }
}

#[test]
fn gpu_matches_reference_bit_for_bit() {
    let steps = [0, 1, 2, 7, 12_345, u32::MAX];
    let mut shapes = Vec::new();
    for batch in 1..=5 {
        for channels in [1, 3] {
            for flip in [true, false] {
                shapes.push(shape(batch, channels, 11, 8, flip));
            }
        }
    }
    // A 1×1 crop, a crop one short of the image, and the whole image flipped.
    shapes.extend([
        shape(3, 2, 9, 1, true),
        shape(2, 3, 7, 6, true),
        shape(4, 1, 5, 5, true),
    ]);
    let mut rng = Rng::new(1);
    for s in shapes {
        let case = Case::new(s);
        let stream = streams::jitter(0);
        let jitter = case.build(stream).expect("a valid jitter");
        for step in steps {
            let images = rand_f32(&mut rng, s.input_len());
            let (got, crops) = case.run(&jitter, &images, step);
            let want_crops = reference::draw(&s, SEED, stream, step);
            assert_eq!(crops, want_crops, "{s:?} at step {step}: the crops");
            let want = reference::jitter(&s, &want_crops, &images);
            assert!(
                got == want,
                "{s:?} at step {step}: got\n{got:?}\nnot\n{want:?}"
            );
        }
    }
}

/// The step is the counter's word when the dispatch runs, not when it was built: an advance
/// recorded before it in the same submission moves every crop on by one step.
#[test]
fn the_step_is_read_when_the_dispatch_runs() {
    let s = shape(16, 1, 11, 8, true);
    let case = Case::new(s);
    let stream = streams::jitter(3);
    let jitter = case.build(stream).expect("a valid jitter");
    let advance = webgan::kernels::random::advance(gpu(), &case.counter, 1).expect("advance");
    gpu()
        .queue
        .write_buffer(&case.counter, 4, bytemuck::bytes_of(&41u32));
    gpu().run(&[&advance, jitter.dispatch()]);
    let words = gpu().read_u32_blocking(jitter.crops()).expect("readback");
    let crops = Crop::from_words(&words[..s.crops_len()]);
    assert_eq!(crops, reference::draw(&s, SEED, stream, 42));
    assert_ne!(crops, reference::draw(&s, SEED, stream, 41));
}

/// pix2pix's A and B: two jitters of the same stream and counter, one of three channels and
/// one of one, crop and flip each pair alike, step after step; and the crops change between
/// steps.
#[test]
fn a_pair_is_cropped_alike() {
    let a = shape(6, 3, 11, 8, true);
    let b = JitterShape { channels: 1, ..a };
    let case_a = Case::new(a);
    let case_b = Case {
        counter: case_a.counter.clone(),
        ..Case::new(b)
    };
    let stream = streams::jitter(0);
    let jitter_a = case_a.build(stream).expect("a valid jitter");
    let jitter_b = case_b.build(stream).expect("a valid jitter");
    let (images_a, images_b) = (coordinates(&a), coordinates(&b));
    let mut seen = Vec::new();
    for step in 1..=6u32 {
        gpu()
            .queue
            .write_buffer(&case_a.counter, 4, bytemuck::bytes_of(&step));
        gpu()
            .queue
            .write_buffer(&case_a.input, 0, bytemuck::cast_slice(&images_a));
        gpu()
            .queue
            .write_buffer(&case_b.input, 0, bytemuck::cast_slice(&images_b));
        gpu().run(&[jitter_a.dispatch(), jitter_b.dispatch()]);
        let out_a = gpu().read_f32_blocking(&case_a.output).expect("readback");
        let out_b = gpu().read_f32_blocking(&case_b.output).expect("readback");
        let plane = 64;
        for i in 0..6 {
            // B's only plane is each of A's three.
            let b_plane = &out_b[i * plane..][..plane];
            for c in 0..3 {
                let a_plane = &out_a[(i * 3 + c) * plane..][..plane];
                assert_eq!(a_plane, b_plane, "step {step}, sample {i}, A's channel {c}");
            }
        }
        seen.push((0..6).map(|i| crop_seen(&a, &out_a, i)).collect::<Vec<_>>());
    }
    seen.dedup();
    assert_eq!(seen.len(), 6, "the crops repeated between steps: {seen:?}");
}

/// CycleGAN's A and B: different streams crop the same batch differently, as do different
/// steps of one stream.
#[test]
fn different_streams_and_steps_differ() {
    let s = shape(64, 1, 11, 8, true);
    let case = Case::new(s);
    let images = coordinates(&s);
    let crops = |stream, step| {
        let jitter = case.build(stream).expect("a valid jitter");
        case.run(&jitter, &images, step).1
    };
    let a = crops(streams::jitter(0), 3);
    let b = crops(streams::jitter(1), 3);
    let later = crops(streams::jitter(0), 4);
    let differ = |x: &[Crop], y: &[Crop]| x.iter().zip(y).filter(|(p, q)| p != q).count();
    // Two independent crops of 16 offsets and a flip agree with probability 1/32: 2 of 64.
    assert!(differ(&a, &b) > 48, "streams 0 and 1: {a:?}\n{b:?}");
    assert!(differ(&a, &later) > 48, "steps 3 and 4: {a:?}\n{later:?}");
}

#[test]
fn offsets_cover_the_range_evenly_and_about_half_flip() {
    let s = shape(4096, 1, 11, 8, true);
    let case = Case::new(s);
    let stream = streams::jitter(2);
    let jitter = case.build(stream).expect("a valid jitter");
    let images = coordinates(&s);
    let offsets = s.offsets() as usize;
    let (mut xs, mut ys, mut flips, mut n) = (vec![0usize; offsets], vec![0usize; offsets], 0, 0);
    for step in [5, 6] {
        let (out, crops) = case.run(&jitter, &images, step);
        for (i, crop) in crops.iter().enumerate() {
            // The crop the output shows is the one drawn.
            assert_eq!(crop_seen(&s, &out, i), *crop, "step {step}, sample {i}");
            xs[crop.x as usize] += 1;
            ys[crop.y as usize] += 1;
            flips += crop.flip as usize;
            n += 1;
        }
    }
    // Each offset of 0 ..= L − S about n / offsets times: binomial, 5σ.
    let share = 1.0 / offsets as f64;
    let sigma = (n as f64 * share * (1.0 - share)).sqrt();
    for (axis, counts) in [("x", &xs), ("y", &ys)] {
        for (k, &count) in counts.iter().enumerate() {
            assert!(
                (count as f64 - n as f64 * share).abs() <= 5.0 * sigma,
                "{axis} = {k} drawn {count} times of {n}"
            );
        }
    }
    // P(u > 1/2) = (2²³ − 1) / 2²⁴ for u = k / 2²⁴.
    let p = (8_388_608.0 - 1.0) / 16_777_216.0;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (flips as f64 - n as f64 * p).abs() <= 5.0 * sigma,
        "{flips} of {n} samples flipped"
    );
    // Without flipping, none does; the offsets are the same draws.
    let no_flip = JitterShape { flip: false, ..s };
    let case = Case::new(no_flip);
    let jitter = case.build(stream).expect("a valid jitter");
    let (_, crops) = case.run(&jitter, &coordinates(&no_flip), 5);
    let with_flip = reference::draw(&s, SEED, stream, 5);
    for (i, (c, f)) in crops.iter().zip(&with_flip).enumerate() {
        assert_eq!((c.x, c.y, c.flip), (f.x, f.y, false), "sample {i}");
    }
}

#[test]
fn a_whole_crop_without_flipping_is_the_identity() {
    let s = shape(3, 3, 7, 7, false);
    let case = Case::new(s);
    let jitter = case.build(streams::jitter(0)).expect("a valid jitter");
    let images = rand_f32(&mut Rng::new(2), s.input_len());
    for step in [0, 1, 99] {
        let (out, crops) = case.run(&jitter, &images, step);
        assert!(out == images, "step {step}");
        assert!(crops.iter().all(|c| *c
            == Crop {
                x: 0,
                y: 0,
                flip: false
            }));
    }
}

/// More than 65,535 workgroups of 256 output elements: the grid folds into y and every
/// element is written.
#[test]
fn a_folded_grid_reaches_every_element() {
    let s = shape(1, 2, 2900, 2897, true);
    assert!(s.output_len() > 65_535 * 256);
    let case = Case::new(s);
    let stream = streams::jitter(0);
    let jitter = case.build(stream).expect("a valid jitter");
    let images: Vec<f32> = (0..s.input_len()).map(|e| (e % 999_983) as f32).collect();
    let (got, crops) = case.run(&jitter, &images, 8);
    let want = reference::jitter(&s, &crops, &images);
    assert_eq!(crops, reference::draw(&s, SEED, stream, 8));
    let first_wrong = got.iter().zip(&want).position(|(a, b)| a != b);
    assert_eq!(first_wrong, None, "{s:?}");
}

#[test]
fn the_load_size_keeps_the_reference_proportion() {
    for (crop, load) in [
        (256, 286),
        (128, 143),
        (64, 72),
        (32, 36),
        (1, 1),
        (512, 572),
    ] {
        assert_eq!(jitter::load_size(crop), load, "crop {crop}");
    }
    for crop in 1..=MAX_SIDE {
        let load = jitter::load_size(crop);
        let exact = crop as f64 * 286.0 / 256.0;
        assert!((load as f64 - exact).abs() <= 0.5, "crop {crop}: {load}");
        assert!(load >= crop);
    }
    assert_eq!(jitter::load_size(u32::MAX), u32::MAX);
}

#[test]
fn bad_shapes_and_buffers_are_refused() {
    let ok = shape(2, 3, 11, 8, true);
    let limit = 128 << 20;
    assert!(ok.check(limit).is_ok());
    let bad = [
        (JitterShape { batch: 0, ..ok }, "at least 1"),
        (JitterShape { channels: 0, ..ok }, "at least 1"),
        (JitterShape { crop: 0, ..ok }, "at least 1"),
        (JitterShape { crop: 12, ..ok }, "crop size ≤ load size"),
        (
            JitterShape {
                load: MAX_SIDE + 1,
                crop: 8,
                ..ok
            },
            "at most 4096",
        ),
        // 64 images of 3 × 286² floats: 63 MB; 160 of them, 157 MB.
        (
            JitterShape {
                batch: 160,
                load: 286,
                crop: 256,
                ..ok
            },
            "the input would take",
        ),
        (
            JitterShape {
                batch: 10_000_000,
                channels: 1,
                load: 1,
                crop: 1,
                ..ok
            },
            "the crops would take",
        ),
    ];
    for (s, says) in bad {
        let e = s
            .check(limit)
            .err()
            .unwrap_or_else(|| panic!("{s:?} accepted"));
        assert!(matches!(e, Error::Shape { .. }), "{s:?}: {e}");
        assert!(e.to_string().contains(says), "{s:?}: {e}");
        // The GPU constructor refuses it before allocating anything.
        let case = Case::new(ok);
        let e = Jitter::new(gpu(), s, case.draw(0), &case.input, &case.output)
            .err()
            .unwrap_or_else(|| panic!("{s:?} built"));
        assert!(e.to_string().contains(says), "{s:?}: {e}");
    }
    let case = Case::new(ok);
    let draw = case.draw(streams::jitter(0));
    let short = gpu().storage("short", 13);
    let e = Jitter::new(gpu(), ok, draw, &short, &case.output)
        .err()
        .expect("a short input");
    assert!(e.to_string().contains("input holds 13 elements"), "{e}");
    let e = Jitter::new(gpu(), ok, draw, &case.input, &short)
        .err()
        .expect("a short output");
    assert!(e.to_string().contains("output holds 13 elements"), "{e}");
    let e = Jitter::new(gpu(), ok, draw, &case.input, &case.input)
        .err()
        .expect("input and output the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    let far = JitterDraw {
        counter_index: 3,
        ..draw
    };
    let e = Jitter::new(gpu(), ok, far, &case.input, &case.output)
        .err()
        .expect("a counter index past the counter");
    assert!(e.to_string().contains("counter holds 3"), "{e}");
}

//! CycleGAN's image pool (`image_pool.wgsl` after random.wgsl's fill) against
//! `reference::image_pool`, the Python's `ImagePool.query` with its count kept one image at a
//! time: over many steps, each run as a trainer runs it (advance the counter, then query), the
//! returned batch and the pool equal the reference's bit for bit (images only move), on odd
//! image lengths and batches that fill the pool exactly, partly, or past it in one step; a later
//! image of a batch reads the slot an earlier one of the same batch wrote; the count derived from
//! the step equals the reference's; about half the images come back from the pool once it is
//! full, from uniformly drawn slots; pool size 0 passes the batch through; bad shapes and
//! buffers are refused.
use crate::common;

use common::*;
use webgan::kernels::image_pool::{ImagePool, ImagePoolShape, PoolDraw, MAX_POOL_SIZE};
use webgan::kernels::random;
use webgan::reference::image_pool as reference;
use webgan::{streams, Error};

const SEED: u64 = 0x5eed_0000_0000_0050;
/// The counter's value at the first query: not 0 or 1, so an off-by-one in the derived count
/// shows.
const FIRST_STEP: u32 = 5;

/// A pool on the GPU with its input, output and counter (word 1 the step, starting one below
/// [`FIRST_STEP`], as a trainer's counter before its first advance).
struct Case {
    shape: ImagePoolShape,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    counter: wgpu::Buffer,
}

impl Case {
    fn new(shape: ImagePoolShape) -> Case {
        let gpu = gpu();
        let len = shape.images_len();
        Case {
            shape,
            input: gpu.storage("input", len),
            output: gpu.storage("output", len),
            counter: gpu.storage_from("counter", &[99u32, FIRST_STEP - 1, 99]),
        }
    }

    fn draw(&self, stream: u32) -> PoolDraw<'_> {
        PoolDraw {
            seed: SEED,
            stream,
            counter: &self.counter,
            counter_index: 1,
            first_step: FIRST_STEP,
        }
    }

    fn build(&self) -> webgan::Result<ImagePool> {
        ImagePool::new(
            gpu(),
            self.shape,
            self.draw(streams::image_pool(1)),
            &self.input,
            &self.output,
        )
    }

    /// One training step's share: the batch written, the counter advanced, the query.
    fn step(&self, pool: &ImagePool, images: &[f32]) -> Vec<f32> {
        let gpu = gpu();
        gpu.queue
            .write_buffer(&self.input, 0, bytemuck::cast_slice(images));
        let advance = random::advance(gpu, &self.counter, 1).expect("advance");
        let query = pool
            .query()
            .expect("a pool of at least one image records a query");
        gpu.run(&[&advance, query]);
        let out = gpu.read_f32_blocking(pool.output()).expect("readback");
        out[..images.len()].to_vec()
    }
}

fn rand_f32(rng: &mut Rng, len: usize) -> Vec<f32> {
    rng.vec(len).into_iter().map(|x| x as f32).collect()
}

/// How many images of `out` are an image of the same step's batch `images` from an earlier
/// position: returned from a slot that earlier image had just written.
fn same_batch_returns(images: &[f32], out: &[f32], image_len: usize) -> usize {
    let imgs: Vec<&[f32]> = images.chunks_exact(image_len).collect();
    out.chunks_exact(image_len)
        .enumerate()
        .filter(|(i, o)| imgs[..*i].iter().any(|x| x == o))
        .count()
}

#[test]
fn gpu_matches_reference_over_many_steps() {
    // (pool_size, batch, image_len, steps, whether some step must return an image from
    // earlier in its own batch)
    let cases = [
        (3, 1, 7, 12, false),
        (3, 2, 7, 12, false), // the second step fills slot 2, then may swap it
        (3, 3, 1000, 10, false), // one step fills the pool exactly
        (5, 3, 300, 12, false), // the second step fills it partly
        (2, 5, 7, 10, true),  // fills and swaps in the first step
        (1, 4, 7, 10, true),  // every swap in a batch hits slot 0
        (50, 1, 1, 80, false), // CycleGAN's pool and batch
    ];
    let mut rng = Rng::new(1);
    for (pool_size, batch, image_len, steps, expect_same_batch) in cases {
        let shape = ImagePoolShape {
            batch,
            image_len,
            pool_size,
        };
        let what = format!("{shape:?}");
        let case = Case::new(shape);
        let pool = case.build().expect("a valid pool");
        let stream = streams::image_pool(1);
        let mut cpu =
            reference::ImagePool::new(pool_size as usize, image_len as usize, SEED, stream);
        let mut same_batch = 0;
        for q in 0..steps {
            // The count the kernel derives from the step is the one the reference kept.
            assert_eq!(
                cpu.num_imgs(),
                shape.stored_before(q) as usize,
                "{what}: images held before query {q}"
            );
            let images = rand_f32(&mut rng, shape.images_len());
            let got = case.step(&pool, &images);
            let want = cpu.query(&images, FIRST_STEP + q);
            assert!(
                got == want,
                "{what}: query {q} returned\n{got:?}\nnot\n{want:?}"
            );
            let held = gpu()
                .read_f32_blocking(pool.pool().expect("a pool buffer"))
                .expect("readback");
            let want_held: Vec<f32> = cpu.images.concat();
            assert!(
                held[..want_held.len()] == want_held[..],
                "{what}: the pool after query {q}"
            );
            same_batch += same_batch_returns(&images, &got, image_len as usize);
        }
        assert_eq!(
            cpu.num_imgs(),
            pool_size as usize,
            "{what}: the pool filled"
        );
        if expect_same_batch {
            assert!(
                same_batch > 0,
                "{what}: no image read its own batch's write"
            );
        }
    }
}

/// More than 65,535 workgroups of 256 elements: the grid folds into y and every element of
/// the image moves.
#[test]
fn a_folded_grid_reaches_every_element() {
    let shape = ImagePoolShape {
        batch: 1,
        image_len: 65_535 * 256 + 3,
        pool_size: 1,
    };
    let case = Case::new(shape);
    let pool = case.build().expect("a valid pool");
    let mut cpu =
        reference::ImagePool::new(1, shape.image_len as usize, SEED, streams::image_pool(1));
    let len = shape.images_len();
    // The first query only fills; query on until one returns the stored image.
    let mut swapped = false;
    for q in 0..8 {
        let images: Vec<f32> = (0..len)
            .map(|e| (e % 1000) as f32 + q as f32 * 1000.0)
            .collect();
        let got = case.step(&pool, &images);
        let want = cpu.query(&images, FIRST_STEP + q);
        let first_wrong = got.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(first_wrong, None, "query {q} of {len} elements");
        swapped |= q > 0 && want != images;
        if swapped {
            break;
        }
    }
    assert!(swapped, "no query returned the stored image");
}

#[test]
fn about_half_the_images_come_from_the_pool_once_it_is_full() {
    let (pool_size, batch, steps) = (4u32, 256u32, 20u32);
    let shape = ImagePoolShape {
        batch,
        image_len: 1,
        pool_size,
    };
    let case = Case::new(shape);
    let pool = case.build().expect("a valid pool");
    let (mut decided, mut from_pool) = (0usize, 0usize);
    for q in 0..steps {
        // Each image is its own number (exact in f32), so one from the pool is one that differs.
        let ids: Vec<f32> = (0..batch).map(|i| (q * batch + i) as f32).collect();
        let out = case.step(&pool, &ids);
        for (i, (&id, &got)) in ids.iter().zip(&out).enumerate() {
            assert!(
                got <= id,
                "query {q} image {i}: returned {got}, a later image than {id}"
            );
            if shape.stored_before(q) as usize + i >= pool_size as usize {
                decided += 1;
                from_pool += (got != id) as usize;
            }
        }
    }
    // P(p > 1/2) = (2²³ − 1) / 2²⁴ for p = k / 2²⁴; binomial σ = √(P(1 − P)/n) ≈ 0.007.
    let p = (8_388_608.0 - 1.0) / 16_777_216.0;
    let fraction = from_pool as f64 / decided as f64;
    let sigma = (p * (1.0 - p) / decided as f64).sqrt();
    assert!(
        (fraction - p).abs() <= 5.0 * sigma,
        "{from_pool} of {decided} images came from the pool"
    );
    // The slots drawn for those are uniform over the pool: each drawn about a quarter of the time.
    let stream = streams::image_pool(1);
    let mut per_slot = vec![0usize; pool_size as usize];
    let mut swaps = 0;
    for q in 0..steps {
        let words =
            webgan::reference::random::bits(SEED, stream, FIRST_STEP + q, 2 * batch as usize);
        for pair in words.chunks_exact(2) {
            if reference::returns_stored(pair[0]) {
                per_slot[reference::slot(pair[1], pool_size as usize)] += 1;
                swaps += 1;
            }
        }
    }
    let share = 1.0 / pool_size as f64;
    let sigma = (swaps as f64 * share * (1.0 - share)).sqrt();
    for (k, &n) in per_slot.iter().enumerate() {
        assert!(
            (n as f64 - swaps as f64 * share).abs() <= 5.0 * sigma,
            "slot {k} drawn {n} times of {swaps}"
        );
    }
}

#[test]
fn two_pools_keep_and_swap_different_images() {
    let shape = ImagePoolShape {
        batch: 64,
        image_len: 1,
        pool_size: 1,
    };
    let outs = [0, 1].map(|k| {
        let case = Case::new(shape);
        let pool = ImagePool::new(
            gpu(),
            shape,
            case.draw(streams::image_pool(k)),
            &case.input,
            &case.output,
        )
        .expect("a valid pool");
        let ids: Vec<f32> = (0..64).map(|i| i as f32).collect();
        case.step(&pool, &ids)
    });
    assert!(
        outs[0] != outs[1],
        "pools 0 and 1 drew alike: {:?}",
        outs[0]
    );
}

#[test]
fn pool_size_zero_passes_the_batch_through() {
    let shape = ImagePoolShape {
        batch: 3,
        image_len: 5,
        pool_size: 0,
    };
    let case = Case::new(shape);
    let pool = case.build().expect("a valid pool");
    assert!(pool.query().is_none(), "a pool of 0 images records nothing");
    assert!(pool.pool().is_none(), "a pool of 0 images has no buffer");
    assert!(pool.output() == &case.input, "the batch is its own output");
    let images = rand_f32(&mut Rng::new(3), 15);
    let mut cpu = reference::ImagePool::new(0, 5, SEED, streams::image_pool(1));
    for step in 0..3 {
        assert_eq!(cpu.query(&images, step), images);
    }
}

#[test]
fn bad_shapes_and_buffers_are_refused() {
    let ok = ImagePoolShape {
        batch: 2,
        image_len: 7,
        pool_size: 3,
    };
    let limit = 128 << 20;
    assert!(ok.check(limit).is_ok());
    let bad = [
        (ImagePoolShape { batch: 0, ..ok }, "0 images"),
        (ImagePoolShape { image_len: 0, ..ok }, "0 elements"),
        (
            ImagePoolShape {
                pool_size: MAX_POOL_SIZE + 1,
                ..ok
            },
            "at most 1000",
        ),
        // 1000 images of 64×64×3 floats: 49 MB; of 256×256×3, 786 MB.
        (
            ImagePoolShape {
                pool_size: 1000,
                image_len: 256 * 256 * 3,
                ..ok
            },
            "the pool needs",
        ),
        (
            ImagePoolShape {
                batch: 200,
                image_len: 256 * 256 * 3,
                ..ok
            },
            "the batch needs",
        ),
    ];
    for (shape, says) in bad {
        let e = shape
            .check(limit)
            .err()
            .unwrap_or_else(|| panic!("{shape:?} accepted"));
        assert!(matches!(e, Error::Shape { .. }), "{shape:?}: {e}");
        assert!(e.to_string().contains(says), "{shape:?}: {e}");
        // The GPU constructor refuses it before allocating anything.
        let case = Case::new(ok);
        let e = ImagePool::new(
            gpu(),
            shape,
            case.draw(streams::image_pool(0)),
            &case.input,
            &case.output,
        )
        .err()
        .unwrap_or_else(|| panic!("{shape:?} built"));
        assert!(e.to_string().contains(says), "{shape:?}: {e}");
    }
    let case = Case::new(ok);
    let short = gpu().storage("short", 13);
    let draw = case.draw(streams::image_pool(0));
    let e = ImagePool::new(gpu(), ok, draw, &short, &case.output)
        .err()
        .expect("a short input");
    assert!(e.to_string().contains("input holds 13 elements"), "{e}");
    let e = ImagePool::new(gpu(), ok, draw, &case.input, &short)
        .err()
        .expect("a short output");
    assert!(e.to_string().contains("output holds 13 elements"), "{e}");
    let e = ImagePool::new(gpu(), ok, draw, &case.input, &case.input)
        .err()
        .expect("input and output the same buffer");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    let far = PoolDraw {
        counter_index: 3,
        ..draw
    };
    let e = ImagePool::new(gpu(), ok, far, &case.input, &case.output)
        .err()
        .expect("a counter index past the counter");
    assert!(e.to_string().contains("counter holds 3"), "{e}");
}

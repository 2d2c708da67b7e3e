//! CycleGAN's image pool as junyanz/pytorch-CycleGAN-and-pix2pix's `util/image_pool.py` has
//! it: a list of up to `pool_size` images and a count `num_imgs` kept as it grows, one image at
//! a time. Its random numbers are the GPU's: two Philox words per image of (seed, stream,
//! step), `random.uniform(0, 1)` from the first and `random.randint(0, pool_size - 1)` from
//! the second, each drawn whether or not the rule reads it. The kernel derives the count from
//! the step instead; the tests hold one against the other.
//!
//! Images only move, so any element type serves (f32 to compare bit for bit with the GPU, f64
//! beside the other references).

use crate::reference::random;

/// 2⁻²⁴: the spacing of the uniforms in [0, 1).
const TWO_POW_M24: f64 = 1.0 / 16_777_216.0;

/// p uniform in [0, 1) from the top 24 bits of a word: (u >> 8) / 2²⁴, exact.
pub fn uniform(u: u32) -> f64 {
    (u >> 8) as f64 * TWO_POW_M24
}

/// Whether image i's first word returns a stored image: p > 1/2, as the Python has it.
pub fn returns_stored(u: u32) -> bool {
    uniform(u) > 0.5
}

/// The slot uniform in [0, pool_size) from image i's second word: floor(u · pool_size / 2³²).
pub fn slot(u: u32, pool_size: usize) -> usize {
    random::index(u, pool_size as u32) as usize
}

/// The pool: `images[k]` is slot k, `images.len()` is the Python's `num_imgs`.
pub struct ImagePool<T> {
    pub pool_size: usize,
    pub image_len: usize,
    pub images: Vec<Vec<T>>,
    seed: u64,
    stream: u32,
}

impl<T: Copy> ImagePool<T> {
    /// An empty pool of `pool_size` images of `image_len` elements, drawing from (seed, stream).
    pub fn new(pool_size: usize, image_len: usize, seed: u64, stream: u32) -> ImagePool<T> {
        assert!(image_len > 0, "images of no elements");
        ImagePool {
            pool_size,
            image_len,
            images: Vec::with_capacity(pool_size),
            seed,
            stream,
        }
    }

    /// Images stored so far.
    pub fn num_imgs(&self) -> usize {
        self.images.len()
    }

    /// `query` for the batch `images` ([batch, image_len]) with the words of `step`.
    pub fn query(&mut self, images: &[T], step: u32) -> Vec<T> {
        assert_eq!(
            images.len() % self.image_len,
            0,
            "a batch of whole images of {} elements",
            self.image_len
        );
        if self.pool_size == 0 {
            return images.to_vec();
        }
        let batch = images.len() / self.image_len;
        let words = random::bits(self.seed, self.stream, step, 2 * batch);
        let mut out = Vec::with_capacity(images.len());
        for (i, image) in images.chunks_exact(self.image_len).enumerate() {
            if self.num_imgs() < self.pool_size {
                // The buffer is not full: keep inserting current images.
                self.images.push(image.to_vec());
                out.extend_from_slice(image);
            } else if returns_stored(words[2 * i]) {
                let j = slot(words[2 * i + 1], self.pool_size);
                let stored = std::mem::replace(&mut self.images[j], image.to_vec());
                out.extend_from_slice(&stored);
            } else {
                out.extend_from_slice(image);
            }
        }
        out
    }
}

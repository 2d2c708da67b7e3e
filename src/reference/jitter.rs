//! pix2pix's and CycleGAN's random jitter as junyanz/pytorch-CycleGAN-and-pix2pix's
//! `data/base_dataset.py` has it with `--preprocess resize_and_crop`: `get_params` draws
//! `x = random.randint(0, load − crop)`, `y` likewise and `flip = random.random() > 0.5`, and
//! `get_transform` crops the loaded image at (x, y), then mirrors the crop when `flip` (and
//! flipping is on). Its random numbers are the GPU's: one Philox block of (seed, stream, step)
//! per sample, whose words 0, 1 and 2 give x, y and the flip, each drawn whether or not it
//! is used.
//!
//! Pixels only move, so any element type serves (f32 to compare bit for bit with the GPU).

use crate::kernels::jitter::{Crop, JitterShape, WORDS_PER_SAMPLE};
use crate::reference::random;

/// 2⁻²⁴: the spacing of the uniforms in [0, 1).
const TWO_POW_M24: f64 = 1.0 / 16_777_216.0;

/// `random.randint(0, offsets − 1)` from one word: floor(u · offsets / 2³²).
pub fn offset(u: u32, offsets: u32) -> u32 {
    random::index(u, offsets)
}

/// `random.random() > 0.5` from one word, with the uniform (u >> 8) / 2²⁴ in [0, 1).
pub fn flips(u: u32) -> bool {
    (u >> 8) as f64 * TWO_POW_M24 > 0.5
}

/// Every sample's crop for (seed, stream, step).
pub fn draw(shape: &JitterShape, seed: u64, stream: u32, step: u32) -> Vec<Crop> {
    let offsets = shape.offsets();
    random::bits(seed, stream, step, shape.crops_len())
        .chunks_exact(WORDS_PER_SAMPLE)
        .map(|w| Crop {
            x: offset(w[0], offsets),
            y: offset(w[1], offsets),
            flip: shape.flip && flips(w[2]),
        })
        .collect()
}

/// `input` [batch, channels, load, load] cropped and flipped per sample by `crops` into
/// [batch, channels, crop, crop].
pub fn jitter<T: Copy>(shape: &JitterShape, crops: &[Crop], input: &[T]) -> Vec<T> {
    let (channels, load, side) = (
        shape.channels as usize,
        shape.load as usize,
        shape.crop as usize,
    );
    assert_eq!(input.len(), shape.input_len(), "input of {shape:?}");
    assert_eq!(crops.len(), shape.batch as usize, "a crop per sample");
    let mut out = Vec::with_capacity(shape.output_len());
    for (sample, crop) in input.chunks_exact(channels * load * load).zip(crops) {
        for plane in sample.chunks_exact(load * load) {
            // The crop: rows y .. y + side, columns x .. x + side of the plane.
            for row in plane[crop.y as usize * load..][..side * load].chunks_exact(load) {
                let cropped = &row[crop.x as usize..][..side];
                if crop.flip {
                    out.extend(cropped.iter().rev());
                } else {
                    out.extend_from_slice(cropped);
                }
            }
        }
    }
    out
}

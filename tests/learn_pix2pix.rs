//! pix2pix learns a small paired task in 600 steps: A is a disc's outline, B the
//! filled disc. On held-out pairs, G's L1 error ends clearly below the trivial answer (the
//! training targets' mean image), which no amount of noise in the weights reaches.
use std::sync::Arc;

use webgan::train::recipes::cyclegan_run::LinearDecay;
use webgan::train::recipes::pix2pix::{Pix2Pix, Pix2PixRun};
use webgan::train::translate::Translator;
use webgan::train::{GpuDataset, Trainer};
use webgan::Gpu;

const SIDE: u32 = 32;

/// `n` pairs (outline, filled) of discs at places and radii drawn from `seed`, one gray
/// channel, as u8 rows.
fn discs(n: usize, mut seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut next = |below: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % below
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (cx, cy, r) = (
            10.0 + next(12) as f64,
            10.0 + next(12) as f64,
            4.0 + next(5) as f64,
        );
        for y in 0..SIDE {
            for x in 0..SIDE {
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                a.push(if (d - r).abs() < 1.0 { 0 } else { 255 });
                b.push(if d < r { 0 } else { 255 });
            }
        }
    }
    (a, b)
}

fn scaled(rows: &[u8]) -> Vec<f32> {
    rows.iter().map(|&v| v as f32 / 127.5 - 1.0).collect()
}

fn l1(x: &[f32], y: &[f32]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs() as f64)
        .sum::<f64>()
        / x.len() as f64
}

#[test]
fn pix2pix_learns_to_fill_outlines_beyond_the_trivial_answer() {
    let gpu = Arc::new(Gpu::new_blocking().expect("GPU tests need an adapter"));
    let row = (SIDE * SIDE) as usize;
    let (train_a, train_b) = discs(64, 1);
    let (test_a, test_b) = discs(8, 2);
    let run = Pix2PixRun {
        ngf: 8,
        ndf: 8,
        n_layers_d: 2,
        batch: 4,
        load_size: 0,
        flip: false,
        // No decay within the run.
        decay: LinearDecay {
            epoch_steps: 16,
            n_epochs: 1000,
            n_epochs_decay: 1,
        },
        ..Pix2PixRun::new(SIDE, 1, 1).unwrap()
    };
    let data = [
        GpuDataset::upload(&gpu, &train_a, row).unwrap(),
        GpuDataset::upload(&gpu, &train_b, row).unwrap(),
    ];
    let mut t = Trainer::<Pix2Pix>::start(gpu.clone(), run, data).unwrap();
    for _ in 0..60 {
        t.train(10).unwrap();
    }
    let translator = Translator::new(&gpu, &t.recipe.g, 8, None).unwrap();
    translator.set_images(&gpu, &scaled(&test_a)).unwrap();
    let fake = pollster::block_on(Translator::run_all(&gpu, &[&translator]))
        .unwrap()
        .remove(0);
    let want = scaled(&test_b);
    // The trivial answer: every held-out target guessed as the training targets' mean image.
    let mean: Vec<f32> = (0..row)
        .map(|p| {
            (0..64)
                .map(|i| scaled(&train_b[i * row + p..][..1])[0])
                .sum::<f32>()
                / 64.0
        })
        .collect();
    let trivial = l1(&mean.repeat(8), &want);
    let learned = l1(&fake, &want);
    eprintln!("held-out L1: learned {learned:.3}, trivial {trivial:.3}");
    assert!(
        learned < 0.5 * trivial,
        "after 600 steps G's held-out L1 is {learned:.3}, the mean target's {trivial:.3}"
    );
}

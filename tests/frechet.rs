//! The Fréchet distance against closed forms, and the Jacobi eigensolver behind it.

use crate::common;

use common::Rng;
use webgan::quality::frechet::{frechet_distance, sqrt_psd, symmetric_eigen, Gaussian};

fn gaussian(dim: usize, mean: Vec<f64>, covariance: Vec<f64>) -> Gaussian {
    Gaussian {
        dim,
        count: 100,
        mean,
        covariance,
    }
}

fn diagonal(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    (0..n * n)
        .map(|k| if k / n == k % n { values[k / n] } else { 0.0 })
        .collect()
}

#[test]
fn closed_forms_in_one_and_three_dimensions() {
    // 1-D: (μ1 − μ2)² + (σ1 − σ2)².
    let d = frechet_distance(
        &gaussian(1, vec![1.0], vec![4.0]),
        &gaussian(1, vec![-2.0], vec![9.0]),
    )
    .unwrap();
    assert!((d - (9.0 + 1.0)).abs() < 1e-9, "{d}");
    // Diagonal covariances: Σ (μ diff)² + Σ (σ1i − σ2i)².
    let (a, b) = (
        gaussian(3, vec![0.0, 1.0, 2.0], diagonal(&[1.0, 4.0, 0.25])),
        gaussian(3, vec![1.0, 1.0, 0.0], diagonal(&[9.0, 1.0, 0.25])),
    );
    let want = 1.0 + 0.0 + 4.0 + (1.0f64 - 3.0).powi(2) + (2.0f64 - 1.0).powi(2);
    let d = frechet_distance(&a, &b).unwrap();
    assert!((d - want).abs() < 1e-9, "{d} vs {want}");
    assert!(
        (frechet_distance(&b, &a).unwrap() - want).abs() < 1e-9,
        "symmetric"
    );
}

#[test]
fn fitted_samples_give_zero_for_themselves_and_grow_with_a_shift() {
    let mut rng = Rng::new(31);
    let dim = 6;
    let x: Vec<f32> = (0..500 * dim)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    let g = Gaussian::fit(&x, dim).unwrap();
    assert!(frechet_distance(&g, &g).unwrap() < 1e-9);
    let mut last = 0.0;
    for shift in [0.1f32, 0.5, 1.0, 2.0] {
        let y: Vec<f32> = x.iter().map(|v| v + shift).collect();
        let d = frechet_distance(&g, &Gaussian::fit(&y, dim).unwrap()).unwrap();
        // A pure shift moves only the means: d = dim · shift².
        assert!(
            (d - dim as f64 * (shift as f64).powi(2)).abs() < 1e-6,
            "{shift}: {d}"
        );
        assert!(d > last);
        last = d;
    }
}

#[test]
fn a_common_rotation_changes_nothing() {
    let mut rng = Rng::new(32);
    let dim = 3;
    let (x, y): (Vec<f32>, Vec<f32>) = (
        (0..300 * dim)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect(),
        (0..300 * dim)
            .map(|i| (rng.uniform(-2.0, 1.0) * (1 + i % 3) as f64) as f32)
            .collect(),
    );
    let rotate = |v: &[f32]| -> Vec<f32> {
        let (c, s) = (0.6f32, 0.8f32);
        v.chunks(3)
            .flat_map(|p| [c * p[0] - s * p[1], s * p[0] + c * p[1], p[2]])
            .collect()
    };
    let before = frechet_distance(
        &Gaussian::fit(&x, dim).unwrap(),
        &Gaussian::fit(&y, dim).unwrap(),
    )
    .unwrap();
    let after = frechet_distance(
        &Gaussian::fit(&rotate(&x), dim).unwrap(),
        &Gaussian::fit(&rotate(&y), dim).unwrap(),
    )
    .unwrap();
    assert!(
        (before - after).abs() < 1e-4 * before.max(1.0),
        "{before} vs {after}"
    );
}

#[test]
fn jacobi_reconstructs_symmetric_matrices_and_roots_square_back() {
    let mut rng = Rng::new(33);
    let n = 20;
    let b: Vec<f64> = (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    // m = b bᵀ: symmetric positive semi-definite.
    let m: Vec<f64> = (0..n * n)
        .map(|k| {
            (0..n)
                .map(|t| b[(k / n) * n + t] * b[(k % n) * n + t])
                .sum()
        })
        .collect();
    let (values, v) = symmetric_eigen(&m, n);
    for i in 0..n {
        for j in 0..n {
            let rebuilt: f64 = (0..n)
                .map(|k| v[i * n + k] * values[k] * v[j * n + k])
                .sum();
            assert!(
                (rebuilt - m[i * n + j]).abs() < 1e-9,
                "V Λ Vᵀ at ({i}, {j})"
            );
            let dot: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
            assert!(
                (dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9,
                "V orthonormal at ({i}, {j})"
            );
        }
    }
    let r = sqrt_psd(&m, n);
    for i in 0..n {
        for j in 0..n {
            let sq: f64 = (0..n).map(|k| r[i * n + k] * r[k * n + j]).sum();
            assert!((sq - m[i * n + j]).abs() < 1e-8, "root² at ({i}, {j})");
        }
    }
}

#[test]
fn bad_features_are_refused() {
    assert!(Gaussian::fit(&[1.0, 2.0], 2).is_err(), "one vector");
    assert!(
        Gaussian::fit(&[1.0, 2.0, 3.0], 2).is_err(),
        "not whole vectors"
    );
    assert!(Gaussian::fit(&[1.0, f32::NAN, 3.0, 4.0], 2).is_err(), "NaN");
    let (a, b) = (
        gaussian(1, vec![0.0], vec![1.0]),
        gaussian(2, vec![0.0, 0.0], diagonal(&[1.0, 1.0])),
    );
    assert!(frechet_distance(&a, &b).is_err(), "dimensions differ");
}

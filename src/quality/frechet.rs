//! The Fréchet distance between two Gaussians fitted to feature vectors (the "F" of FID):
//! |μa − μb|² + tr(Σa) + tr(Σb) − 2·tr((Σa^½ Σb Σa^½)^½). Written with symmetric square roots
//! only (by Jacobi eigendecomposition), which are stable where a general matrix root is not.

use crate::{Error, Result};

/// Mean and unbiased covariance of `count` vectors of `dim` features.
#[derive(Clone, Debug)]
pub struct Gaussian {
    pub dim: usize,
    pub count: usize,
    pub mean: Vec<f64>,
    /// dim × dim, row-major.
    pub covariance: Vec<f64>,
}

impl Gaussian {
    pub fn fit(features: &[f32], dim: usize) -> Result<Gaussian> {
        if dim == 0 || !features.len().is_multiple_of(dim) {
            return Err(Error::Invalid(format!(
                "{} features are not whole vectors of {dim}",
                features.len()
            )));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(Error::Invalid(format!(
                "a covariance needs at least 2 vectors, not {count}"
            )));
        }
        if features.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid(
                "the features hold NaN or infinite values".into(),
            ));
        }
        let mut mean = vec![0.0; dim];
        for row in features.chunks(dim) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &v)| *m += v as f64 / count as f64);
        }
        let mut covariance = vec![0.0; dim * dim];
        for row in features.chunks(dim) {
            let d: Vec<f64> = row.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
            for i in 0..dim {
                for j in 0..dim {
                    covariance[i * dim + j] += d[i] * d[j] / (count - 1) as f64;
                }
            }
        }
        Ok(Gaussian {
            dim,
            count,
            mean,
            covariance,
        })
    }
}

/// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a symmetric
/// matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(m: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let norm: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum::<f64>()
            .sqrt();
        if off <= 1e-13 * norm.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q]: tan 2θ = 2 a_pq / (a_qq − a_pp).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum().max(0.0).mul_add(2.0, -1.0)
                    / (theta.abs() + (theta * theta + 1.0).sqrt());
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// The square root of a symmetric positive semi-definite matrix; rounding's tiny negative
/// eigenvalues count as 0.
pub fn sqrt_psd(m: &[f64], n: usize) -> Vec<f64> {
    let (values, v) = symmetric_eigen(m, n);
    let roots: Vec<f64> = values.iter().map(|&l| l.max(0.0).sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = (0..n).map(|k| v[i * n + k] * roots[k] * v[j * n + k]).sum();
        }
    }
    out
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                out[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    out
}

pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64> {
    if a.dim != b.dim {
        return Err(Error::Invalid(format!(
            "features of {} and {} dimensions cannot be compared",
            a.dim, b.dim
        )));
    }
    let n = a.dim;
    let mean: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let trace = |m: &[f64]| (0..n).map(|i| m[i * n + i]).sum::<f64>();
    let root_a = sqrt_psd(&a.covariance, n);
    let mut inner = matmul(&matmul(&root_a, &b.covariance, n), &root_a, n);
    // Symmetrise what rounding made slightly asymmetric.
    for i in 0..n {
        for j in 0..i {
            let s = (inner[i * n + j] + inner[j * n + i]) / 2.0;
            inner[i * n + j] = s;
            inner[j * n + i] = s;
        }
    }
    let cross = trace(&sqrt_psd(&inner, n));
    Ok((mean + trace(&a.covariance) + trace(&b.covariance) - 2.0 * cross).max(0.0))
}

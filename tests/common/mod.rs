//! Shared by the test files: the GPU (a test that finds none fails), random data, and
//! tolerance checks of the form |got − want| ≤ atol + rtol·|want|.
#![allow(dead_code)]

use std::sync::OnceLock;

use webgan::Gpu;

pub mod files;
pub mod graph_case;
pub mod layer_case;

/// One device for the whole test binary. No adapter is a failure, never a skip.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new_blocking() {
        Ok(gpu) => gpu,
        Err(e) => panic!("GPU tests need an adapter (CI installs lavapipe): {e}"),
    })
}

/// A small deterministic generator (SplitMix64), so tests need no extra crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// `n` values uniform in [−1, 1), already rounded to f32 so that the GPU sees the same data.
    pub fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| self.uniform(-1.0, 1.0) as f32 as f64)
            .collect()
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

pub fn upload(v: &[f64]) -> wgpu::Buffer {
    gpu().storage_from("test input", &to_f32(v))
}

pub fn download(b: &wgpu::Buffer, len: usize) -> Vec<f64> {
    let v = gpu().read_f32_blocking(b).expect("readback");
    v[..len].iter().map(|&x| x as f64).collect()
}

/// Asserts |got − want| ≤ atol + rtol·|want| everywhere, naming the first element that is not.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0usize, 0.0f64);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let excess = (g - w).abs() - (atol + rtol * w.abs());
        assert!(!g.is_nan(), "{what}[{i}] is NaN (want {w})");
        if excess > worst.1 {
            worst = (i, excess);
        }
    }
    let i = worst.0;
    assert!(
        worst.1 <= 0.0,
        "{what}[{i}]: got {}, want {} (atol {atol}, rtol {rtol})",
        got[i],
        want[i]
    );
}

/// Central differences (f(x + h) − f(x − h)) / 2h of the scalar `loss` with respect to every
/// element of `x`, in f64.
pub fn numeric_gradient(x: &[f64], mut loss: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let keep = x[i];
            x[i] = keep + h;
            let plus = loss(&x);
            x[i] = keep - h;
            let minus = loss(&x);
            x[i] = keep;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Gradient-check tolerance (tinygrad's gradcheck): atol 1e-5, rtol 1e-3.
pub fn assert_gradient(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_close(what, analytic, numeric, 1e-5, 1e-3);
}

/// ⟨a, b⟩: a random projection turns a tensor output into a scalar loss for gradient checks.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

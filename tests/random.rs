//! Philox on the GPU against the Random123 known answers and the CPU reference, and the
//! statistics of what it draws.
use crate::common;

use common::{assert_close, gpu, Rng};
use webgan::kernels::random::{self, Distribution};
use webgan::reference::random as reference;

/// The shader parses and validates with naga, no GPU needed.
#[test]
fn shader_validates() {
    let module = naga::front::wgsl::parse_str(random::SHADER.source).expect("random.wgsl parses");
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .expect("random.wgsl validates");
}

/// Philox4x32-10 known answers from Random123's kat_vectors: (counter, key, output).
const KNOWN_ANSWERS: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
    (
        [0; 4],
        [0; 2],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ),
    (
        [0xffffffff; 4],
        [0xffffffff; 2],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ),
    (
        [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        [0xa4093822, 0x299f31d0],
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ),
];

#[test]
fn philox_known_answers_cpu() {
    for (counter, key, want) in KNOWN_ANSWERS {
        assert_eq!(
            reference::philox4x32_10(counter, key),
            want,
            "{counter:x?} {key:x?}"
        );
    }
}

/// Runs the bare generator on the GPU over (counter, key) pairs.
fn gpu_philox(blocks: &[([u32; 4], [u32; 2])]) -> Vec<[u32; 4]> {
    let words: Vec<u32> = blocks
        .iter()
        .flat_map(|(c, k)| c.iter().chain(k).copied())
        .collect();
    let input = gpu().storage_from("philox input", &words);
    let out = gpu().storage("philox out", blocks.len() * 4);
    let d = random::philox_blocks(gpu(), &input, blocks.len(), &out).expect("philox dispatch");
    gpu().run(&[&d]);
    let got = gpu().read_u32_blocking(&out).expect("readback");
    got.chunks_exact(4)
        .map(|w| w.try_into().expect("chunks of 4"))
        .collect()
}

#[test]
fn philox_known_answers_gpu() {
    let blocks: Vec<_> = KNOWN_ANSWERS.iter().map(|&(c, k, _)| (c, k)).collect();
    let got = gpu_philox(&blocks);
    for ((counter, key, want), got) in KNOWN_ANSWERS.iter().zip(got) {
        assert_eq!(got, *want, "GPU Philox of {counter:x?} {key:x?}");
    }
}

/// Random counters and keys: the shader's 16-bit-half products against the CPU's u64 ones.
#[test]
fn philox_random_counters_gpu_matches_cpu() {
    let mut rng = Rng::new(11);
    let mut word = || rng.next_u64() as u32;
    let blocks: Vec<([u32; 4], [u32; 2])> = (0..1000)
        .map(|_| ([word(), word(), word(), word()], [word(), word()]))
        .collect();
    let got = gpu_philox(&blocks);
    for ((c, k), g) in blocks.iter().zip(got) {
        assert_eq!(g, reference::philox4x32_10(*c, *k), "{c:x?} {k:x?}");
    }
}

/// The reference's polynomial ln, cos and sin (which the shader copies) against f64 libm:
/// ln within 2e-7 relative on a sample of the 2^24 values u can take, cos and sin within
/// 1.2e-7 (two f32 ulps at 1) on [−π/4, π/4].
#[test]
fn polynomial_ln_cos_sin_are_accurate() {
    assert_eq!(reference::ln(1.0), 0.0);
    for j in (1u32..=1 << 24)
        .step_by(97)
        .chain((1 << 24) - 1000..=1 << 24)
    {
        let x = j as f32 / (1u32 << 24) as f32;
        let (got, want) = (reference::ln(x) as f64, (x as f64).ln());
        assert!(
            (got - want).abs() <= 2e-7 * want.abs(),
            "ln {x}: {got} vs {want}"
        );
    }
    for i in -10_000..=10_000 {
        let phi = (i as f64 / 10_000.0 * std::f64::consts::FRAC_PI_4) as f32;
        let (c, s) = reference::cos_sin(phi);
        let phi = phi as f64;
        assert!((c as f64 - phi.cos()).abs() < 1.2e-7, "cos {phi}: {c}");
        assert!((s as f64 - phi.sin()).abs() < 1.2e-7, "sin {phi}: {s}");
    }
}

/// A counter buffer whose word `index` holds `step`, surrounded by other values.
fn counter_buffer(index: usize, step: u32) -> wgpu::Buffer {
    let mut words = vec![0xdead_beef_u32; index + 2];
    words[index] = step;
    gpu().storage_from("counter", &words)
}

/// One fill on the GPU, read back as u32 words. `out` has a tail of sentinels past `len`,
/// which the fill must leave alone.
fn gpu_fill(dist: Distribution, seed: u64, stream: u32, step: u32, len: usize) -> Vec<u32> {
    const SENTINEL: u32 = 0x7fc0_beef;
    let counter = counter_buffer(2, step);
    let out = gpu().storage_from("random out", &vec![SENTINEL; len + 7]);
    let d = random::fill(gpu(), dist, seed, stream, &counter, 2, &out, len).expect("fill");
    gpu().run(&[&d]);
    let mut got = gpu().read_u32_blocking(&out).expect("readback");
    assert!(
        got[len..].iter().all(|&w| w == SENTINEL),
        "{dist:?} wrote past {len}"
    );
    got.truncate(len);
    got
}

fn as_f64(words: &[u32]) -> Vec<f64> {
    words.iter().map(|&w| f32::from_bits(w) as f64).collect()
}

const SEED: u64 = 0x0123_4567_89ab_cdef;

#[test]
fn gpu_matches_cpu_on_odd_lengths() {
    let (stream, step) = (3, 7);
    for len in [1, 2, 5, 1001] {
        let bits = gpu_fill(Distribution::Bits, SEED, stream, step, len);
        assert_eq!(
            bits,
            reference::bits(SEED, stream, step, len),
            "bits, len {len}"
        );

        for n in [1, 7, 60_000, u32::MAX] {
            let got = gpu_fill(Distribution::Indices(n), SEED, stream, step, len);
            let want = reference::indices(SEED, stream, step, n, len);
            assert_eq!(got, want, "indices below {n}, len {len}");
        }

        // Integer and exact f32 steps only: equal bit for bit, stricter than any tolerance.
        let got = gpu_fill(Distribution::Uniform, SEED, stream, step, len);
        let want: Vec<u32> = reference::uniform(SEED, stream, step, len)
            .into_iter()
            .map(f32::to_bits)
            .collect();
        assert_eq!(got, want, "uniform bits, len {len}");

        // ln, cos and sin are the same polynomials on both sides; what differs is a GPU fusing
        // a multiply and an add into fma, and sqrt (Vulkan allows ~3 ulp). Over 4M normals
        // lavapipe was within 3 ulp (4.8e-7 absolute at |z| < 5.8); 1e-6 + 1e-6 |z| covers that.
        let got = as_f64(&gpu_fill(Distribution::Normal, SEED, stream, step, len));
        let want: Vec<f64> = reference::normal(SEED, stream, step, len)
            .into_iter()
            .map(f64::from)
            .collect();
        assert_close("normal", &got, &want, 1e-6, 1e-6);
    }
}

#[test]
fn same_inputs_give_same_numbers() {
    for dist in [Distribution::Bits, Distribution::Normal] {
        let a = gpu_fill(dist, SEED, 1, 5, 333);
        let b = gpu_fill(dist, SEED, 1, 5, 333);
        assert_eq!(a, b, "{dist:?}");
    }
}

/// Fraction of positions where two fills agree: about 2^-32 for independent words.
fn agreement(a: &[u32], b: &[u32]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[test]
fn different_seed_stream_or_step_give_different_numbers() {
    let len = 4096;
    let base = gpu_fill(Distribution::Bits, SEED, 1, 5, len);
    let others = [
        (
            "seed low word",
            gpu_fill(Distribution::Bits, SEED ^ 1, 1, 5, len),
        ),
        (
            "seed high word",
            gpu_fill(Distribution::Bits, SEED ^ (1 << 32), 1, 5, len),
        ),
        ("stream", gpu_fill(Distribution::Bits, SEED, 2, 5, len)),
        ("step", gpu_fill(Distribution::Bits, SEED, 1, 6, len)),
    ];
    for (what, other) in &others {
        let same = agreement(&base, other);
        assert!(
            same < 1e-3,
            "changing the {what} left {same} of the words as they were"
        );
    }
    // Nor does the next stream repeat this one shifted by a block (a counter overlap).
    assert!(agreement(&base[4..], &others[2].1[..len - 4]) < 1e-3);
}

/// [fill, advance] recorded three times into one submission: each fill sees the next step,
/// and the counter ends three steps on, with no write from the CPU in between.
#[test]
fn advance_draws_fresh_numbers_within_one_submission() {
    let (index, start, len) = (1, 40, 103);
    let counter = counter_buffer(index, start);
    let outs: Vec<wgpu::Buffer> = (0..3).map(|_| gpu().storage("out", len)).collect();
    let fills: Vec<_> = outs
        .iter()
        .map(|out| {
            random::fill(
                gpu(),
                Distribution::Bits,
                SEED,
                9,
                &counter,
                index as u32,
                out,
                len,
            )
            .expect("fill")
        })
        .collect();
    let advance = random::advance(gpu(), &counter, index as u32).expect("advance");
    gpu().run(&[
        &fills[0], &advance, &fills[1], &advance, &fills[2], &advance,
    ]);
    for (k, out) in outs.iter().enumerate() {
        let got = &gpu().read_u32_blocking(out).expect("readback")[..len];
        let step = start + k as u32;
        assert_eq!(
            got,
            reference::bits(SEED, 9, step, len),
            "fill {k} at step {step}"
        );
    }
    let words = gpu().read_u32_blocking(&counter).expect("readback");
    assert_eq!(
        words,
        [0xdead_beef, start + 3, 0xdead_beef],
        "only counter[index] moves"
    );
}

/// Mean, variance, skewness and excess kurtosis.
fn moments(x: &[f64]) -> (f64, f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let central = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let var = central(2);
    (
        mean,
        var,
        central(3) / var.powf(1.5),
        central(4) / (var * var) - 3.0,
    )
}

#[test]
fn normal_moments_of_a_million_samples() {
    let len = 1 << 20;
    let z = as_f64(&gpu_fill(Distribution::Normal, SEED, 4, 0, len));
    let (mean, var, skew, kurtosis) = moments(&z);
    // Standard errors at n = 2^20: mean 0.001, variance 0.0014, skew 0.0024, kurtosis 0.0048.
    assert!(mean.abs() < 0.005, "mean {mean}");
    assert!((var - 1.0).abs() < 0.01, "variance {var}");
    assert!(skew.abs() < 0.015, "skewness {skew}");
    assert!(kurtosis.abs() < 0.03, "excess kurtosis {kurtosis}");
    // P(|z| < 1) = 0.6827, with a standard error of 0.00045.
    let inside = z.iter().filter(|v| v.abs() < 1.0).count() as f64 / len as f64;
    assert!((inside - 0.6827).abs() < 0.003, "P(|z| < 1) = {inside}");
    // Neighbours (a cos/sin pair, or the end of one pair and the next) are uncorrelated.
    let lag1 = z.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / len as f64;
    assert!(lag1.abs() < 0.005, "lag-1 correlation {lag1}");
    let max = z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        max > 4.0 && max <= 5.8,
        "max |z| {max}: √(2 · 24 ln 2) = 5.77 bounds it"
    );
}

#[test]
fn uniform_moments_and_range() {
    let len = 1 << 20;
    let x = as_f64(&gpu_fill(Distribution::Uniform, SEED, 5, 0, len));
    let (mean, var, skew, _) = moments(&x);
    // Standard errors at n = 2^20: mean 0.00056, variance 0.00029.
    assert!(mean.abs() < 0.003, "mean {mean}");
    assert!((var - 1.0 / 3.0).abs() < 0.002, "variance {var}");
    assert!(skew.abs() < 0.01, "skewness {skew}");
    let min = x.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(min > -1.0 && min < -0.9999, "min {min}");
    assert!(max < 1.0 && max > 0.9999, "max {max}");
}

/// Pearson's chi-square of `counts` against equal expected counts.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// A bound on chi-square with `dof` degrees of freedom: mean dof, sd √(2 dof), plus 6 sd.
fn chi_square_bound(dof: usize) -> f64 {
    dof as f64 + 6.0 * (2.0 * dof as f64).sqrt()
}

#[test]
fn chi_square_bound_rejects_a_biased_histogram() {
    // One bin of ten 10 % over the others, at 10,000 per bin, must fail the test below.
    let mut counts = vec![10_000u64; 10];
    counts[0] += 1_000;
    assert!(chi_square(&counts) > chi_square_bound(9));
}

#[test]
fn indices_are_below_n_and_uniform() {
    let len = 100_000;
    for n in [10u32, 7] {
        let got = gpu_fill(Distribution::Indices(n), SEED, 6, 0, len);
        let mut counts = vec![0u64; n as usize];
        for &i in &got {
            assert!(i < n, "index {i} ≥ {n}");
            counts[i as usize] += 1;
        }
        let chi2 = chi_square(&counts);
        let bound = chi_square_bound(n as usize - 1);
        assert!(
            chi2 < bound,
            "n = {n}: chi-square {chi2} ≥ {bound}, counts {counts:?}"
        );
    }
    let ones = gpu_fill(Distribution::Indices(1), SEED, 6, 0, 99);
    assert!(ones.iter().all(|&i| i == 0));
}

#[test]
fn bad_arguments_are_errors() {
    let counter = counter_buffer(0, 0);
    let out = gpu().storage("out", 10);
    let fill = |dist, index, len| random::fill(gpu(), dist, SEED, 0, &counter, index, &out, len);
    let msg = fill(Distribution::Indices(0), 0, 10)
        .err()
        .expect("n = 0")
        .to_string();
    assert!(msg.contains("n ≥ 1"), "{msg}");
    assert!(fill(Distribution::Normal, 0, 11).is_err(), "out too small");
    assert!(
        fill(Distribution::Normal, 2, 10).is_err(),
        "counter index past the end"
    );
    assert!(fill(Distribution::Normal, 1, 10).is_ok());
    assert!(random::advance(gpu(), &counter, 2).is_err());
    assert!(
        random::philox_blocks(gpu(), &counter, 1, &out).is_err(),
        "6 words per block"
    );
}

//! Philox4x32-10 and its transforms, as `shaders/random.wgsl` computes them. The generator and
//! the transforms to uniforms and indices are integer or exact-f32 arithmetic, so the GPU must
//! match them bit for bit. The normals use ln, cos and sin as polynomials written out here and
//! in the shader, so they differ only where a GPU fuses a multiply and an add, and in sqrt.
//!
//! The 64-bit products use u64 here, not the shader's 16-bit halves: two ways to the same
//! number, so the known-answer tests check the shader's arithmetic too.

/// Philox multipliers.
pub const M0: u32 = 0xD251_1F53;
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl increments of the key: the golden ratio and √3 − 1, as 32-bit fractions.
pub const W0: u32 = 0x9E37_79B9;
pub const W1: u32 = 0xBB67_AE85;

/// 2⁻²⁴: the spacing of the 24-bit uniforms; 2⁻²³ that of the 22-bit angle fraction t.
const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
const TWO_POW_M23: f32 = 1.0 / 8_388_608.0;

/// (hi, lo) of the 64-bit product a · b.
pub fn mul_wide(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32-10: ten rounds of
/// c = (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)),
/// the key bumped by (W0, W1) between rounds.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for _ in 0..10 {
        let (hi0, lo0) = mul_wide(M0, c[0]);
        let (hi1, lo1) = mul_wide(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// The words of a fill: element i is word i % 4 of Philox with key (seed_lo, seed_hi) and
/// counter (i / 4, stream, step, 0).
pub fn bits(seed: u64, stream: u32, step: u32, len: usize) -> Vec<u32> {
    let key = [seed as u32, (seed >> 32) as u32];
    (0..len.div_ceil(4))
        .flat_map(|block| philox4x32_10([block as u32, stream, step, 0], key))
        .take(len)
        .collect()
}

/// Uniform in (−1, 1) from the top 24 bits k: (2k + 1 − 2²⁴) / 2²⁴, an odd multiple of 2⁻²⁴.
/// The numerator is an integer below 2²⁴ in magnitude, so it and the product are exact in f32.
pub fn uniform_signed(u: u32) -> f32 {
    (((u >> 7) | 1) as i32 - (1 << 24)) as f32 * TWO_POW_M24
}

/// Uniform in (0, 1]: (k + 1) / 2²⁴, exact; never 0, so ln is finite.
pub fn uniform_positive(u: u32) -> f32 {
    ((u >> 8) + 1) as f32 * TWO_POW_M24
}

/// ln 2 = LN2_HI + LN2_LO; LN2_HI = 0.693359375 has 9 significant bits, so e · LN2_HI is exact.
const LN2_HI: f32 = 355.0 / 512.0;
const LN2_LO: f32 = -2.121_944_4e-4;

/// Cephes logf's P, highest power first.
const LN_P: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461e-1,
    1.167_699_84e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_7e-1,
    2.000_071_4e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];

/// ln x for a normal x > 0 in f32, as the shader computes it (Cephes logf, about 1 ulp):
/// x = m 2^e exactly from its bits with m in [√½, √2), ln m = f − f²/2 + f³ P(f) for f = m − 1,
/// plus e ln 2 in two parts (0.693359375 has few bits, so e times it is exact). WGSL's `log`
/// may be off by 2⁻²¹ near 1 on a conforming GPU; this is the same on all of them.
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) as i32 - 127) as f32;
    let mut m = f32::from_bits((bits & 0x7f_ffff) | 0x3f80_0000);
    if m >= std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1.0;
    }
    let f = m - 1.0;
    let z = f * f;
    // f³ P(f), P by Horner from the highest power: ((c0 f + c1) f + c2) … as in the shader.
    let mut y = LN_P.iter().fold(0.0, |acc, &c| acc * f + c) * f * z;
    y += LN2_LO * e;
    y += -0.5 * z;
    (f + y) + LN2_HI * e
}

/// (cos φ, sin φ) for |φ| ≤ π/4 in f32, as the shader computes them (Cephes cosf, sinf).
pub fn cos_sin(phi: f32) -> (f32, f32) {
    let z = phi * phi;
    let s = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * phi + phi;
    let c = (((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z) + 1.0;
    (c, s)
}

/// Box–Muller in f32: r = √(−2 ln u_a) and θ = (q + t) π/2, the quadrant q from the top two
/// bits of b and t = (2k + 1 − 2²²) / 2²³ ∈ (−½, ½) from the next 22; (r cos θ, r sin θ),
/// with the quadrant applied as quarter turns (c, s) → (−s, c).
pub fn box_muller(a: u32, b: u32) -> (f32, f32) {
    let r = (-2.0 * ln(uniform_positive(a))).sqrt();
    let t = ((((b >> 7) & 0x7f_ffff) | 1) as i32 - (1 << 22)) as f32 * TWO_POW_M23;
    let (mut c, mut s) = cos_sin(t * std::f32::consts::FRAC_PI_2);
    let q = b >> 30;
    if q & 1 != 0 {
        (c, s) = (-s, c);
    }
    if q & 2 != 0 {
        (c, s) = (-c, -s);
    }
    (r * c, r * s)
}

/// Uniform in [0, n): the high word of u · n, i.e. floor(u n / 2³²).
pub fn index(u: u32, n: u32) -> u32 {
    mul_wide(u, n).0
}

/// A uniform fill in (−1, 1).
pub fn uniform(seed: u64, stream: u32, step: u32, len: usize) -> Vec<f32> {
    bits(seed, stream, step, len)
        .into_iter()
        .map(uniform_signed)
        .collect()
}

/// A normal fill, N(0, 1): words (0, 1) and (2, 3) of each block give a cos/sin pair.
pub fn normal(seed: u64, stream: u32, step: u32, len: usize) -> Vec<f32> {
    let mut words = bits(seed, stream, step, len.next_multiple_of(2));
    for pair in words.chunks_exact_mut(2) {
        let (z0, z1) = box_muller(pair[0], pair[1]);
        pair[0] = z0.to_bits();
        pair[1] = z1.to_bits();
    }
    words.truncate(len);
    words.into_iter().map(f32::from_bits).collect()
}

/// A fill of indices in [0, n).
pub fn indices(seed: u64, stream: u32, step: u32, n: u32, len: usize) -> Vec<u32> {
    bits(seed, stream, step, len)
        .into_iter()
        .map(|u| index(u, n))
        .collect()
}

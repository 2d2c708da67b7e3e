//! IEEE 754 half precision (binary16), for checkpoints stored at half their size: a generator
//! exported with `--half`. 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; the largest
//! finite value is 65504 and the step near 1 is 2⁻¹⁰, so a weight keeps about 3 decimal digits.

/// The largest finite half.
pub const MAX: f32 = 65504.0;

/// `v` rounded to the nearest half (ties to even); beyond ±[`MAX`] it becomes ±∞, NaN stays NaN.
pub fn from_f32(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        // ∞, or a quiet NaN that keeps a mantissa bit.
        return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    // The value's exponent with half's bias.
    let e = exponent - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal half (or zero): the mantissa with its implicit 1, shifted right by 1 − e more.
        if e < -10 {
            return sign;
        }
        let m = mantissa | 0x80_0000;
        let shift = (14 - e) as u32;
        return sign | round_shift(m, shift) as u16;
    }
    // A carry out of the mantissa rounds up into the exponent, and from the top one into ∞:
    // both are exactly what adding the bits gives.
    sign | (((e as u32) << 10) + round_shift(mantissa, 13)) as u16
}

/// `m >> shift`, rounded to nearest with ties to even.
fn round_shift(m: u32, shift: u32) -> u32 {
    let kept = m >> shift;
    let rest = m & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// The f32 that half `h` stands for (exactly: every half is an f32).
pub fn to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exponent = ((h >> 10) & 0x1f) as u32;
    let mantissa = (h & 0x3ff) as u32;
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        // Subnormal: mantissa × 2⁻²⁴, a normal f32.
        (0, m) => {
            let v = m as f32 * (2f32).powi(-24);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

//! Upsampling of x [batch, channels, height, width] by a whole factor s, PyTorch's
//! `Upsample(scale_factor=s)`: 'nearest' copies input pixel (oy / s, ox / s); 'bilinear' with
//! align_corners=False weighs, along each axis, the two input pixels around the source position
//! r = max((o + 0.5) / s − 0.5, 0), edges clamped.

use crate::kernels::upsample::{UpsampleMode, UpsampleShape};

/// The input indices output index `o` reads along an axis of `size`, and their weights.
fn taps(mode: UpsampleMode, o: usize, size: usize, scale: usize) -> [(usize, f64); 2] {
    match mode {
        UpsampleMode::Nearest => [(o / scale, 1.0), (o / scale, 0.0)],
        UpsampleMode::Bilinear => {
            let r = ((o as f64 + 0.5) / scale as f64 - 0.5).max(0.0);
            let i0 = (r.floor() as usize).min(size - 1);
            let i1 = (i0 + 1).min(size - 1);
            let lambda = r - i0 as f64;
            [(i0, 1.0 - lambda), (i1, lambda)]
        }
    }
}

/// For every output element, the (input element, weight) pairs it sums, in output order.
fn sources(s: &UpsampleShape, mode: UpsampleMode) -> Vec<(usize, usize, f64)> {
    let (h, w, scale) = (s.height as usize, s.width as usize, s.scale as usize);
    let (oh, ow) = s.out_size();
    let planes = s.batch as usize * s.channels as usize;
    let mut out = Vec::new();
    for o in 0..planes * oh * ow {
        let (plane, oy, ox) = (o / (oh * ow), (o / ow) % oh, o % ow);
        for (y, wy) in taps(mode, oy, h, scale) {
            for (x, wx) in taps(mode, ox, w, scale) {
                out.push((o, (plane * h + y) * w + x, wy * wx));
            }
        }
    }
    out
}

/// Upsample(scale_factor = s, mode)(x).
pub fn forward(s: &UpsampleShape, mode: UpsampleMode, input: &[f64]) -> Vec<f64> {
    let mut output = vec![0.0; s.output_len()];
    for (o, i, weight) in sources(s, mode) {
        output[o] += weight * input[i];
    }
    output
}

/// dinput: each output's gradient added to the inputs it read, by the same weights (the CPU
/// may scatter; the GPU gathers).
pub fn backward(s: &UpsampleShape, mode: UpsampleMode, doutput: &[f64]) -> Vec<f64> {
    let mut dinput = vec![0.0; s.input_len()];
    for (o, i, weight) in sources(s, mode) {
        dinput[i] += weight * doutput[o];
    }
    dinput
}

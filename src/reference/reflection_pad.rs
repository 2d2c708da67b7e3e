//! Reflection padding of x [batch, channels, height, width] by p on every side, PyTorch's
//! `ReflectionPad2d(p)`: the padded pixel (oy, ox) is x at (reflect(oy), reflect(ox)) with
//! reflect(o) = |o − p| mirrored again past the far edge, the edge pixel not repeated.

use crate::kernels::reflection_pad::ReflectionPadShape;

/// The input index that padded index `o` reads along an axis of `size`.
fn reflect(o: usize, padding: usize, size: usize) -> usize {
    let i = o as isize - padding as isize;
    let last = size as isize - 1;
    let folded = if i < 0 {
        -i
    } else if i > last {
        2 * last - i
    } else {
        i
    };
    folded as usize
}

/// For every padded element, the input element it copies, in output order.
fn sources(s: &ReflectionPadShape) -> impl Iterator<Item = (usize, usize)> + '_ {
    let (h, w, p) = (s.height as usize, s.width as usize, s.padding as usize);
    let (oh, ow) = s.out_size();
    let planes = s.batch as usize * s.channels as usize;
    (0..planes * oh * ow).map(move |o| {
        let (plane, oy, ox) = (o / (oh * ow), (o / ow) % oh, o % ow);
        (o, (plane * h + reflect(oy, p, h)) * w + reflect(ox, p, w))
    })
}

/// ReflectionPad2d(p)(x).
pub fn forward(s: &ReflectionPadShape, input: &[f64]) -> Vec<f64> {
    sources(s).map(|(_, i)| input[i]).collect()
}

/// dinput: each padded element's gradient added to the input element it copies (the CPU may
/// scatter; the GPU gathers).
pub fn backward(s: &ReflectionPadShape, doutput: &[f64]) -> Vec<f64> {
    let mut dinput = vec![0.0; s.input_len()];
    for (o, i) in sources(s) {
        dinput[i] += doutput[o];
    }
    dinput
}

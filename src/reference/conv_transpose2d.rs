//! Transposed conv2d, NCHW, weight [in, out, kh, kw], written as its definition: every input
//! pixel scatters weight-scaled copies into the output at y·s − p + ky. (The GPU gathers
//! instead; this independent form is what it is checked against.)

use crate::kernels::conv_transpose2d::ConvTranspose2dShape;

/// Calls `f(output index, input index, weight index)` for every multiply-add.
fn for_each_tap(s: &ConvTranspose2dShape, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = s.output().expect("reference called with a valid shape");
    let (n, ci, co) = (
        s.batch as usize,
        s.in_channels as usize,
        s.out_channels as usize,
    );
    let (h, w, kh, kw) = (
        s.height as usize,
        s.width as usize,
        s.kernel_h as usize,
        s.kernel_w as usize,
    );
    let (st, p) = (s.stride as i64, s.padding as i64);
    for b in 0..n {
        for i in 0..ci {
            for y in 0..h {
                for x in 0..w {
                    let inp = ((b * ci + i) * h + y) * w + x;
                    for o in 0..co {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let oy = y as i64 * st - p + ky as i64;
                                let ox = x as i64 * st - p + kx as i64;
                                if oy < 0 || ox < 0 || oy >= oh as i64 || ox >= ow as i64 {
                                    continue;
                                }
                                let out = ((b * co + o) * oh as usize + oy as usize) * ow as usize
                                    + ox as usize;
                                let wt = ((i * co + o) * kh + ky) * kw + kx;
                                f(out, inp, wt);
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn forward(
    s: &ConvTranspose2dShape,
    input: &[f64],
    weight: &[f64],
    bias: Option<&[f64]>,
) -> Vec<f64> {
    let (oh, ow) = s.output().expect("valid shape");
    let pixels = (oh * ow) as usize;
    let co = s.out_channels as usize;
    let len = s.output_len().expect("valid shape");
    let mut output: Vec<f64> = (0..len)
        .map(|j| bias.map_or(0.0, |b| b[(j / pixels) % co]))
        .collect();
    for_each_tap(s, |o, i, w| output[o] += weight[w] * input[i]);
    output
}

/// (dinput, dweight, dbias)
pub fn backward(
    s: &ConvTranspose2dShape,
    input: &[f64],
    weight: &[f64],
    doutput: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dinput = vec![0.0; input.len()];
    let mut dweight = vec![0.0; weight.len()];
    for_each_tap(s, |o, i, w| {
        dinput[i] += weight[w] * doutput[o];
        dweight[w] += input[i] * doutput[o];
    });
    let (oh, ow) = s.output().expect("valid shape");
    let dbias = super::tensor::channel_sum(
        doutput,
        s.batch as usize,
        s.out_channels as usize,
        (oh * ow) as usize,
    );
    (dinput, dweight, dbias)
}

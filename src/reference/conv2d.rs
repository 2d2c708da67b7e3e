//! conv2d, NCHW, weight [out, in, kh, kw]:
//! output[b, o, y, x] = bias[o] + Σ_{i, ky, kx} weight[o, i, ky, kx] · input[b, i, y·s − pt + ky, x·s − pl + kx]
//! with zeros outside the input (the padding).

use crate::kernels::conv2d::Conv2dShape;

/// Calls `f(output index, input index, weight index)` for every multiply-add of the convolution.
fn for_each_tap(s: &Conv2dShape, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow, pt, pl) = s.output().expect("reference called with a valid shape");
    let (n, ci, co) = (
        s.batch as usize,
        s.in_channels as usize,
        s.out_channels as usize,
    );
    let (h, w, kh, kw, st) = (
        s.height as i64,
        s.width as i64,
        s.kernel_h as usize,
        s.kernel_w as usize,
        s.stride as i64,
    );
    let (oh, ow) = (oh as usize, ow as usize);
    for b in 0..n {
        for o in 0..co {
            for y in 0..oh {
                for x in 0..ow {
                    let out = ((b * co + o) * oh + y) * ow + x;
                    for i in 0..ci {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = y as i64 * st - pt as i64 + ky as i64;
                                let ix = x as i64 * st - pl as i64 + kx as i64;
                                if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                    continue;
                                }
                                let inp = ((b * ci + i) * h as usize + iy as usize) * w as usize
                                    + ix as usize;
                                let wt = ((o * ci + i) * kh + ky) * kw + kx;
                                f(out, inp, wt);
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn forward(s: &Conv2dShape, input: &[f64], weight: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let len = s.output_len().expect("valid shape");
    let (oh, ow, _, _) = s.output().expect("valid shape");
    let pixels = (oh * ow) as usize;
    let co = s.out_channels as usize;
    let mut output: Vec<f64> = (0..len)
        .map(|j| bias.map_or(0.0, |b| b[(j / pixels) % co]))
        .collect();
    for_each_tap(s, |o, i, w| output[o] += weight[w] * input[i]);
    output
}

/// (dinput, dweight, dbias)
pub fn backward(
    s: &Conv2dShape,
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
    let (oh, ow, _, _) = s.output().expect("valid shape");
    let dbias = super::tensor::channel_sum(
        doutput,
        s.batch as usize,
        s.out_channels as usize,
        (oh * ow) as usize,
    );
    (dinput, dweight, dbias)
}

//! Pixel shuffle, PyTorch's `PixelShuffle(r)`: x [batch, C·r², height, width] becomes
//! y [batch, C, r·height, r·width] with y[n, c, r·h + i, r·w + j] = x[n, c·r² + i·r + j, h, w].

use crate::kernels::pixel_shuffle::PixelShuffleShape;

/// For every output element in order, the input element it copies, written as PyTorch's
/// reshape [n, C, r, r, h, w] → permute (0, 1, 4, 2, 5, 3) → [n, C, h·r, w·r].
fn sources(s: &PixelShuffleShape) -> Vec<usize> {
    let (batch, c, r) = (
        s.batch as usize,
        s.out_channels() as usize,
        s.factor as usize,
    );
    let (h, w) = (s.height as usize, s.width as usize);
    let mut out = Vec::with_capacity(s.tensor_len());
    for n in 0..batch {
        for ch in 0..c {
            for y in 0..h {
                for i in 0..r {
                    for x in 0..w {
                        for j in 0..r {
                            let channel = n * c * r * r + ch * r * r + i * r + j;
                            out.push((channel * h + y) * w + x);
                        }
                    }
                }
            }
        }
    }
    out
}

/// PixelShuffle(r)(x).
pub fn forward(s: &PixelShuffleShape, input: &[f64]) -> Vec<f64> {
    sources(s).into_iter().map(|i| input[i]).collect()
}

/// dinput: each output's gradient back at the input element it came from.
pub fn backward(s: &PixelShuffleShape, doutput: &[f64]) -> Vec<f64> {
    let mut dinput = vec![0.0; s.tensor_len()];
    for (o, i) in sources(s).into_iter().enumerate() {
        dinput[i] += doutput[o];
    }
    dinput
}

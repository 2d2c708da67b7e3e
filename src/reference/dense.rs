//! dense: output[b, o] = Σ_i input[b, i] · weight[o, i] + bias[o]

use crate::kernels::dense::DenseShape;

pub fn forward(s: &DenseShape, input: &[f64], weight: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let (n, fin, fout) = (
        s.batch as usize,
        s.in_features as usize,
        s.out_features as usize,
    );
    let mut output = vec![0.0; n * fout];
    for b in 0..n {
        for o in 0..fout {
            let mut v = bias.map_or(0.0, |bias| bias[o]);
            for i in 0..fin {
                v += input[b * fin + i] * weight[o * fin + i];
            }
            output[b * fout + o] = v;
        }
    }
    output
}

/// (dinput, dweight, dbias)
pub fn backward(
    s: &DenseShape,
    input: &[f64],
    weight: &[f64],
    doutput: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, fin, fout) = (
        s.batch as usize,
        s.in_features as usize,
        s.out_features as usize,
    );
    let mut dinput = vec![0.0; n * fin];
    let mut dweight = vec![0.0; fout * fin];
    let mut dbias = vec![0.0; fout];
    for b in 0..n {
        for o in 0..fout {
            let d = doutput[b * fout + o];
            dbias[o] += d;
            for i in 0..fin {
                dinput[b * fin + i] += d * weight[o * fin + i];
                dweight[o * fin + i] += d * input[b * fin + i];
            }
        }
    }
    (dinput, dweight, dbias)
}

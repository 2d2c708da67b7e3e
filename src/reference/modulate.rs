//! Per-sample channel vectors on the CPU, in f64: the class embedding, the modulation and the
//! projection of `shaders/modulate.wgsl`.

use crate::kernels::modulate::ModulateShape;

fn sizes(s: &ModulateShape) -> (usize, usize, usize, usize) {
    (
        s.batch as usize,
        s.channels as usize,
        s.pixels as usize,
        s.width as usize,
    )
}

/// The mean over pixels of each of x's maps: [batch, channels].
pub fn pool(s: &ModulateShape, x: &[f64]) -> Vec<f64> {
    let (_, _, p, _) = sizes(s);
    x.chunks(p)
        .map(|m| m.iter().sum::<f64>() / p as f64)
        .collect()
}

/// y [batch, width] = pool(x) · W, W [channels, width] (nn.Embedding's weight, rows by class).
pub fn embed_forward(s: &ModulateShape, x: &[f64], w: &[f64]) -> Vec<f64> {
    let (n, k, _, m) = sizes(s);
    let pooled = pool(s, x);
    let mut y = vec![0.0; n * m];
    for row in 0..n {
        for class in 0..k {
            let weight = pooled[row * k + class];
            for j in 0..m {
                y[row * m + j] += weight * w[class * m + j];
            }
        }
    }
    y
}

/// (dx, dW) of [`embed_forward`].
pub fn embed_backward(s: &ModulateShape, x: &[f64], w: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (n, k, p, m) = sizes(s);
    let pooled = pool(s, x);
    let mut dw = vec![0.0; k * m];
    let mut dx = vec![0.0; n * k * p];
    for row in 0..n {
        for class in 0..k {
            let mut back = 0.0;
            for j in 0..m {
                dw[class * m + j] += pooled[row * k + class] * dy[row * m + j];
                back += w[class * m + j] * dy[row * m + j];
            }
            dx[(row * k + class) * p..][..p].fill(back / p as f64);
        }
    }
    (dx, dw)
}

/// y = γ·x + β per sample and channel, with scale = [γ; β] per sample ([batch, 2·channels]).
pub fn modulate_forward(s: &ModulateShape, x: &[f64], scale: &[f64]) -> Vec<f64> {
    let (_, c, p, _) = sizes(s);
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let (row, ch) = (i / (c * p), (i / p) % c);
            scale[row * 2 * c + ch] * v + scale[row * 2 * c + c + ch]
        })
        .collect()
}

/// (dx, dscale) of [`modulate_forward`].
pub fn modulate_backward(
    s: &ModulateShape,
    x: &[f64],
    scale: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (n, c, p, _) = sizes(s);
    let mut dx = vec![0.0; x.len()];
    let mut dscale = vec![0.0; n * 2 * c];
    for (i, (&v, &d)) in x.iter().zip(dy).enumerate() {
        let (row, ch) = (i / (c * p), (i / p) % c);
        dx[i] = scale[row * 2 * c + ch] * d;
        dscale[row * 2 * c + ch] += d * v;
        dscale[row * 2 * c + c + ch] += d;
    }
    (dx, dscale)
}

/// y [batch] = Σ_c e[n, c] Σ_px h[n, c, px].
pub fn project_forward(s: &ModulateShape, h: &[f64], e: &[f64]) -> Vec<f64> {
    let (n, c, p, _) = sizes(s);
    (0..n)
        .map(|row| {
            (0..c)
                .map(|ch| e[row * c + ch] * h[(row * c + ch) * p..][..p].iter().sum::<f64>())
                .sum()
        })
        .collect()
}

/// (dh, de) of [`project_forward`].
pub fn project_backward(
    s: &ModulateShape,
    h: &[f64],
    e: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (n, c, p, _) = sizes(s);
    let mut dh = vec![0.0; h.len()];
    let mut de = vec![0.0; n * c];
    for (row, &d) in dy.iter().enumerate().take(n) {
        for ch in 0..c {
            let i = row * c + ch;
            dh[i * p..][..p].fill(d * e[i]);
            de[i] = d * h[i * p..][..p].iter().sum::<f64>();
        }
    }
    (dh, de)
}

//! Softmax cross-entropy over a batch of class logits, forward directly above backward. f64,
//! with the row max subtracted as in `softmax.wgsl`.

/// p = softmax(x) of one row: e^(x_c − m) / Σ_k e^(x_k − m), m = max_k x_k.
pub fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
    let total: f64 = e.iter().sum();
    e.into_iter().map(|v| v / total).collect()
}

/// The first index of the row's max (argmax's tie rule).
pub fn argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (c, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = c;
        }
    }
    best
}

/// (mean loss, correct count) for logits (batch, classes) and labels (batch):
/// (1/batch) Σ_r −log p[r, y_r] with −log p_y = log Σ_k e^(x_k − m) − (x_y − m), and
/// #{r : argmax x_r = y_r}.
///
/// # Panics
/// If a label is ≥ `classes` or the shapes disagree: the specification has no clamping.
pub fn cross_entropy(logits: &[f64], labels: &[u32], classes: usize) -> (f64, u32) {
    assert_eq!(
        logits.len(),
        labels.len() * classes,
        "logits (batch, classes)"
    );
    let mut loss = 0.0;
    let mut correct = 0;
    for (x, &y) in logits.chunks(classes).zip(labels) {
        let y = y as usize;
        assert!(y < classes, "label {y} ≥ classes {classes}");
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = x.iter().map(|&v| (v - m).exp()).sum();
        loss += total.ln() - (x[y] - m);
        correct += (argmax(x) == y) as u32;
    }
    (loss / labels.len() as f64, correct)
}

/// dlogits[r, c] = d(mean loss)/dx[r, c] = (p[r, c] − [c = y_r]) / batch.
pub fn cross_entropy_backward(logits: &[f64], labels: &[u32], classes: usize) -> Vec<f64> {
    assert_eq!(
        logits.len(),
        labels.len() * classes,
        "logits (batch, classes)"
    );
    let batch = labels.len() as f64;
    let mut dlogits = Vec::with_capacity(logits.len());
    for (x, &y) in logits.chunks(classes).zip(labels) {
        let p = softmax(x);
        dlogits.extend(
            p.iter()
                .enumerate()
                .map(|(c, &pc)| (pc - (c == y as usize) as u32 as f64) / batch),
        );
    }
    dlogits
}

use crate::common;

use common::{assert_close, assert_gradient, download, gpu, numeric_gradient, upload, Rng};
use webgan::kernels::loss::LossOptions;
use webgan::kernels::softmax::cross_entropy;
use webgan::reference::softmax as reference;
use webgan::Error;

/// (batch, classes): one logit, one pair, odd sizes, more rows than threads, ImageNet's 1000.
const SHAPES: [(usize, usize); 5] = [(1, 1), (1, 2), (7, 10), (300, 3), (5, 1000)];

// The mean loss: per row log Σ e^(x − m) + (m − x_y) is up to ~100 at logits of ±50, where f32
// rounds at 2^-17 ≈ 8e-6 absolute; WGSL's exp is good to 3 + 2|x| ulp (~1.2e-5 relative at
// |x| = 100) and its log to 2^-21 absolute near 1. The mean of such rows keeps that relative size.
const LOSS_ATOL: f64 = 1e-5;
const LOSS_RTOL: f64 = 2e-5;
// dlogits: p_c carries the exp/sum error above relatively (≤ ~3e-5 by the WGSL bounds,
// ~1e-7 in practice) and p_y − 1 loses it absolutely when p_y ≈ 1. GRAD_ATOL is in units of
// the gradient's own size |scale|/batch, so it tightens as the batch grows.
const GRAD_ATOL: f64 = 3e-6;
const GRAD_RTOL: f64 = 3e-5;

/// Logits (batch, classes), f32-rounded: each row spread over ±0.5, ±5 or ±50, so that softmax
/// is near uniform, moderate or near one-hot. Every third row's max is copied to its last class,
/// a tie that argmax must give to the first.
fn logits(rng: &mut Rng, batch: usize, classes: usize) -> Vec<f64> {
    let mut x = Vec::with_capacity(batch * classes);
    for r in 0..batch {
        let spread = [0.5, 5.0, 50.0][rng.below(3) as usize];
        let row: Vec<f64> = (0..classes)
            .map(|_| rng.uniform(-spread, spread) as f32 as f64)
            .collect();
        let m = row[reference::argmax(&row)];
        x.extend(row);
        if r % 3 == 2 {
            x[r * classes + classes - 1] = m;
        }
    }
    x
}

/// Labels: half the rows get their argmax (so the count is neither 0 nor batch), the rest a
/// random class, which includes the tied last class.
fn labels(rng: &mut Rng, x: &[f64], classes: usize) -> Vec<u32> {
    x.chunks(classes)
        .map(|row| match rng.below(2) {
            0 => reference::argmax(row) as u32,
            _ => rng.below(classes as u64) as u32,
        })
        .collect()
}

#[test]
fn reference_gradients_match_central_differences() {
    let mut rng = Rng::new(1);
    for (batch, classes) in [(1, 1), (1, 2), (3, 5), (4, 17)] {
        let x: Vec<f64> = (0..batch * classes)
            .map(|_| rng.uniform(-3.0, 3.0))
            .collect();
        let y = labels(&mut rng, &x, classes);
        let analytic = reference::cross_entropy_backward(&x, &y, classes);
        let numeric = numeric_gradient(&x, |x| reference::cross_entropy(x, &y, classes).0);
        assert_gradient(&format!("{batch}×{classes}"), &analytic, &numeric);
    }
}

#[test]
fn reference_is_stable_and_exact_far_out() {
    // Naive e^1000 is inf; with the max subtracted, −log p = 0 or 2000 to f64 precision.
    let x = [1000.0, -1000.0, -1000.0, 1000.0];
    let (loss, correct) = reference::cross_entropy(&x, &[0, 0], 2);
    assert_close("loss", &[loss], &[1000.0], 1e-9, 1e-12);
    assert_eq!(correct, 1);
    let d = reference::cross_entropy_backward(&x, &[0, 0], 2);
    assert_close("dlogits", &d, &[0.0, 0.0, -0.5, 0.5], 1e-12, 0.0);
    // Equal logits: p = 1/3, −log p = log 3, argmax the first class.
    let (loss, correct) = reference::cross_entropy(&[2.0; 3], &[1], 3);
    assert_close("uniform", &[loss], &[3f64.ln()], 1e-12, 1e-12);
    assert_eq!(correct, 0, "ties go to class 0, not the label 1");
}

/// Runs the kernel into stats[1..3] of five, checking the other slots stay untouched.
/// Returns (mean loss, correct count, dlogits).
fn run_gpu(x: &[f64], y: &[u32], classes: usize, options: LossOptions) -> (f64, f64, Vec<f64>) {
    let batch = y.len();
    let stats = upload(&[-7.0; 5]);
    let dlogits = upload(&vec![0.25; x.len()]);
    let logits = upload(x);
    let labels = gpu().storage_from("labels", y);
    let d = cross_entropy(
        gpu(),
        &logits,
        &labels,
        batch as u32,
        classes as u32,
        &dlogits,
        &stats,
        1,
        options,
    )
    .expect("valid shapes");
    gpu().run(&[&d]);
    let s = download(&stats, 5);
    assert_eq!([s[0], s[3], s[4]], [-7.0; 3], "other slots written");
    (s[1], s[2], download(&dlogits, x.len()))
}

#[test]
fn gpu_matches_reference() {
    let mut rng = Rng::new(2);
    for (batch, classes) in SHAPES {
        let x = logits(&mut rng, batch, classes);
        let y = labels(&mut rng, &x, classes);
        let what = format!("{batch}×{classes}");
        let (loss, correct, dlogits) = run_gpu(&x, &y, classes, LossOptions::default());
        let (want_loss, want_correct) = reference::cross_entropy(&x, &y, classes);
        assert_close(&what, &[loss], &[want_loss], LOSS_ATOL, LOSS_RTOL);
        assert_eq!(correct, want_correct as f64, "{what}: correct count");
        let want = reference::cross_entropy_backward(&x, &y, classes);
        assert_close(&what, &dlogits, &want, GRAD_ATOL / batch as f64, GRAD_RTOL);
    }
}

/// Overwrite then add, in one submission, into stats and dlogits that already hold values;
/// both with a scale, one negative.
#[test]
fn accumulate_and_scale() {
    let mut rng = Rng::new(3);
    for (batch, classes) in SHAPES {
        let (a, b) = (
            logits(&mut rng, batch, classes),
            logits(&mut rng, batch, classes),
        );
        let (ya, yb) = (labels(&mut rng, &a, classes), labels(&mut rng, &b, classes));
        let before = rng.vec(a.len());
        let stats = upload(&[123.0, 456.0]);
        let dlogits = upload(&before);
        let (a_b, b_b) = (upload(&a), upload(&b));
        let g = gpu();
        let (ya_b, yb_b) = (g.storage_from("ya", &ya), g.storage_from("yb", &yb));
        let overwrite = LossOptions {
            scale: 0.5,
            accumulate_loss: false,
            accumulate_grad: true,
        };
        let add = LossOptions {
            scale: -2.0,
            accumulate_loss: true,
            accumulate_grad: true,
        };
        let (n, c) = (batch as u32, classes as u32);
        let first = cross_entropy(g, &a_b, &ya_b, n, c, &dlogits, &stats, 0, overwrite);
        let second = cross_entropy(g, &b_b, &yb_b, n, c, &dlogits, &stats, 0, add);
        g.run(&[&first.expect("valid"), &second.expect("valid")]);

        let what = format!("{batch}×{classes}");
        let (la, ca) = reference::cross_entropy(&a, &ya, classes);
        let (lb, cb) = reference::cross_entropy(&b, &yb, classes);
        let s = download(&stats, 2);
        assert_close(&what, &[s[0]], &[la + lb], LOSS_ATOL, LOSS_RTOL);
        assert_eq!(s[1], (ca + cb) as f64, "{what}: correct count");
        let (ga, gb) = (
            reference::cross_entropy_backward(&a, &ya, classes),
            reference::cross_entropy_backward(&b, &yb, classes),
        );
        let want: Vec<f64> = (0..a.len())
            .map(|i| before[i] + 0.5 * ga[i] - 2.0 * gb[i])
            .collect();
        // |0.5| + |−2| gradient units, plus the f32 rounding (6e-8) of sums of size ≤ 1.
        let atol = 2.5 * GRAD_ATOL / batch as f64 + 1e-7;
        assert_close(&what, &download(&dlogits, a.len()), &want, atol, GRAD_RTOL);
    }
}

/// Labels are GPU data, so the shader clamps y ≥ classes to classes − 1 instead of reading
/// past the row.
#[test]
fn out_of_range_label_is_clamped() {
    let mut rng = Rng::new(4);
    let (batch, classes) = (7, 10);
    let x = logits(&mut rng, batch, classes);
    let y: Vec<u32> = (0..batch as u32)
        .map(|r| [10, 11, u32::MAX][r as usize % 3])
        .collect();
    let (loss, correct, dlogits) = run_gpu(&x, &y, classes, LossOptions::default());
    let clamped = vec![classes as u32 - 1; batch];
    let (want_loss, want_correct) = reference::cross_entropy(&x, &clamped, classes);
    assert_close("loss", &[loss], &[want_loss], LOSS_ATOL, LOSS_RTOL);
    assert_eq!(correct, want_correct as f64, "correct count");
    let want = reference::cross_entropy_backward(&x, &clamped, classes);
    let atol = GRAD_ATOL / batch as f64;
    assert_close("dlogits", &dlogits, &want, atol, GRAD_RTOL);
}

#[test]
fn refuses_bad_arguments() {
    let g = gpu();
    let (x, dx, stats) = (upload(&[0.0; 12]), upload(&[0.0; 12]), upload(&[0.0; 3]));
    let y = g.storage_from("labels", &[0u32; 4]);
    let o = LossOptions::default();
    // (batch, classes, slot): empty batch, no classes, logits too short (4×4 > 12), labels too
    // short (6 > 4), stats too short for slot + 1.
    for (batch, classes, slot) in [(0, 3, 0), (4, 0, 0), (4, 4, 0), (6, 2, 0), (4, 3, 2)] {
        let r = cross_entropy(g, &x, &y, batch, classes, &dx, &stats, slot, o);
        assert!(
            matches!(r, Err(Error::Shape { .. })),
            "batch={batch} classes={classes} slot={slot}"
        );
    }
    let short = upload(&[0.0; 11]);
    let r = cross_entropy(g, &x, &y, 4, 3, &short, &stats, 0, o);
    assert!(matches!(r, Err(Error::Shape { .. })), "dlogits too short");
    let nan = LossOptions {
        scale: f32::NAN,
        ..o
    };
    let r = cross_entropy(g, &x, &y, 4, 3, &dx, &stats, 0, nan);
    assert!(matches!(r, Err(Error::Invalid(_))), "NaN scale");
    assert!(
        cross_entropy(g, &x, &y, 4, 3, &dx, &stats, 1, o).is_ok(),
        "the largest valid slot"
    );
}

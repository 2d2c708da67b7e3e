use crate::common;

use common::{assert_close, assert_gradient, download, gpu, numeric_gradient, upload, Rng};
use webgan::kernels::info_loss::{info_loss, InfoShape};
use webgan::reference::info_loss as reference;

/// Q's output, the labels and the continuous codes of a batch with these codes.
fn case(rng: &mut Rng, s: InfoShape) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
    let n = s.batch as usize;
    // Logits up to ±20 (a confident Q) and means around the codes.
    let q = (0..n * s.row())
        .map(|i| rng.uniform(-3.0, 3.0) * if i % 7 == 3 { 7.0 } else { 1.0 })
        .map(|v| v as f32 as f64)
        .collect();
    let labels = (0..n)
        .map(|_| rng.below(s.categorical.max(1) as u64) as u32)
        .collect();
    let codes = (0..n * s.continuous as usize)
        .map(|_| rng.uniform(-1.0, 1.0) as f32 as f64)
        .collect();
    (q, labels, codes)
}

fn run_gpu(
    s: InfoShape,
    weight: f32,
    q: &[f64],
    labels: &[u32],
    codes: &[f64],
) -> (f64, f64, Vec<f64>) {
    let g = gpu();
    let stats = upload(&[-7.0; 5]);
    let dq = upload(&vec![0.25; q.len()]);
    let labels_b = g.storage_from(
        "labels",
        &if labels.is_empty() {
            vec![0u32]
        } else {
            labels.to_vec()
        },
    );
    let codes_b = upload(if codes.is_empty() { &[0.0] } else { codes });
    let q_b = upload(q);
    let d = info_loss(g, s, weight, &q_b, &labels_b, &codes_b, &dq, &stats, (3, 1))
        .expect("valid shapes");
    g.run(&[&d]);
    let st = download(&stats, 5);
    assert_eq!([st[0], st[2], st[4]], [-7.0; 3], "other slots written");
    (st[3], st[1], download(&dq, q.len()))
}

#[test]
fn gpu_matches_reference_and_central_differences() {
    let mut rng = Rng::new(11);
    for (batch, categorical, continuous) in [
        (1, 10, 2),
        (7, 3, 0),
        (64, 0, 5),
        (300, 10, 2),
        (5, 100, 16),
    ] {
        let s = InfoShape {
            batch,
            categorical,
            continuous,
        };
        let (q, labels, codes) = case(&mut rng, s);
        let weight = 0.7;
        let (cat, cont, dq) = run_gpu(s, weight, &q, &labels, &codes);
        let (want_cat, want_cont) = reference::info_loss(&s, &q, &labels, &codes);
        let what = format!("{s:?}");
        assert_close(
            &format!("{what} categorical"),
            &[cat],
            &[want_cat],
            2e-6,
            1e-5,
        );
        assert_close(
            &format!("{what} continuous"),
            &[cont],
            &[want_cont],
            2e-6,
            1e-5,
        );
        let want_dq = reference::info_loss_backward(&s, weight as f64, &q, &labels, &codes);
        assert_close(&format!("{what} dq"), &dq, &want_dq, 2e-7, 1e-5);
        if batch <= 7 {
            let numeric = numeric_gradient(&q, |q| {
                let (a, b) = reference::info_loss(&s, q, &labels, &codes);
                weight as f64 * (a + b)
            });
            assert_gradient(&what, &want_dq, &numeric);
        }
    }
}

#[test]
fn a_confident_right_q_costs_nothing_and_chance_costs_ln_k() {
    let s = InfoShape {
        batch: 2,
        categorical: 4,
        continuous: 1,
    };
    // Sample 0 sure of its label 2 and its code; sample 1 unsure between all four.
    let q = [-40.0, -40.0, 40.0, -40.0, 0.5, 0.0, 0.0, 0.0, 0.0, -0.5];
    let (cat, cont, _) = run_gpu(s, 1.0, &q, &[2, 1], &[0.5, 0.5]);
    assert!((cat - (4f64).ln() / 2.0).abs() < 1e-6, "{cat}");
    assert!((cont - 0.25).abs() < 1e-6, "{cont}");
}

#[test]
fn bad_shapes_are_refused() {
    let g = gpu();
    let (b, stats) = (upload(&[0.0; 8]), upload(&[0.0; 4]));
    let refused = |categorical, continuous| {
        let s = InfoShape {
            batch: 2,
            categorical,
            continuous,
        };
        let dq = upload(&[0.0; 8]);
        info_loss(g, s, 1.0, &b, &b, &b, &dq, &stats, (0, 1)).is_err()
    };
    // A code of one value, and Q's output longer than the buffers.
    assert!(refused(1, 0));
    assert!(refused(10, 2));
    // What fits is taken.
    assert!(!refused(2, 2));
}

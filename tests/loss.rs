use crate::common;

use common::{assert_close, assert_gradient, download, gpu, numeric_gradient, upload, Rng};
use webgan::kernels::loss::{loss, Loss, LossOptions};
use webgan::reference::loss as reference;
use webgan::Error;

/// Every kind, and both signs of the signed ones.
const KINDS: [Loss; 8] = [
    Loss::Bce,
    Loss::Minimax,
    Loss::NonSaturating,
    Loss::Linear { sign: -1.0 },
    Loss::Linear { sign: 1.0 },
    Loss::Hinge { sign: -1.0 },
    Loss::Hinge { sign: 1.0 },
    Loss::LeastSquares,
];

// The mean loss: WGSL's log is only accurate to 2^-21 absolute near 1 (so ~5e-7 per sample)
// and the f32 sums round at 2^-24 relative per addition, a few times over 300 samples.
const LOSS_ATOL: f64 = 2e-6;
const LOSS_RTOL: f64 = 1e-5;
// d(mean)/dx ≤ 1/n: sigmoid is σ or 1 − σ rounded in f32 (~1e-7 absolute before the 1/n),
// and WGSL's exp may be off by 3 + 2|x| ulp, ~1e-5 relative at |x| = 30.
const GRAD_ATOL: f64 = 2e-7;
const GRAD_RTOL: f64 = 1e-5;

/// `n` logits in [−4, 4] (sigmoid saturates by then), rounded to f32, with ±30 mixed in.
fn logits(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| match i % 17 {
            5 => 30.0,
            11 => -30.0,
            _ => rng.uniform(-4.0, 4.0) as f32 as f64,
        })
        .collect()
}

/// Real (1), fake (0) and one-sided smoothed real (0.9, rounded to f32 as on the GPU).
fn targets(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| [1.0, 0.0, 0.9f32 as f64][rng.below(3) as usize])
        .collect()
}

/// Hinge's kink at 1 + sign·x = 0 has no derivative; keep the samples away from it.
fn off_kink(x: Vec<f64>) -> Vec<f64> {
    x.into_iter()
        .map(|v| {
            if (v.abs() - 1.0).abs() < 1e-3 {
                v * 1.1
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn shader_validates() {
    let module = naga::front::wgsl::parse_str(webgan::kernels::loss::SHADER.source)
        .expect("loss.wgsl parses");
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .expect("loss.wgsl validates");
}

#[test]
fn reference_gradients_match_central_differences() {
    let mut rng = Rng::new(1);
    for kind in KINDS {
        let mut x = off_kink(logits(&mut rng, 40));
        x.extend([30.0, -30.0, 12.5, -12.5]);
        let t = targets(&mut rng, x.len());
        let analytic = reference::mean_loss_backward(kind, &x, &t);
        let numeric = numeric_gradient(&x, |x| reference::mean_loss(kind, x, &t));
        assert_gradient(&format!("{kind:?}"), &analytic, &numeric);
    }
}

#[test]
fn reference_is_finite_and_exact_far_out() {
    for x in [-100.0, -30.0, 30.0, 100.0] {
        // Far from 0, softplus(x) is max(x, 0) and σ(x) is 0 or 1 to f64 precision.
        let relu = f64::max(x, 0.0);
        let s = if x > 0.0 { 1.0 } else { 0.0 };
        assert_close(
            "bce",
            &[reference::bce(x, 0.9)],
            &[relu - 0.9 * x],
            1e-12,
            1e-12,
        );
        assert_close(
            "bce'",
            &[reference::bce_backward(x, 0.9)],
            &[s - 0.9],
            1e-12,
            0.0,
        );
        assert_close("minimax", &[reference::minimax(x)], &[-relu], 1e-12, 1e-12);
        let ns = reference::non_saturating(x);
        assert_close("non-saturating", &[ns], &[relu - x], 1e-12, 1e-12);
        let grads = [
            reference::minimax_backward(x),
            reference::non_saturating_backward(x),
        ];
        assert_close("grads", &grads, &[-s, s - 1.0], 1e-12, 0.0);
    }
}

/// Runs `kind` on the GPU into stats[2] of four, checking the other slots stay untouched.
fn run_gpu(kind: Loss, x: &[f64], t: &[f64], options: LossOptions) -> (f64, Vec<f64>) {
    let n = x.len();
    let stats = upload(&[-7.0; 4]);
    let dlogits = upload(&vec![0.25; n]);
    let (logits, targets) = (upload(x), upload(t));
    let targets = kind.takes_targets().then_some(&targets);
    let d = loss(
        gpu(),
        kind,
        &logits,
        targets,
        n,
        &dlogits,
        &stats,
        2,
        options,
    )
    .expect("valid loss");
    gpu().run(&[&d]);
    let s = download(&stats, 4);
    assert_eq!(
        [s[0], s[1], s[3]],
        [-7.0; 3],
        "{kind:?}: other slots written"
    );
    (s[2], download(&dlogits, n))
}

#[test]
fn gpu_matches_reference() {
    let mut rng = Rng::new(2);
    for n in [1, 7, 64, 300] {
        for kind in KINDS {
            let x = logits(&mut rng, n);
            let t = targets(&mut rng, n);
            let what = format!("{kind:?} n={n}");
            let (mean, dlogits) = run_gpu(kind, &x, &t, LossOptions::default());
            let want = reference::mean_loss(kind, &x, &t);
            assert_close(&what, &[mean], &[want], LOSS_ATOL, LOSS_RTOL);
            let want = reference::mean_loss_backward(kind, &x, &t);
            assert_close(&what, &dlogits, &want, GRAD_ATOL, GRAD_RTOL);
        }
    }
}

#[test]
fn gpu_is_finite_at_huge_logits() {
    let x = [100.0, -100.0, 30.0, -30.0, 0.0, 88.0, -88.0];
    let t = [1.0, 0.0, 0.9f32 as f64, 0.0, 1.0, 0.0, 1.0];
    for kind in KINDS {
        let (mean, dlogits) = run_gpu(kind, &x, &t, LossOptions::default());
        assert!(mean.is_finite(), "{kind:?}: loss {mean}");
        assert!(
            dlogits.iter().all(|g| g.is_finite()),
            "{kind:?}: {dlogits:?}"
        );
        let want = reference::mean_loss(kind, &x, &t);
        assert_close(&format!("{kind:?}"), &[mean], &[want], LOSS_ATOL, LOSS_RTOL);
        let want = reference::mean_loss_backward(kind, &x, &t);
        assert_close(&format!("{kind:?}"), &dlogits, &want, GRAD_ATOL, GRAD_RTOL);
    }
}

/// D's step: the real half (smoothed targets 0.9) overwrites the slot, the fake half adds to
/// it, both in one submission; the gradients add, scaled, into buffers already holding some.
#[test]
fn accumulate_and_scale() {
    let mut rng = Rng::new(3);
    for n in [1, 7, 300] {
        let (real, fake) = (logits(&mut rng, n), logits(&mut rng, n));
        let (smooth, zeros) = (vec![0.9f32 as f64; n], vec![0.0; n]);
        let before = rng.vec(n);
        let stats = upload(&[123.0, 0.0]);
        let (dreal, dfake) = (upload(&before), upload(&before));
        let (real_b, fake_b) = (upload(&real), upload(&fake));
        let (smooth_b, zeros_b) = (upload(&smooth), upload(&zeros));
        let overwrite = LossOptions {
            scale: 0.5,
            accumulate_grad: true,
            ..Default::default()
        };
        let add = LossOptions {
            accumulate_loss: true,
            ..overwrite
        };
        let g = gpu();
        let d_real = loss(
            g,
            Loss::Bce,
            &real_b,
            Some(&smooth_b),
            n,
            &dreal,
            &stats,
            0,
            overwrite,
        );
        let d_fake = loss(
            g,
            Loss::Bce,
            &fake_b,
            Some(&zeros_b),
            n,
            &dfake,
            &stats,
            0,
            add,
        );
        g.run(&[&d_real.expect("valid"), &d_fake.expect("valid")]);

        let want = reference::mean_loss(Loss::Bce, &real, &smooth)
            + reference::mean_loss(Loss::Bce, &fake, &zeros);
        let what = format!("D loss n={n}");
        assert_close(&what, &download(&stats, 1), &[want], LOSS_ATOL, LOSS_RTOL);
        for (dlogits, x, t) in [(&dreal, &real, &smooth), (&dfake, &fake, &zeros)] {
            let grad = reference::mean_loss_backward(Loss::Bce, x, t);
            let want: Vec<f64> = before.iter().zip(&grad).map(|(b, g)| b + 0.5 * g).collect();
            assert_close(&what, &download(dlogits, n), &want, GRAD_ATOL, GRAD_RTOL);
        }
    }
}

#[test]
fn refuses_bad_arguments() {
    let g = gpu();
    let (x, dx, t, stats) = (
        upload(&[0.0; 8]),
        upload(&[0.0; 8]),
        upload(&[1.0; 8]),
        upload(&[0.0]),
    );
    let o = LossOptions::default();
    let bce_alone = loss(g, Loss::Bce, &x, None, 8, &dx, &stats, 0, o);
    assert!(
        matches!(bce_alone, Err(Error::Invalid(_))),
        "Bce without targets"
    );
    let alone = loss(g, Loss::LeastSquares, &x, None, 8, &dx, &stats, 0, o);
    assert!(
        matches!(alone, Err(Error::Invalid(_))),
        "LeastSquares without targets"
    );
    let stray = loss(g, Loss::Minimax, &x, Some(&t), 8, &dx, &stats, 0, o);
    assert!(
        matches!(stray, Err(Error::Invalid(_))),
        "targets on Minimax"
    );
    let sign = loss(g, Loss::Hinge { sign: 0.5 }, &x, None, 8, &dx, &stats, 0, o);
    assert!(matches!(sign, Err(Error::Invalid(_))), "sign 0.5");
    for (n, slot) in [(0, 0), (9, 0), (8, 1)] {
        let r = loss(g, Loss::NonSaturating, &x, None, n, &dx, &stats, slot, o);
        assert!(matches!(r, Err(Error::Shape { .. })), "n={n} slot={slot}");
    }
}

use crate::common;

use common::{assert_close, assert_gradient, download, gpu, numeric_gradient, upload, Rng};
use webgan::kernels::pixel_loss::{
    pixel_loss, plan, PixelLoss, PixelLossOptions, GROUP, MAX_GROUPS, MAX_LEN,
};
use webgan::reference::pixel_loss as reference;
use webgan::Error;

const KINDS: [PixelLoss; 2] = [PixelLoss::L1, PixelLoss::Mse];

/// Odd lengths: one element, either side of a workgroup, a 3×7×9×5 tensor, a batch of three
/// 64×64 RGB images, and two 256×256 RGB images (393,216: past the 1,024 workgroups, so the
/// segments grow).
const LENS: [usize; 6] = [
    1,
    255,
    257,
    3 * 7 * 9 * 5,
    3 * 64 * 64 * 3,
    2 * 256 * 256 * 3,
];

// The loss: each term is one f32 rounding off (|d| exact, d² one rounding), summed by a few
// per-thread additions and two trees of depth 8 (≤ 30 roundings of 2⁻²⁴ each on one path),
// then λ/len rounded to f32 and one product: ~2e-6 relative in the worst case.
const LOSS_RTOL: f64 = 1e-5;
const LOSS_ATOL: f64 = 1e-9;
// A gradient is (x − t) (correctly rounded) times λ/len (rounded) in one more rounding: a few
// 2⁻²⁴ relative to the result. Accumulating adds one rounding of terms up to 4 λ/len (MSE's
// 2 (x − t) λ/len), which may cancel: half an ulp of 4 λ/len is 2.4e-7 λ/len absolute.
const GRAD_RTOL: f64 = 1e-6;
const GRAD_ATOL: f64 = 1e-12;
const SUM_ATOL: f64 = 3e-7;

/// Prediction and targets in [−1, 1), rounded to f32; every 13th targets equals its prediction,
/// where L1's gradient must be 0.
fn data(rng: &mut Rng, n: usize) -> (Vec<f64>, Vec<f64>) {
    let x = rng.vec(n);
    let mut t = rng.vec(n);
    for i in (4..n).step_by(13) {
        t[i] = x[i];
    }
    (x, t)
}

#[test]
fn shader_validates() {
    let module = naga::front::wgsl::parse_str(webgan::kernels::pixel_loss::SHADER.source)
        .expect("pixel_loss.wgsl parses");
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .expect("pixel_loss.wgsl validates");
}

/// Every element is in exactly one non-empty segment, segments are whole passes of the
/// workgroup, and there are never more than MAX_GROUPS partials.
#[test]
fn plan_covers_every_element_once() {
    let lens = [
        1,
        2,
        255,
        256,
        257,
        945,
        36_864,
        393_216,
        262_144,
        262_145,
        1 << 24,
        MAX_LEN,
    ];
    for len in lens.into_iter().chain(LENS) {
        let p = plan(len);
        assert!(p.groups >= 1 && p.groups <= MAX_GROUPS, "len {len}: {p:?}");
        assert_eq!(p.segment % GROUP, 0, "len {len}: {p:?}");
        assert!(p.groups * p.segment >= len, "len {len} not covered: {p:?}");
        assert!(
            (p.groups - 1) * p.segment < len,
            "len {len}: empty segment {p:?}"
        );
        // Indices the shader forms stay in u32.
        assert!(
            p.groups * p.segment + GROUP <= u32::MAX as usize,
            "len {len}: {p:?}"
        );
    }
    // Up to 1,024 × 256 elements, one element a thread.
    assert_eq!(plan(257).segment, GROUP);
    assert_eq!(plan(257).groups, 2);
    assert_eq!(plan(393_216).groups * plan(393_216).segment, 393_216);
}

#[test]
fn reference_gradients_match_central_differences() {
    let mut rng = Rng::new(1);
    for kind in KINDS {
        let x = rng.vec(50);
        // At least 1e-3 apart: h = 1e-6 never crosses L1's kink at x = t.
        let t: Vec<f64> = x
            .iter()
            .map(|&v| {
                let d = rng.uniform(1e-3, 0.5);
                if rng.below(2) == 0 {
                    v + d
                } else {
                    v - d
                }
            })
            .collect();
        let weight = 10.0;
        let dx = reference::pixel_loss_backward(kind, &x, &t, weight);
        let numeric = numeric_gradient(&x, |x| reference::pixel_loss(kind, x, &t, weight));
        assert_gradient(&format!("{kind:?} d/dinput"), &dx, &numeric);
        let dt: Vec<f64> = dx.iter().map(|g| -g).collect();
        let numeric = numeric_gradient(&t, |t| reference::pixel_loss(kind, &x, t, weight));
        assert_gradient(&format!("{kind:?} d/dtargets"), &dt, &numeric);
    }
}

#[test]
fn reference_follows_pytorch() {
    let (x, t) = ([1.0, -2.0, 0.5, 3.0], [0.0, 0.0, 0.5, 1.0]);
    // L1Loss: (1 + 2 + 0 + 2) / 4; MSELoss: (1 + 4 + 0 + 4) / 4; times λ.
    let l1 = reference::pixel_loss(PixelLoss::L1, &x, &t, 100.0);
    let mse = reference::pixel_loss(PixelLoss::Mse, &x, &t, 0.5);
    assert_close("L1", &[l1], &[125.0], 1e-12, 0.0);
    assert_close("MSE", &[mse], &[1.125], 1e-12, 0.0);
    // torch: sign(0) = 0, so the element with x = t gets no gradient.
    let dl1 = reference::pixel_loss_backward(PixelLoss::L1, &x, &t, 100.0);
    assert_close("dL1", &dl1, &[25.0, -25.0, 0.0, 25.0], 1e-12, 0.0);
    let dmse = reference::pixel_loss_backward(PixelLoss::Mse, &x, &t, 0.5);
    assert_close("dMSE", &dmse, &[0.25, -0.5, 0.0, 0.5], 1e-12, 0.0);
}

/// What one GPU run leaves: stats[2] and the two gradients.
struct Out {
    loss: f64,
    dinput: Vec<f64>,
    dtargets: Option<Vec<f64>>,
}

/// Runs the loss into stats[2] of four (each −7 before), with dinput and dtargets holding
/// `before` values, checking that the other slots stay untouched.
fn run_gpu(
    kind: PixelLoss,
    (x, t): (&[f64], &[f64]),
    before: (&[f64], Option<&[f64]>),
    options: PixelLossOptions,
) -> Out {
    let n = x.len();
    let stats = upload(&[-7.0; 4]);
    let (input, targets, dinput) = (upload(x), upload(t), upload(before.0));
    let dtargets = before.1.map(upload);
    let d = pixel_loss(
        gpu(),
        kind,
        &input,
        &targets,
        n,
        &dinput,
        dtargets.as_ref(),
        &stats,
        2,
        options,
    )
    .expect("valid pixel loss");
    assert_eq!(
        d.kernels(),
        [
            ("pixel_loss.wgsl+workgroup_sum.wgsl", "partial"),
            ("pixel_loss.wgsl+workgroup_sum.wgsl", "finish")
        ]
    );
    gpu().run(&[&d]);
    let s = download(&stats, 4);
    assert_eq!(
        [s[0], s[1], s[3]],
        [-7.0; 3],
        "{kind:?}: other slots written"
    );
    Out {
        loss: s[2],
        dinput: download(&dinput, n),
        dtargets: dtargets.map(|b| download(&b, n)),
    }
}

fn plus(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a + b).collect()
}

/// Both kinds on every length, overwriting and accumulating, with and without dtargets.
#[test]
fn gpu_matches_reference() {
    let mut rng = Rng::new(2);
    for n in LENS {
        for kind in KINDS {
            let (x, t) = data(&mut rng, n);
            let weight = [100.0, 10.0, 5.0][rng.below(3) as usize];
            let loss = reference::pixel_loss(kind, &x, &t, weight as f64);
            let dx = reference::pixel_loss_backward(kind, &x, &t, weight as f64);
            let dt: Vec<f64> = dx.iter().map(|g| -g).collect();
            // Gradients already there, of the size of the new ones, so that a lost or doubled
            // term shows against the tolerance.
            let scale = weight as f64 / n as f64;
            let before: Vec<Vec<f64>> = (0..2)
                .map(|_| rng.vec(n).iter().map(|v| v * scale).collect())
                .collect();
            for accumulate in [false, true] {
                for with_dtarget in [false, true] {
                    let options = PixelLossOptions {
                        weight,
                        accumulate_loss: accumulate,
                        accumulate_grad: accumulate,
                        accumulate_dtargets: accumulate && with_dtarget,
                    };
                    let what =
                        format!("{kind:?} n={n} λ={weight} {options:?} dtargets {with_dtarget}");
                    let dtarget_before = with_dtarget.then_some(&before[1][..]);
                    let got = run_gpu(kind, (&x, &t), (&before[0], dtarget_before), options);
                    let (want_loss, want_dx, want_dt) = if accumulate {
                        (-7.0 + loss, plus(&before[0], &dx), plus(&before[1], &dt))
                    } else {
                        (loss, dx.clone(), dt.clone())
                    };
                    assert_close(&what, &[got.loss], &[want_loss], LOSS_ATOL, LOSS_RTOL);
                    let atol = if accumulate {
                        SUM_ATOL * scale
                    } else {
                        GRAD_ATOL
                    };
                    assert_close(&what, &got.dinput, &want_dx, atol, GRAD_RTOL);
                    match got.dtargets {
                        Some(got_dt) => assert_close(&what, &got_dt, &want_dt, atol, GRAD_RTOL),
                        None => assert!(!with_dtarget, "{what}: no dtargets read back"),
                    }
                }
            }
        }
    }
}

/// L1's gradient where x = t is exactly 0 (torch's sign(0)), and exactly ±λ/len elsewhere.
#[test]
fn gpu_l1_gradient_is_zero_at_ties() {
    let x = [0.5, 0.5, -0.25, 3.0, 0.0];
    let t = [0.5, 0.25, -0.25, -3.0, 0.0];
    let got = run_gpu(
        PixelLoss::L1,
        (&x, &t),
        (&[9.0; 5], None),
        PixelLossOptions::default(),
    );
    assert_eq!(got.dinput, [0.0, 0.2f32 as f64, 0.0, 0.2f32 as f64, 0.0]);
}

/// 400,000 elements: the split sum keeps the loss within 1e-5 relative of the f64 sum, where
/// one running f32 sum over the tensor does not.
#[test]
fn loss_of_a_large_tensor_is_accurate() {
    let n = 400_000;
    let mut rng = Rng::new(3);
    for kind in KINDS {
        let (x, t) = data(&mut rng, n);
        let want = reference::pixel_loss(kind, &x, &t, 1.0);
        let options = PixelLossOptions::default();
        let got = run_gpu(kind, (&x, &t), (&vec![0.0; n], None), options);
        let error = (got.loss - want).abs() / want;
        assert!(
            error <= 1e-5,
            "{kind:?}: GPU loss {} vs {want}: {error:e} relative",
            got.loss
        );
        // The naive sum this kernel exists to avoid, to show the bound can fail.
        let naive = x.iter().zip(&t).fold(0.0f32, |sum, (&x, &t)| {
            let d = x as f32 - t as f32;
            sum + reference::distance(kind, d as f64) as f32
        }) / n as f32;
        let naive_error = (naive as f64 - want).abs() / want;
        assert!(
            naive_error > 1e-5,
            "{kind:?}: naive f32 sum only {naive_error:e} off"
        );
    }
}

/// CycleGAN's generator: the adversarial gradient is in dinput and its loss in the slot; the
/// cycle (L1, λ = 10) and identity (L1, λ = 5) losses add into both in one submission, the
/// identity loss's targets being another network's output with its own gradient.
#[test]
fn losses_add_into_one_slot_and_gradient() {
    let n = 3 * 7 * 9 * 5;
    let mut rng = Rng::new(4);
    let (x, t) = data(&mut rng, n);
    let (y, u) = data(&mut rng, n);
    let adversarial = rng.vec(n);
    let g = gpu();
    let stats = upload(&[0.75]);
    let (x_b, t_b, y_b, u_b) = (upload(&x), upload(&t), upload(&y), upload(&u));
    let (dx_b, du_b) = (upload(&adversarial), upload(&vec![0.0; n]));
    let dy_b = upload(&vec![0.0; n]);
    let add = |weight| PixelLossOptions {
        weight,
        accumulate_loss: true,
        accumulate_grad: true,
        accumulate_dtargets: false,
    };
    let cycle = pixel_loss(
        g,
        PixelLoss::L1,
        &x_b,
        &t_b,
        n,
        &dx_b,
        None,
        &stats,
        0,
        add(10.0),
    );
    let identity = pixel_loss(
        g,
        PixelLoss::L1,
        &y_b,
        &u_b,
        n,
        &dy_b,
        Some(&du_b),
        &stats,
        0,
        add(5.0),
    );
    g.run(&[
        &cycle.expect("valid cycle loss"),
        &identity.expect("valid identity loss"),
    ]);
    let want = 0.75
        + reference::pixel_loss(PixelLoss::L1, &x, &t, 10.0)
        + reference::pixel_loss(PixelLoss::L1, &y, &u, 5.0);
    assert_close(
        "G loss",
        &download(&stats, 1),
        &[want],
        LOSS_ATOL,
        LOSS_RTOL,
    );
    let want = plus(
        &adversarial,
        &reference::pixel_loss_backward(PixelLoss::L1, &x, &t, 10.0),
    );
    assert_close("dx", &download(&dx_b, n), &want, GRAD_ATOL, GRAD_RTOL);
    let dy = reference::pixel_loss_backward(PixelLoss::L1, &y, &u, 5.0);
    assert_close("dy", &download(&dy_b, n), &dy, GRAD_ATOL, GRAD_RTOL);
    let du: Vec<f64> = dy.iter().map(|g| -g).collect();
    assert_close("du", &download(&du_b, n), &du, GRAD_ATOL, GRAD_RTOL);
}

#[test]
fn refuses_bad_arguments() {
    let g = gpu();
    let [x, t, dx, dt, stats] = [8, 8, 8, 8, 1].map(|n| upload(&vec![0.0; n]));
    let o = PixelLossOptions::default();
    let run = |len,
               targets: &wgpu::Buffer,
               dinput: &wgpu::Buffer,
               dtargets,
               stats: &wgpu::Buffer,
               slot,
               o| {
        pixel_loss(
            g,
            PixelLoss::L1,
            &x,
            targets,
            len,
            dinput,
            dtargets,
            stats,
            slot,
            o,
        )
    };
    assert!(run(8, &t, &dx, Some(&dt), &stats, 0, o).is_ok(), "valid");
    for (len, slot) in [(0, 0), (9, 0), (8, 1)] {
        let r = run(len, &t, &dx, None, &stats, slot, o);
        assert!(
            matches!(r, Err(Error::Shape { .. })),
            "len={len} slot={slot}"
        );
    }
    for weight in [-1.0, f32::NAN, f32::INFINITY] {
        let r = run(
            8,
            &t,
            &dx,
            None,
            &stats,
            0,
            PixelLossOptions { weight, ..o },
        );
        assert!(matches!(r, Err(Error::Invalid(_))), "weight {weight}");
    }
    let zero = run(
        8,
        &t,
        &dx,
        None,
        &stats,
        0,
        PixelLossOptions { weight: 0.0, ..o },
    );
    assert!(zero.is_ok(), "λ = 0 turns a loss off");
    let lone = PixelLossOptions {
        accumulate_dtargets: true,
        ..o
    };
    let r = run(8, &t, &dx, None, &stats, 0, lone);
    assert!(
        matches!(r, Err(Error::Invalid(_))),
        "accumulate_dtargets without dtargets"
    );
    let cases = [
        ("input as dinput", run(8, &t, &x, None, &stats, 0, o)),
        ("input as targets", run(8, &x, &dx, None, &stats, 0, o)),
        (
            "dinput as dtargets",
            run(8, &t, &dx, Some(&dx), &stats, 0, o),
        ),
        ("dinput as stats", run(8, &t, &dx, None, &dx, 0, o)),
        (
            "targets as dtargets",
            run(8, &t, &dx, Some(&t), &stats, 0, o),
        ),
    ];
    for (what, r) in cases {
        match r {
            Err(Error::Invalid(message)) => {
                assert!(message.contains("same buffer"), "{what}: {message}")
            }
            other => panic!("{what}: {:?}", other.map(|d| d.label)),
        }
    }
}

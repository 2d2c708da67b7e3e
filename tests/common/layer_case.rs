//! One layer's GPU forward and backward passes against its CPU reference, shared by the conv
//! test files.
//!
//! GPU tolerance: f32 sums of K products of values in [−1, 1] against f64, so the error grows
//! like ε·√K·|terms|; with K ≤ ~600 here, atol 1e-4 + rtol 1e-3 leaves a wide margin while still
//! catching any wrong index (which gives errors of order 0.1–1).

use super::*;

pub const ATOL: f64 = 1e-4;
pub const RTOL: f64 = 1e-3;

/// GPU forward, d input, d weight and d bias of one layer vs the reference, with accumulation
/// checked by adding into gradients that already hold `prior`.
pub struct Case<'a> {
    pub name: String,
    pub x: &'a [f64],
    pub w: &'a [f64],
    pub b: &'a [f64],
    pub dy: &'a [f64],
    pub want: (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>),
}

pub type Build<'a> = dyn Fn(
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        &wgpu::Buffer,
        bool,
    ) -> Vec<webgan::kernels::Dispatch>
    + 'a;

pub fn check_on_gpu(case: Case, build: &Build) {
    let g = gpu();
    let (y_want, dx_want, dw_want, db_want) = &case.want;
    let (x, w, b, dy) = (
        upload(case.x),
        upload(case.w),
        upload(case.b),
        upload(case.dy),
    );
    let y = g.storage("y", y_want.len());
    for accumulate in [false, true] {
        // With accumulate, the gradients start at `prior` and must end at prior + gradient.
        let prior = |n: usize| {
            if accumulate {
                Rng::new(9).vec(n)
            } else {
                vec![0.0; n]
            }
        };
        let (px, pw, pb) = (
            prior(dx_want.len()),
            prior(dw_want.len()),
            prior(db_want.len()),
        );
        let (dx, dw, db) = (upload(&px), upload(&pw), upload(&pb));
        let ds = build(&x, &w, &b, &y, &dy, &dx, &dw, &db, accumulate);
        g.run(&ds.iter().collect::<Vec<_>>());
        let plus = |p: &[f64], v: &[f64]| p.iter().zip(v).map(|(a, b)| a + b).collect::<Vec<_>>();
        let n = &case.name;
        assert_close(
            &format!("{n} forward"),
            &download(&y, y_want.len()),
            y_want,
            ATOL,
            RTOL,
        );
        assert_close(
            &format!("{n} dinput acc={accumulate}"),
            &download(&dx, px.len()),
            &plus(&px, dx_want),
            ATOL,
            RTOL,
        );
        assert_close(
            &format!("{n} dweight acc={accumulate}"),
            &download(&dw, pw.len()),
            &plus(&pw, dw_want),
            ATOL,
            RTOL,
        );
        assert_close(
            &format!("{n} dbias acc={accumulate}"),
            &download(&db, pb.len()),
            &plus(&pb, db_want),
            ATOL,
            RTOL,
        );
    }
}

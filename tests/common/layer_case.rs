//! One layer's GPU forward and backward passes against its CPU reference, shared by the conv
//! test files.
//!
//! GPU tolerance: f32 sums of K products of values in [−1, 1] against f64, so the error grows
//! like ε·√K·|terms|; with K ≤ ~600 here, atol 1e-4 + rtol 1e-3 leaves a wide margin while still
//! catching any wrong index (which gives errors of order 0.1–1).

use super::*;
use webgan::kernels::conv2d::Conv2dShape;
use webgan::kernels::conv_transpose2d::ConvTranspose2dShape;
use webgan::kernels::dense::DenseShape;

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

/// A layer with a weight and a bias whose four GPU passes are held to its reference.
pub trait Layer: std::fmt::Debug {
    /// Elements of (input, weight, bias, output).
    fn lens(&self) -> (usize, usize, usize, usize);
    /// (y, dx, dw, db) of the reference.
    fn reference(
        &self,
        x: &[f64],
        w: &[f64],
        b: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);
    /// Forward, d input, d weight and d bias on the GPU.
    #[allow(clippy::too_many_arguments)]
    fn passes(
        &self,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        b: &wgpu::Buffer,
        y: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dx: &wgpu::Buffer,
        dw: &wgpu::Buffer,
        db: &wgpu::Buffer,
        accumulate: bool,
    ) -> Vec<webgan::kernels::Dispatch>;
    /// The forward pass writing its output through a rectifier of `slope`.
    fn rectified_pass(
        &self,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        b: Option<&wgpu::Buffer>,
        y: &wgpu::Buffer,
        slope: f32,
    ) -> webgan::Result<webgan::kernels::Dispatch>;
}

/// `layer`'s forward pass rectified by `slope` (bias or not) against the reference forward
/// followed by a leaky ReLU.
pub fn check_rectified(layer: &impl Layer, slope: f32, with_bias: bool, seed: u64) {
    let (nx, nw, nb, ny) = layer.lens();
    let mut rng = Rng::new(seed);
    let (x, w) = (rng.vec(nx), rng.vec(nw));
    let b = if with_bias {
        rng.vec(nb)
    } else {
        vec![0.0; nb]
    };
    let (y, _, _, _) = layer.reference(&x, &w, &b, &vec![0.0; ny]);
    let want: Vec<f64> = y
        .iter()
        .map(|&v| if v >= 0.0 { v } else { v * slope as f64 })
        .collect();
    let out = gpu().storage("y", ny);
    let (xb, wb, bb) = (upload(&x), upload(&w), upload(&b));
    let d = layer
        .rectified_pass(&xb, &wb, with_bias.then_some(&bb), &out, slope)
        .unwrap_or_else(|e| panic!("{layer:?}: {e}"));
    gpu().run(&[&d]);
    assert_close(
        &format!("{layer:?} rectified by {slope}, bias {with_bias}"),
        &download(&out, ny),
        &want,
        ATOL,
        RTOL,
    );
}

/// `layer` on random data from `seed`, GPU against reference (see [`check_on_gpu`]).
pub fn check_layer(layer: &impl Layer, seed: u64) {
    let (nx, nw, nb, ny) = layer.lens();
    let mut rng = Rng::new(seed);
    let (x, w, b, dy) = (rng.vec(nx), rng.vec(nw), rng.vec(nb), rng.vec(ny));
    let case = Case {
        name: format!("{layer:?}"),
        x: &x,
        w: &w,
        b: &b,
        dy: &dy,
        want: layer.reference(&x, &w, &b, &dy),
    };
    check_on_gpu(case, &|x, w, b, y, dy, dx, dw, db, acc| {
        layer.passes(x, w, b, y, dy, dx, dw, db, acc)
    });
}

/// `layer`'s four passes (forward, d input, d weight, d bias) built on zeroed buffers, not run:
/// how a test tells which path of the engine a shape takes.
pub fn zeroed_passes(layer: &impl Layer) -> Vec<webgan::kernels::Dispatch> {
    let g = gpu();
    let (nx, nw, nb, ny) = layer.lens();
    let (x, w, b, y) = (
        g.storage("x", nx),
        g.storage("w", nw),
        g.storage("b", nb),
        g.storage("y", ny),
    );
    let (dx, dw, db, dy) = (
        g.storage("dx", nx),
        g.storage("dw", nw),
        g.storage("db", nb),
        g.storage("dy", ny),
    );
    layer.passes(&x, &w, &b, &y, &dy, &dx, &dw, &db, false)
}

/// Dispatches recorded by each of `layer`'s four passes.
pub fn pass_dispatches(layer: &impl Layer) -> [usize; 4] {
    let passes = zeroed_passes(layer);
    std::array::from_fn(|i| passes[i].dispatch_count())
}

/// The four passes of each shape, all the same calls.
macro_rules! layer_passes {
    ($shape:ty, $reference:path, $output:expr) => {
        impl Layer for $shape {
            fn lens(&self) -> (usize, usize, usize, usize) {
                let output: fn(&$shape) -> (usize, usize, usize, usize) = $output;
                output(self)
            }
            fn reference(
                &self,
                x: &[f64],
                w: &[f64],
                b: &[f64],
                dy: &[f64],
            ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
                use $reference as r;
                let y = r::forward(self, x, w, Some(b));
                let (dx, dw, db) = r::backward(self, x, w, dy);
                (y, dx, dw, db)
            }
            fn passes(
                &self,
                x: &wgpu::Buffer,
                w: &wgpu::Buffer,
                b: &wgpu::Buffer,
                y: &wgpu::Buffer,
                dy: &wgpu::Buffer,
                dx: &wgpu::Buffer,
                dw: &wgpu::Buffer,
                db: &wgpu::Buffer,
                acc: bool,
            ) -> Vec<webgan::kernels::Dispatch> {
                let g = gpu();
                vec![
                    self.forward(g, x, w, Some(b), y, None).unwrap(),
                    self.backward_input(g, dy, w, dx, acc).unwrap(),
                    self.backward_weight(g, x, dy, dw, acc).unwrap(),
                    self.backward_bias(g, dy, db, acc).unwrap(),
                ]
            }
            fn rectified_pass(
                &self,
                x: &wgpu::Buffer,
                w: &wgpu::Buffer,
                b: Option<&wgpu::Buffer>,
                y: &wgpu::Buffer,
                slope: f32,
            ) -> webgan::Result<webgan::kernels::Dispatch> {
                self.forward(gpu(), x, w, b, y, Some(slope))
            }
        }
    };
}

layer_passes!(DenseShape, webgan::reference::dense, |s| {
    let (b, i, o) = (
        s.batch as usize,
        s.in_features as usize,
        s.out_features as usize,
    );
    (b * i, i * o, o, b * o)
});
layer_passes!(Conv2dShape, webgan::reference::conv2d, |s| (
    s.input_len(),
    s.weight_len(),
    s.out_channels as usize,
    s.output_len().unwrap()
));
layer_passes!(
    ConvTranspose2dShape,
    webgan::reference::conv_transpose2d,
    |s| (
        s.input_len(),
        s.weight_len(),
        s.out_channels as usize,
        s.output_len().unwrap()
    )
);

//! Dense layers and (transposed) convolutions: the ops with weights, all on the GEMM engine.

use crate::export::onnx::{int_attr, ints_attr, OnnxNode};
use crate::gpu::Gpu;
use crate::graph::op::{BuildCtx, Built, Fusion, Mode, Op, Reference, TangentCtx};
use crate::graph::ops::spectral::{self, Normalised};
use crate::graph::program::ParamGrads;
use crate::graph::{Init, ParamSpec, Shape3};
use crate::kernels::batch_norm::fused_slope;
use crate::kernels::conv2d::{Conv2dShape, Padding};
use crate::kernels::conv_transpose2d::ConvTranspose2dShape;
use crate::kernels::dense::DenseShape;
use crate::kernels::spectral_norm::{self, SpectralLayout};
use crate::kernels::Dispatch;
use crate::reference::{conv2d, conv_transpose2d, dense};
use crate::Result;

/// `nn.Linear(in, out_features, bias)` on the flattened input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense {
    pub out_features: u32,
    pub bias: bool,
    /// Wrapped in `torch.nn.utils.spectral_norm` (see [`SpectralLayout`]).
    pub spectral_norm: bool,
}

/// `nn.Conv2d(in, out_channels, kernel, stride, padding, bias)`, square kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub out_channels: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    pub bias: bool,
    /// Wrapped in `torch.nn.utils.spectral_norm`: dim 0, the weight as [out, in·k·k].
    pub spectral_norm: bool,
}

/// `nn.ConvTranspose2d(in, out_channels, kernel, stride, padding, output_padding, bias)`,
/// square kernels. `output_padding` (below the stride) adds rows and columns at the bottom
/// and right, so that a stride-2 layer with kernel 3 and padding 1 doubles a side exactly, as
/// a ResNet generator's upsampling needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d {
    pub out_channels: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    pub output_padding: u32,
    pub bias: bool,
    /// Wrapped in `torch.nn.utils.spectral_norm`, whose default for a transposed conv is
    /// dim 1: the weight [in, out, k, k] as [out, in·k·k].
    pub spectral_norm: bool,
}

impl Dense {
    /// The matrix spectral norm normalises, when it is on.
    pub fn spectral(&self, input: Shape3) -> Option<SpectralLayout> {
        let l = SpectralLayout::dim0(self.out_features as usize, input.len());
        self.spectral_norm.then_some(l)
    }
    pub fn shape(&self, batch: u32, input: Shape3) -> DenseShape {
        DenseShape {
            batch,
            in_features: input.len() as u32,
            out_features: self.out_features,
        }
    }
}

impl Conv2d {
    /// The matrix spectral norm normalises, when it is on.
    pub fn spectral(&self, input: Shape3) -> Option<SpectralLayout> {
        let taps = (self.kernel * self.kernel) as usize;
        let l = SpectralLayout::dim0(self.out_channels as usize, input.c as usize * taps);
        self.spectral_norm.then_some(l)
    }
    pub fn shape(&self, batch: u32, input: Shape3) -> Conv2dShape {
        Conv2dShape {
            batch,
            in_channels: input.c,
            out_channels: self.out_channels,
            height: input.h,
            width: input.w,
            kernel_h: self.kernel,
            kernel_w: self.kernel,
            stride: self.stride,
            padding: Padding::Explicit(self.padding),
        }
    }
}

impl ConvTranspose2d {
    /// The matrix spectral norm normalises, when it is on.
    pub fn spectral(&self, input: Shape3) -> Option<SpectralLayout> {
        let taps = (self.kernel * self.kernel) as usize;
        let l = SpectralLayout::dim1(input.c as usize, self.out_channels as usize, taps);
        self.spectral_norm.then_some(l)
    }
    pub fn shape(&self, batch: u32, input: Shape3) -> ConvTranspose2dShape {
        ConvTranspose2dShape {
            batch,
            in_channels: input.c,
            out_channels: self.out_channels,
            height: input.h,
            width: input.w,
            kernel_h: self.kernel,
            kernel_w: self.kernel,
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
        }
    }
}

/// What the three kernel shapes share: forward, the three gradients, and their references.
trait Gemm {
    fn forward(
        &self,
        gpu: &Gpu,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        b: Option<&wgpu::Buffer>,
        y: &wgpu::Buffer,
        slope: Option<f32>,
    ) -> Result<Dispatch>;
    fn backward_weight(
        &self,
        gpu: &Gpu,
        x: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dw: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch>;
    fn backward_bias(
        &self,
        gpu: &Gpu,
        dy: &wgpu::Buffer,
        db: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch>;
    fn backward_input(
        &self,
        gpu: &Gpu,
        dy: &wgpu::Buffer,
        w: &wgpu::Buffer,
        dx: &wgpu::Buffer,
        accumulate: bool,
    ) -> Result<Dispatch>;
    fn reference_forward(&self, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64>;
    fn reference_backward(
        &self,
        x: &[f64],
        w: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>);
}

macro_rules! gemm {
    ($shape:ty, $reference:ident) => {
        impl Gemm for $shape {
            fn forward(
                &self,
                gpu: &Gpu,
                x: &wgpu::Buffer,
                w: &wgpu::Buffer,
                b: Option<&wgpu::Buffer>,
                y: &wgpu::Buffer,
                slope: Option<f32>,
            ) -> Result<Dispatch> {
                <$shape>::forward(self, gpu, x, w, b, y, slope)
            }
            fn backward_weight(
                &self,
                gpu: &Gpu,
                x: &wgpu::Buffer,
                dy: &wgpu::Buffer,
                dw: &wgpu::Buffer,
                accumulate: bool,
            ) -> Result<Dispatch> {
                <$shape>::backward_weight(self, gpu, x, dy, dw, accumulate)
            }
            fn backward_bias(
                &self,
                gpu: &Gpu,
                dy: &wgpu::Buffer,
                db: &wgpu::Buffer,
                accumulate: bool,
            ) -> Result<Dispatch> {
                <$shape>::backward_bias(self, gpu, dy, db, accumulate)
            }
            fn backward_input(
                &self,
                gpu: &Gpu,
                dy: &wgpu::Buffer,
                w: &wgpu::Buffer,
                dx: &wgpu::Buffer,
                accumulate: bool,
            ) -> Result<Dispatch> {
                <$shape>::backward_input(self, gpu, dy, w, dx, accumulate)
            }
            fn reference_forward(&self, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
                $reference::forward(self, x, w, b)
            }
            fn reference_backward(
                &self,
                x: &[f64],
                w: &[f64],
                dy: &[f64],
            ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
                $reference::backward(self, x, w, dy)
            }
        }
    };
}

gemm!(DenseShape, dense);
gemm!(Conv2dShape, conv2d);
gemm!(ConvTranspose2dShape, conv_transpose2d);

/// DCGAN's `weights_init`: N(0, 0.02) weights, zero biases. With spectral norm the weight is
/// `weight_orig` and the power iteration's `weight_u` (rows) and `weight_v` (cols) follow the
/// bias (PyTorch's state_dict lists the bias first; the weight stays first here, where the
/// builders below look for it; a checkpoint goes by name).
fn weight_and_bias(
    weight: Vec<usize>,
    out: u32,
    bias: bool,
    spectral: Option<SpectralLayout>,
) -> Vec<ParamSpec> {
    let name = if spectral.is_some() {
        "weight_orig"
    } else {
        "weight"
    };
    let mut v = vec![ParamSpec {
        name: name.into(),
        shape: weight,
        init: Init::Normal {
            mean: 0.0,
            std: 0.02,
        },
    }];
    if bias {
        v.push(ParamSpec {
            name: "bias".into(),
            shape: vec![out as usize],
            init: Init::Zero,
        });
    }
    if let Some(l) = spectral {
        v.extend(spectral::state_specs(l));
    }
    v
}

fn reference_forward(
    s: &impl Gemm,
    spectral: Option<SpectralLayout>,
    bias: bool,
    r: &Reference,
    mode: Mode,
) -> Vec<f64> {
    let w = spectral::reference_weight(r, spectral, mode.train);
    s.reference_forward(r.x[0], &w.w, bias.then(|| r.params[1].as_slice()))
}

/// d input and d parameters; spectral norm's u and v get zeros (they are not trained).
fn reference_backward(
    s: &impl Gemm,
    spectral: Option<SpectralLayout>,
    bias: bool,
    r: &Reference,
    dy: &[f64],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let w = spectral::reference_weight(r, spectral, true);
    let (dx, mut dw, db) = s.reference_backward(r.x[0], &w.w, dy);
    if let Some((l, sigma, u, v)) = &w.spectral {
        dw = crate::reference::spectral_norm::backward(*l, &w.w, *sigma, u, v, &dw);
    }
    let mut dparams = vec![dw];
    if bias {
        dparams.push(db);
    }
    if let Some(l) = spectral {
        dparams.push(vec![0.0; l.rows]);
        dparams.push(vec![0.0; l.cols]);
    }
    (vec![dx], dparams)
}

/// Forward (rectified when an activation follows), then weight, bias and input gradients.
/// With spectral norm, W / σ is made first (one power iteration in train mode) and the weight
/// gradient goes through σ after it is computed for W / σ.
fn build(
    s: &impl Gemm,
    spectral: Option<SpectralLayout>,
    has_bias: bool,
    gpu: &Gpu,
    ctx: &BuildCtx,
) -> Result<Built> {
    let w = &ctx.params[0];
    let bias = has_bias.then(|| &ctx.params[1]);
    let x = ctx.x[0];
    let normalised = spectral.map(|layout| Normalised::new(gpu, layout, ctx.params));
    let weight = normalised.as_ref().map_or(&w.value, |sn| &sn.weight_sn);
    let mut built = Built::default();
    if let Some(sn) = &normalised {
        // Recorded whenever the pass uses the weight at all: its backward needs W / σ too.
        if ctx.forward || ctx.dy.is_some() {
            let b = sn.buffers(&w.value);
            built
                .forward
                .push(spectral_norm::forward(gpu, sn.layout, &b, ctx.mode.train)?);
        }
    }
    if ctx.forward {
        let slope = ctx.epilogue.and_then(fused_slope);
        built
            .forward
            .push(s.forward(gpu, x, weight, bias.map(|p| &p.value), ctx.y, slope)?);
    }
    if let Some(dy) = ctx.dy {
        if ctx.param_grads != ParamGrads::Skip {
            let accumulate = ctx.param_grads == ParamGrads::Accumulate;
            match &normalised {
                None => built
                    .backward
                    .push(s.backward_weight(gpu, x, dy, &w.grad, accumulate)?),
                // G = dL/d(W / σ) first, overwritten each pass; then through σ into
                // weight_orig's gradient, which may hold an earlier pass's.
                Some(sn) => built.backward.push(sn.backward_through(
                    gpu,
                    &w.value,
                    &w.grad,
                    accumulate,
                    |dweight_sn| s.backward_weight(gpu, x, dy, dweight_sn, false),
                )?),
            }
            if let Some(bias) = bias {
                built
                    .backward
                    .push(s.backward_bias(gpu, dy, &bias.grad, accumulate)?);
            }
        }
        if let Some((dx, accumulate)) = ctx.dx[0] {
            built
                .backward
                .push(s.backward_input(gpu, dy, weight, dx, accumulate)?);
        }
    }
    Ok(built)
}

/// A linear op's part of the penalty's second pass: J·u is its forward of u without the bias
/// (with W / σ as the penalised pass used it: spectral norm in eval mode reads the u and v that
/// pass's iteration left), and its weight gets d⟨dy, W·u⟩/dW, its weight gradient at input u.
fn build_tangent(
    s: &impl Gemm,
    spectral: Option<SpectralLayout>,
    gpu: &Gpu,
    ctx: &TangentCtx,
) -> Result<Built> {
    let w = &ctx.params[0];
    let mut forward = Vec::new();
    match spectral {
        None => {
            forward.push(s.forward(gpu, ctx.u, &w.value, None, ctx.u_out, None)?);
            forward.push(s.backward_weight(gpu, ctx.u, ctx.dy, &w.grad, true)?);
        }
        Some(layout) => {
            let sn = Normalised::new(gpu, layout, ctx.params);
            let b = sn.buffers(&w.value);
            forward.push(spectral_norm::forward(gpu, layout, &b, false)?);
            forward.push(s.forward(gpu, ctx.u, &sn.weight_sn, None, ctx.u_out, None)?);
            forward.push(
                sn.backward_through(gpu, &w.value, &w.grad, true, |dweight_sn| {
                    s.backward_weight(gpu, ctx.u, ctx.dy, dweight_sn, false)
                })?,
            );
        }
    }
    Ok(Built {
        forward,
        backward: vec![],
    })
}

/// The methods the three linear ops share: their kernel shape does the work.
macro_rules! gemm_op_methods {
    () => {
        fn fusion(&self) -> Fusion {
            Fusion::Linear
        }
        fn reference_forward(
            &self,
            r: &Reference,
            _: Option<&mut Vec<f64>>,
            mode: Mode,
        ) -> Vec<f64> {
            let input = r.shapes.input();
            let s = self.shape(r.shapes.batch, input);
            reference_forward(&s, self.spectral(input), self.bias, r, mode)
        }
        fn reference_backward(&self, r: &Reference, dy: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
            let input = r.shapes.input();
            let s = self.shape(r.shapes.batch, input);
            reference_backward(&s, self.spectral(input), self.bias, r, dy)
        }
        fn reference_state(&self, r: &Reference, mode: Mode) -> Vec<(usize, Vec<f64>)> {
            let input = r.shapes.input();
            spectral::reference_state(r, self.spectral(input), mode.train)
        }
        fn build(&self, gpu: &Gpu, ctx: &BuildCtx) -> Result<Built> {
            let input = ctx.shapes.input();
            let s = self.shape(ctx.shapes.batch, input);
            build(&s, self.spectral(input), self.bias, gpu, ctx)
        }
        fn build_tangent(
            &self,
            gpu: &Gpu,
            ctx: &TangentCtx,
        ) -> Result<std::result::Result<Built, String>> {
            let input = ctx.shapes.input();
            let s = self.shape(ctx.shapes.batch, input);
            build_tangent(&s, self.spectral(input), gpu, ctx).map(Ok)
        }
    };
}

impl Op for Dense {
    fn output(&self, _inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        Ok(Shape3::new(self.out_features, 1, 1))
    }
    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        let w = vec![self.out_features as usize, inputs[0].len()];
        weight_and_bias(w, self.out_features, self.bias, self.spectral(inputs[0]))
    }
    fn flops(&self, batch: u32, inputs: &[Shape3], _output: Shape3) -> f64 {
        2.0 * batch as f64 * inputs[0].len() as f64 * self.out_features as f64
    }
    gemm_op_methods!();
    /// y = flatten(x) Wᵀ + b, seen as [out, 1, 1].
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let flat = n.temp("flat");
        n.node("Flatten", &[n.input()], &flat, vec![int_attr("axis", 1)]);
        let mut operands = vec![flat];
        let input = n.input_shapes[0];
        operands.extend(spectral::onnx_parameters(
            n,
            &self.params(n.input_shapes),
            self.spectral(input),
        )?);
        let product = n.temp("gemm");
        n.node(
            "Gemm",
            &strs(&operands),
            &product,
            vec![int_attr("transB", 1)],
        );
        n.reshape_to_output(&product);
        Ok(())
    }
}

impl Op for Conv2d {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (h, w, _, _) = self
            .shape(1, inputs[0])
            .output()
            .map_err(|e| e.to_string())?;
        Ok(Shape3::new(self.out_channels, h, w))
    }
    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        let k = self.kernel as usize;
        let w = vec![self.out_channels as usize, inputs[0].c as usize, k, k];
        weight_and_bias(w, self.out_channels, self.bias, self.spectral(inputs[0]))
    }
    /// Each output meets in_c·k² taps.
    fn flops(&self, batch: u32, inputs: &[Shape3], output: Shape3) -> f64 {
        let k = self.kernel as f64;
        2.0 * batch as f64 * output.len() as f64 * inputs[0].c as f64 * k * k
    }
    gemm_op_methods!();
    /// Weights [out, in, k, k] as PyTorch's, which is ONNX's layout too.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let mut operands = vec![n.input().to_string()];
        let input = n.input_shapes[0];
        operands.extend(spectral::onnx_parameters(
            n,
            &self.params(n.input_shapes),
            self.spectral(input),
        )?);
        let (k, s, p) = (self.kernel as i64, self.stride as i64, self.padding as i64);
        let attributes = vec![
            ints_attr("kernel_shape", &[k, k]),
            ints_attr("strides", &[s, s]),
            ints_attr("pads", &[p, p, p, p]),
        ];
        n.node("Conv", &strs(&operands), n.output, attributes);
        Ok(())
    }
}

impl Op for ConvTranspose2d {
    fn output(&self, inputs: &[Shape3]) -> std::result::Result<Shape3, String> {
        let (h, w) = self
            .shape(1, inputs[0])
            .output()
            .map_err(|e| e.to_string())?;
        Ok(Shape3::new(self.out_channels, h, w))
    }
    fn params(&self, inputs: &[Shape3]) -> Vec<ParamSpec> {
        let k = self.kernel as usize;
        let w = vec![inputs[0].c as usize, self.out_channels as usize, k, k];
        weight_and_bias(w, self.out_channels, self.bias, self.spectral(inputs[0]))
    }
    /// Each input meets out_c·k² taps.
    fn flops(&self, batch: u32, inputs: &[Shape3], _output: Shape3) -> f64 {
        let k = self.kernel as f64;
        2.0 * batch as f64 * inputs[0].len() as f64 * self.out_channels as f64 * k * k
    }
    gemm_op_methods!();
    /// Weights [in, out, k, k] as PyTorch's and ONNX's; output_padding adds to the bottom and
    /// right in both.
    fn onnx(&self, n: &mut OnnxNode) -> std::result::Result<(), String> {
        let mut operands = vec![n.input().to_string()];
        let input = n.input_shapes[0];
        operands.extend(spectral::onnx_parameters(
            n,
            &self.params(n.input_shapes),
            self.spectral(input),
        )?);
        let (k, s, p) = (self.kernel as i64, self.stride as i64, self.padding as i64);
        let extra = self.output_padding as i64;
        let attributes = vec![
            ints_attr("kernel_shape", &[k, k]),
            ints_attr("strides", &[s, s]),
            ints_attr("pads", &[p, p, p, p]),
            ints_attr("output_padding", &[extra, extra]),
        ];
        n.node("ConvTranspose", &strs(&operands), n.output, attributes);
        Ok(())
    }
}

fn strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

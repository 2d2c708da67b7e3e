//! Spectral normalisation's share of the linear ops (torch.nn.utils.spectral_norm): the state
//! tensors it adds, the weight the reference multiplies by, the buffers a pass keeps, and the
//! weight export writes.

use crate::export::onnx::OnnxNode;
use crate::gpu::Gpu;
use crate::graph::op::Reference;
use crate::graph::program::Param;
use crate::graph::{Init, ParamSpec};
use crate::kernels::spectral_norm::{self, SpectralBuffers, SpectralLayout};
use crate::kernels::Dispatch;
use crate::Result;

/// `weight_u` (rows) and `weight_v` (cols): N(0, 1) normalised, as PyTorch starts them, and
/// never stepped by an optimizer.
pub(super) fn state_specs(l: SpectralLayout) -> Vec<ParamSpec> {
    [("weight_u", l.rows), ("weight_v", l.cols)]
        .into_iter()
        .map(|(name, len)| ParamSpec {
            name: name.into(),
            shape: vec![len],
            init: Init::UnitNormal,
        })
        .collect()
}

/// The weight a layer multiplies by: W itself, or W / σ with this forward's σ, u and v.
pub(super) struct Weight<'a> {
    pub w: std::borrow::Cow<'a, [f64]>,
    pub spectral: Option<(SpectralLayout, f64, Vec<f64>, Vec<f64>)>,
}

pub(super) fn reference_weight<'a>(
    r: &'a Reference,
    spectral: Option<SpectralLayout>,
    train: bool,
) -> Weight<'a> {
    let w = &r.params[0];
    match spectral {
        None => Weight {
            w: w.into(),
            spectral: None,
        },
        Some(l) => {
            let n = r.params.len();
            let (u, v) = (&r.params[n - 2], &r.params[n - 1]);
            let (w_sn, sigma, u, v) = crate::reference::spectral_norm::forward(l, w, u, v, train);
            Weight {
                w: w_sn.into(),
                spectral: Some((l, sigma, u, v)),
            }
        }
    }
}

/// The u and v a train-mode forward leaves (PyTorch stores them back), at their indices among
/// the layer's tensors (the last two); nothing in eval mode or without spectral norm.
pub(super) fn reference_state(
    r: &Reference,
    spectral: Option<SpectralLayout>,
    train: bool,
) -> Vec<(usize, Vec<f64>)> {
    let Some(l) = spectral.filter(|_| train) else {
        return vec![];
    };
    let n = r.params.len();
    let (u, v) =
        crate::reference::spectral_norm::power_iteration(l, &r.params[0], &r.params[n - 2]);
    vec![(n - 2, u), (n - 1, v)]
}

/// A spectrally normalised weight's buffers in one pass: the persisted u and v (the net's),
/// and the pass's own W / σ and scratch.
pub(super) struct Normalised<'a> {
    pub layout: SpectralLayout,
    pub weight_u: &'a wgpu::Buffer,
    pub weight_v: &'a wgpu::Buffer,
    pub scratch: wgpu::Buffer,
    pub weight_sn: wgpu::Buffer,
}

impl Normalised<'_> {
    /// The normalisation of a layer whose parameters end in spectral norm's u and v, with its
    /// own scratch and W / σ.
    pub fn new<'p>(gpu: &Gpu, layout: SpectralLayout, params: &'p [Param]) -> Normalised<'p> {
        let n = params.len();
        Normalised {
            layout,
            weight_u: &params[n - 2].value,
            weight_v: &params[n - 1].value,
            scratch: gpu.storage("spectral norm scratch", spectral_norm::scratch_len(layout)),
            weight_sn: gpu.storage("weight / sigma", layout.len()),
        }
    }

    /// `weight_grad` (+)= the gradient through σ of the gradient for W / σ, which `first`
    /// writes into a scratch handed to it: one dispatch after the other.
    pub fn backward_through(
        &self,
        gpu: &Gpu,
        weight: &wgpu::Buffer,
        weight_grad: &wgpu::Buffer,
        accumulate: bool,
        first: impl FnOnce(&wgpu::Buffer) -> Result<Dispatch>,
    ) -> Result<Dispatch> {
        let dweight_sn = gpu.storage("d weight / sigma", self.layout.len());
        let through = spectral_norm::backward(
            gpu,
            self.layout,
            &self.buffers(weight),
            &dweight_sn,
            weight_grad,
            accumulate,
        )?;
        Ok(first(&dweight_sn)?.then(through))
    }

    pub fn buffers<'b>(&'b self, weight: &'b wgpu::Buffer) -> SpectralBuffers<'b> {
        SpectralBuffers {
            weight,
            weight_u: self.weight_u,
            weight_v: self.weight_v,
            scratch: &self.scratch,
            weight_sn: &self.weight_sn,
        }
    }
}

/// A linear layer's ONNX operands, its weight then its bias, as `specs` (the op's `params`) name
/// and shape them. Spectral norm is folded in: ONNX gets the weight the layer multiplies by in
/// eval mode, as `webgan sample` runs G, W / σ with σ = uᵀ W v from the stored u and v (no power
/// iteration), computed in f64 and named `weight` as `remove_spectral_norm` names it. u and v
/// are not written: nothing else reads them.
pub(super) fn onnx_parameters(
    n: &mut OnnxNode,
    specs: &[ParamSpec],
    spectral: Option<SpectralLayout>,
) -> std::result::Result<Vec<String>, String> {
    let Some(l) = spectral else {
        return n.parameters(specs);
    };
    let params = &n.weights.params;
    let sizes: Vec<usize> = specs.iter().map(|s| s.shape.iter().product()).collect();
    if params.len() != specs.len() || params.iter().map(Vec::len).ne(sizes.iter().copied()) {
        return Err(format!(
            "it has parameter tensors of {sizes:?} values, and {:?} were given",
            params.iter().map(Vec::len).collect::<Vec<_>>()
        ));
    }
    let wide = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
    let last = params.len() - 1;
    let (w, u, v) = (
        wide(&params[0]),
        wide(&params[last - 1]),
        wide(&params[last]),
    );
    let sigma = crate::reference::spectral_norm::sigma(l, &w, &u, &v);
    if !sigma.is_finite() || sigma == 0.0 {
        return Err(format!(
            "its spectral norm's σ = uᵀ W v is {sigma}, which no weight can be divided by"
        ));
    }
    let folded: Vec<f32> = w.iter().map(|a| (a / sigma) as f32).collect();
    let mut names = vec![n.weight("weight", &specs[0].shape, &folded)];
    // The bias, when there is one, sits between the weight and u, v.
    for (spec, values) in specs.iter().zip(params).take(last - 1).skip(1) {
        names.push(n.weight(&spec.name, &spec.shape, values));
    }
    Ok(names)
}

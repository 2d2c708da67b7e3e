//! Spectral normalisation's share of the linear ops (torch.nn.utils.spectral_norm): the state
//! tensors it adds, the weight the reference multiplies by, and the buffers a pass keeps.

use crate::graph::op::Reference;
use crate::graph::{Init, ParamSpec};
use crate::kernels::spectral_norm::{SpectralBuffers, SpectralLayout};

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

/// Export writes a layer's tensors as its ONNX node's operands; a spectrally normalised one
/// would need W / σ folded in first, which export does not do yet.
pub(super) fn no_onnx(spectral_norm: bool) -> std::result::Result<(), String> {
    if spectral_norm {
        return Err("a spectrally normalised layer has no ONNX form yet".into());
    }
    Ok(())
}

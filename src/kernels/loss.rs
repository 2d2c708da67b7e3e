//! The GAN losses of `shaders/loss.wgsl`: one dispatch writes the mean loss over a batch of
//! discriminator logits into a slot of a small stats buffer, and d(mean loss)/d logits.

use crate::error::shape_error;
use crate::gpu::{Access, Gpu, Shader};
use crate::kernels::{check_len, Dispatch};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "loss.wgsl+workgroup_sum.wgsl",
    source: concat!(
        include_str!("../../shaders/loss.wgsl"),
        include_str!("../../shaders/workgroup_sum.wgsl")
    ),
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    lanes: None,
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct LossParams {
    n: u32,
    kind: u32,
    sign: f32,
    scale: f32,
    slot: u32,
    accumulate_loss: u32,
    accumulate_grad: u32,
    _pad: u32,
}

/// A per-sample loss l(x) of a discriminator logit x; σ is the sigmoid, D = σ(x).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Binary cross-entropy on logits against a per-sample target t:
    /// l = −t log σ(x) − (1 − t) log(1 − σ(x)). Targets 1 on real and 0 on fake train D;
    /// 0.9 on real is one-sided label smoothing.
    Bce,
    /// The generator's original minimax loss log(1 − D(G(z))), to be minimised by G.
    Minimax,
    /// The generator's non-saturating loss −log D(G(z)): Bce with target 1, without a
    /// target buffer.
    NonSaturating,
    /// Wasserstein: l = sign·x. The critic uses −1 on real and +1 on fake, the generator −1.
    Linear { sign: f32 },
    /// Hinge: l = relu(1 + sign·x), the critic's relu(1 − x) on real (sign −1) and
    /// relu(1 + x) on fake (sign +1). The generator's hinge loss is `Linear { sign: -1.0 }`.
    Hinge { sign: f32 },
    /// Least squares (LSGAN, Mao et al. 2017): l = (x − t)², PyTorch's `MSELoss` against a
    /// per-sample target (1 real, 0 fake; the generator's is 1), as CycleGAN's
    /// `GANLoss('lsgan')` computes it.
    LeastSquares,
}

impl Loss {
    /// The kind number of `loss.wgsl` and the sign it uses.
    fn code(self) -> Result<(u32, f32)> {
        let (kind, sign) = match self {
            Loss::Bce => (0, 0.0),
            Loss::Minimax => (1, 0.0),
            Loss::NonSaturating => (2, 0.0),
            Loss::Linear { sign } => (3, sign),
            Loss::Hinge { sign } => (4, sign),
            Loss::LeastSquares => (5, 0.0),
        };
        if (3..=4).contains(&kind) && sign != 1.0 && sign != -1.0 {
            return Err(Error::Invalid(format!(
                "{self:?}: sign must be +1 (fake logits) or −1 (real logits, generator)"
            )));
        }
        Ok((kind, sign))
    }

    fn label(self) -> &'static str {
        match self {
            Loss::Bce => "bce loss",
            Loss::Minimax => "minimax loss",
            Loss::NonSaturating => "non-saturating loss",
            Loss::Linear { .. } => "wasserstein loss",
            Loss::Hinge { .. } => "hinge loss",
            Loss::LeastSquares => "least-squares loss",
        }
    }

    /// Whether the loss reads a target per sample ([`Loss::Bce`], [`Loss::LeastSquares`]).
    pub fn takes_targets(self) -> bool {
        matches!(self, Loss::Bce | Loss::LeastSquares)
    }
}

/// How [`loss`] writes its two outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossOptions {
    /// dlogits = scale · d(mean loss)/d logits. The loss in `stats` is not scaled.
    pub scale: f32,
    /// Add the mean into `stats[slot]` instead of overwriting it: D's real and fake halves
    /// summed into one slot.
    pub accumulate_loss: bool,
    /// Add into `dlogits` instead of overwriting it.
    pub accumulate_grad: bool,
}

impl Default for LossOptions {
    fn default() -> Self {
        LossOptions {
            scale: 1.0,
            accumulate_loss: false,
            accumulate_grad: false,
        }
    }
}

/// stats[slot] (+)= (1/n) Σ_i l(x_i, t_i) and dlogits[i] (+)= scale · (1/n) dl/dx(x_i, t_i)
/// for the logits x[0..n]. `targets` (t[0..n]) is required by [`Loss::Bce`] and refused by
/// the others. One workgroup: `n` is a batch size.
#[allow(clippy::too_many_arguments)]
pub fn loss(
    gpu: &Gpu,
    kind: Loss,
    logits: &wgpu::Buffer,
    targets: Option<&wgpu::Buffer>,
    n: usize,
    dlogits: &wgpu::Buffer,
    stats: &wgpu::Buffer,
    slot: usize,
    options: LossOptions,
) -> Result<Dispatch> {
    let (code, sign) = kind.code()?;
    let op = kind.label();
    if n == 0 {
        return Err(shape_error(op, "the batch is empty: a mean needs n ≥ 1"));
    }
    if n > u32::MAX as usize || slot > u32::MAX as usize {
        return Err(shape_error(
            op,
            format!("n = {n}, slot = {slot} exceed u32"),
        ));
    }
    check_len(op, "logits", logits, n)?;
    check_len(op, "dlogits", dlogits, n)?;
    check_len(op, "stats", stats, slot + 1)?;
    match (kind.takes_targets(), targets) {
        (true, None) => {
            return Err(Error::Invalid(format!(
                "the {op} needs a target buffer (1 real, 0 fake, 0.9 smoothed real)"
            )))
        }
        (true, Some(t)) => check_len(op, "targets", t, n)?,
        (false, Some(_)) => {
            return Err(Error::Invalid(format!(
                "{kind:?} takes no targets; Bce and LeastSquares are the losses with a target per sample"
            )))
        }
        (false, None) => {}
    }
    if !options.scale.is_finite() {
        return Err(Error::Invalid(format!(
            "{op}: scale {} is not finite",
            options.scale
        )));
    }
    let params = LossParams {
        n: n as u32,
        kind: code,
        sign,
        scale: options.scale,
        slot: slot as u32,
        accumulate_loss: options.accumulate_loss as u32,
        accumulate_grad: options.accumulate_grad as u32,
        _pad: 0,
    };
    // Losses without targets still need a buffer at that binding; the shader never reads it.
    let spare = targets.is_none().then(|| gpu.storage("unused targets", 1));
    let targets = targets.or(spare.as_ref()).expect("one of the two is set");
    let mut d = Dispatch::new(
        gpu,
        &SHADER,
        "loss",
        &[],
        &params,
        &[logits, targets, dlogits, stats],
        [1, 1, 1],
    )?;
    d.label = op;
    Ok(d)
}

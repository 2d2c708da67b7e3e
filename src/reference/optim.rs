//! The optimizers in f32, operation for operation as `optim.wgsl`, so the GPU matches them to
//! within a few rounding errors (WGSL's pow and sqrt need not be correctly rounded).

use crate::kernels::optim::{AdamConfig, SgdConfig};

/// One torch.optim.Adam step at step count `t` (1 on the first step):
/// g = grad + wd·p; m = β1 m + (1 − β1) g; v = β2 v + (1 − β2) g²;
/// p −= lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε).
pub fn adam(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], t: u32, c: &AdamConfig) {
    let t = t as f32;
    for i in 0..param.len() {
        let g = grad[i] + c.weight_decay * param[i];
        m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * g;
        v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * g * g;
        let m_hat = m[i] / (1.0 - c.beta1.powf(t));
        let v_hat = v[i] / (1.0 - c.beta2.powf(t));
        param[i] -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
    }
}

/// One torch.optim.SGD step with momentum μ (no dampening):
/// g = grad + wd·p; buf = μ·buf + g (= g on the first step, from a zeroed buf); p −= lr·buf.
pub fn sgd(param: &mut [f32], grad: &[f32], momentum: &mut [f32], c: &SgdConfig) {
    for i in 0..param.len() {
        let g = grad[i] + c.weight_decay * param[i];
        momentum[i] = c.momentum * momentum[i] + g;
        param[i] -= c.lr * momentum[i];
    }
}

/// p = clamp(p, −c, c)
pub fn clip(param: &mut [f32], c: f32) {
    for p in param {
        *p = p.clamp(-c, c);
    }
}

/// avg = β·avg + (1 − β)·param, in the order `optim.wgsl` computes it.
pub fn ema(avg: &mut [f32], param: &[f32], beta: f32) {
    for (a, &p) in avg.iter_mut().zip(param) {
        *a = beta * *a + (1.0 - beta) * p;
    }
}

// GAN losses on a batch of discriminator logits x[0..n]: one workgroup loops over the batch,
// writes the gradient of the mean loss and reduces the mean loss into one slot of `stats`.
//
// With softplus(x) = log(1 + e^x) and sigmoid s(x) = 1 / (1 + e^-x):
//   kind 0  bce             l = softplus(x) - x t                  dl/dx = s(x) - t
//   kind 1  minimax (G)     l = log(1 - s(x)) = -softplus(x)       dl/dx = -s(x)
//   kind 2  non-saturating  l = -log s(x) = softplus(-x)           dl/dx = -s(-x)
//   kind 3  linear          l = sign x                             dl/dx = sign
//   kind 4  hinge           l = relu(1 + sign x)                   dl/dx = sign if 1 + sign x > 0
//   kind 5  least squares   l = (x - t)^2                          dl/dx = 2 (x - t)
// bce's softplus(x) - x t is max(x, 0) - x t + log(1 + e^-|x|), PyTorch's stable form.

struct LossParams {
    n: u32,               // batch size
    kind: u32,            // see the table above
    sign: f32,            // linear and hinge: -1 on real logits (and for G), +1 on fake
    scale: f32,           // dlogits = scale * d(mean loss)/dx
    slot: u32,            // stats[slot] receives the mean loss
    accumulate_loss: u32, // 1: stats[slot] += mean instead of =
    accumulate_grad: u32, // 1: dlogits += gradient instead of =
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: LossParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;   // bce and least squares only
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

const GROUP: u32 = 256u;

// log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exponent is never positive, so nothing
// overflows at |x| = 100, and the result is exact to f32 rounding once e^-|x| < 2^-24.
fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

// 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0: again e^-|x| <= 1.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

// l(x, t): the per-sample loss.
fn loss_forward(x: f32, t: f32) -> f32 {
    switch p.kind {
        case 0u: { return softplus(x) - x * t; }
        case 1u: { return -softplus(x); }
        case 2u: { return softplus(-x); }
        case 3u: { return p.sign * x; }
        case 5u: { let d = x - t; return d * d; }
        default: { return max(1.0 + p.sign * x, 0.0); }
    }
}

// dl/dx at (x, t).
fn loss_backward(x: f32, t: f32) -> f32 {
    switch p.kind {
        case 0u: { return sigmoid(x) - t; }
        case 1u: { return -sigmoid(x); }
        // -s(-x), not s(x) - 1, which rounds to 0 once s(x) rounds to 1.
        case 2u: { return -sigmoid(-x); }
        case 3u: { return p.sign; }
        case 5u: { return 2.0 * (x - t); }
        default: { return select(0.0, p.sign, 1.0 + p.sign * x > 0.0); }
    }
}

// stats[slot] (+)= mean_i l(x_i, t_i); dlogits[i] (+)= scale / n * dl/dx(x_i, t_i). One workgroup.
@compute @workgroup_size(256)
fn loss(@builtin(local_invocation_index) l: u32) {
    // The mean's 1/n belongs in the gradient: d(mean)/dx_i = (1/n) dl/dx_i.
    let grad_scale = p.scale / f32(p.n);
    var sum = 0.0;
    for (var i = l; i < p.n; i += GROUP) {
        let x = logits[i];
        var t = 0.0;
        if (p.kind == 0u || p.kind == 5u) {
            t = targets[i];
        }
        sum += loss_forward(x, t);
        let g = grad_scale * loss_backward(x, t);
        if (p.accumulate_grad != 0u) {
            dlogits[i] += g;
        } else {
            dlogits[i] = g;
        }
    }
    let mean = workgroup_sum(l, sum) / f32(p.n);
    if (l == 0u) {
        if (p.accumulate_loss != 0u) {
            stats[p.slot] += mean;
        } else {
            stats[p.slot] = mean;
        }
    }
}

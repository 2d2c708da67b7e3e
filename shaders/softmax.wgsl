// Softmax cross-entropy on a batch of logits x[batch, classes] against integer labels y[batch]:
// one workgroup loops over the rows, writes the gradient of the mean loss and reduces the mean
// loss and the number of correct rows into two slots of `stats`.
//
// With m = max_c x_c (subtracted so that every exponent is ≤ 0 and the sum lies in [1, classes]):
//   p_c   = e^(x_c - m) / Σ_k e^(x_k - m)                        softmax
//   l     = -log p_y = log Σ_k e^(x_k - m) - (x_y - m)            per row
//   dl/dx_c = p_c - [c == y]
//
// A label y ≥ classes (labels are GPU data, so the Rust side cannot check them) is clamped to
// classes - 1: the row is scored against the last class and nothing is read out of bounds.

struct SoftmaxParams {
    batch: u32,           // rows
    classes: u32,         // logits per row
    scale: f32,           // dlogits = scale * d(mean loss)/dx
    slot: u32,            // stats[slot] receives the mean loss, stats[slot + 1] the correct count
    accumulate_loss: u32, // 1: stats[slot], stats[slot + 1] += instead of =
    accumulate_grad: u32, // 1: dlogits += gradient instead of =
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: SoftmaxParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;        // (batch, classes)
@group(0) @binding(2) var<storage, read> labels: array<u32>;        // (batch)
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>; // (batch, classes)
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

const GROUP: u32 = 256u;

// (loss, correct) per thread, summed together.
var<workgroup> partial: array<vec2<f32>, 256>;

// Tree sum of one pair per thread; every thread gets the total. The counts are integers below
// 2^24, so their f32 sums are exact.
fn workgroup_sum(l: u32, v: vec2<f32>) -> vec2<f32> {
    partial[l] = v;
    workgroupBarrier();
    for (var half = GROUP / 2u; half > 0u; half /= 2u) {
        if (l < half) {
            partial[l] += partial[l + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

// stats[slot] (+)= mean_r l_r; stats[slot + 1] (+)= #{r : argmax_c x_rc == y_r};
// dlogits[r, c] (+)= scale / batch * (p_rc - [c == y_r]). One workgroup.
@compute @workgroup_size(256)
fn cross_entropy(@builtin(local_invocation_index) l: u32) {
    // The mean's 1/batch belongs in the gradient: d(mean)/dx = (1/batch) dl/dx.
    let grad_scale = p.scale / f32(p.batch);
    var sum = vec2<f32>(0.0, 0.0);
    for (var r = l; r < p.batch; r += GROUP) {
        let row = r * p.classes;
        let y = min(labels[r], p.classes - 1u);
        // The row's max and its first index: ties go to the lowest class, as in argmax.
        var m = logits[row];
        var argmax = 0u;
        for (var c = 1u; c < p.classes; c++) {
            let x = logits[row + c];
            if (x > m) {
                m = x;
                argmax = c;
            }
        }
        var total = 0.0;
        for (var c = 0u; c < p.classes; c++) {
            total += exp(logits[row + c] - m);
        }
        sum.x += log(total) - (logits[row + y] - m);
        sum.y += select(0.0, 1.0, argmax == y);
        let inv = 1.0 / total;
        for (var c = 0u; c < p.classes; c++) {
            let softmax = exp(logits[row + c] - m) * inv;
            let g = grad_scale * (softmax - select(0.0, 1.0, c == y));
            if (p.accumulate_grad != 0u) {
                dlogits[row + c] += g;
            } else {
                dlogits[row + c] = g;
            }
        }
    }
    let totals = workgroup_sum(l, sum);
    if (l == 0u) {
        let mean = totals.x / f32(p.batch);
        if (p.accumulate_loss != 0u) {
            stats[p.slot] += mean;
            stats[p.slot + 1u] += totals.y;
        } else {
            stats[p.slot] = mean;
            stats[p.slot + 1u] = totals.y;
        }
    }
}

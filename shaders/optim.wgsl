// The f32 bindings and entry points of the optimizers (optim_common.wgsl comes first).

@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;        // adam: first moment
@group(0) @binding(5) var<storage, read_write> v: array<f32>;        // adam: second moment
@group(0) @binding(6) var<storage, read_write> momentum: array<f32>; // sgd: momentum buffer
@group(0) @binding(8) var<storage, read_write> avg: array<f32>;      // ema: the average

// Four elements a thread: the step's two bias corrections (two pow calls) once for the four,
// and a quarter of the invocations: pix2pix64's 32 M parameters took 272 ms a step on
// lavapipe one element a thread, 208 so. What is left is the loads and stores, which lavapipe
// makes lane by lane (the arithmetic alone is a few ms). Tensors of a multiple of 4 elements
// take optim_vec4.wgsl's adam4 instead.
@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let first = flat_id(wg, n, l) * 4u;
    if (first >= p.len) {
        return;
    }
    let c = adam_corrections();
    for (var j = 0u; j < 4u; j++) {
        let i = first + j;
        if (i < p.len) {
            // Each element loaded once: a load is a loop over the lanes on CPU adapters.
            let r = adam_update(vec4(param[i]), vec4(grad[i]), vec4(m[i]), vec4(v[i]), c);
            m[i] = r[1].x;
            v[i] = r[2].x;
            param[i] = r[0].x;
        }
    }
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i >= p.len) {
        return;
    }
    let g = grad[i] + hyper.weight_decay * param[i];
    // PyTorch sets the buffer to g on the first step; from a zeroed buffer mu 0 + g is g.
    let b = hyper.momentum * momentum[i] + g;
    momentum[i] = b;
    param[i] -= hyper.lr * b;
}

@compute @workgroup_size(256)
fn clip(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        param[i] = clamp(param[i], -p.clip, p.clip);
    }
}

@compute @workgroup_size(256)
fn ema(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        // As written in the reference, so that both round the same: two products and a sum.
        avg[i] = p.beta * avg[i] + (1.0 - p.beta) * param[i];
    }
}

@compute @workgroup_size(256)
fn ema_copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i < p.len) {
        avg[i] = param[i];
    }
}

// Adam over tensors of a multiple of 4 elements, a vec4 a thread (optim_common.wgsl comes
// first). lavapipe loads and stores a vec4 lane by lane, as it does 4 f32s, but pays its
// per-lane cost (the offset, the bounds check) once for the 4 floats: pix2pix64's Adam took
// 174-199 ms a step where optim.wgsl's adam, four f32s a thread in a loop, took 305.

@group(0) @binding(2) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;
// Unused here, declared so that the layout reads the same as optim.wgsl's.
@group(0) @binding(6) var<storage, read_write> momentum: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> avg: array<vec4<f32>>;

// As optim.wgsl's adam, operation for operation, so that both round alike.
@compute @workgroup_size(256)
fn adam4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i * 4u >= p.len) {
        return;
    }
    let c = adam_corrections();
    let w = param[i];
    let g = grad[i] + hyper.weight_decay * w;
    let m_new = hyper.beta1 * m[i] + (1.0 - hyper.beta1) * g;
    let v_new = hyper.beta2 * v[i] + (1.0 - hyper.beta2) * g * g;
    m[i] = m_new;
    v[i] = v_new;
    let m_hat = m_new / c.x;
    let v_hat = v_new / c.y;
    param[i] = w - hyper.lr * m_hat / (sqrt(v_hat) + hyper.eps);
}

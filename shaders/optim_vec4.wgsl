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

// optim.wgsl's adam for the vec4 at i.
@compute @workgroup_size(256)
fn adam4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(wg, n, l);
    if (i * 4u >= p.len) {
        return;
    }
    let r = adam_update(param[i], grad[i], m[i], v[i], adam_corrections());
    m[i] = r[1];
    v[i] = r[2];
    param[i] = r[0];
}

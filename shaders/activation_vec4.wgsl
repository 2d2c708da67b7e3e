// A vec4 a thread, for lengths of a multiple of 4 (activation_common.wgsl comes first): CPU
// adapters load a storage buffer lane by lane and pay the per-lane cost once for a vec4's 4
// floats.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> doutput: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dinput: array<vec4<f32>>;

@compute @workgroup_size(256)
fn forward4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= p.len) {
        return;
    }
    let x = input[i];
    output[i] = vec4<f32>(activate(x.x), activate(x.y), activate(x.z), activate(x.w));
}

@compute @workgroup_size(256)
fn backward4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= p.len) {
        return;
    }
    let x = input[i];
    let d = doutput[i] * vec4<f32>(derivative(x.x), derivative(x.y), derivative(x.z), derivative(x.w));
    if (p.accumulate != 0u) {
        dinput[i] += d;
    } else {
        dinput[i] = d;
    }
}

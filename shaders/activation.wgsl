// The f32 bindings and an element a thread (activation_common.wgsl comes first).

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;      // backward only
@group(0) @binding(3) var<storage, read_write> output: array<f32>; // forward only
@group(0) @binding(4) var<storage, read_write> dinput: array<f32>; // backward only

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i < p.len) {
        output[i] = activate(input[i]);
    }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.len) {
        return;
    }
    let d = doutput[i] * derivative(input[i]);
    if (p.accumulate != 0u) {
        dinput[i] += d;
    } else {
        dinput[i] = d;
    }
}

// The elementwise passes a vec4 a thread, for planes of a multiple of 4 pixels
// (instance_norm_common.wgsl comes first): a vec4 never straddles two planes. CPU adapters
// load a storage buffer lane by lane, and pay the per-lane cost once for a vec4's 4 floats,
// and the plane's statistics are loaded once for the 4.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> doutput: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dinput: array<vec4<f32>>;

// instance_norm.wgsl's normalize for the vec4 at i.
@compute @workgroup_size(256)
fn normalize4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= planes() * p.pixels) {
        return;
    }
    let plane = i * 4u / p.pixels;
    let c = plane % p.channels;
    let xhat = (input[i] - saved[plane]) * saved[planes() + plane];
    output[i] = rectify4(gamma(c) * xhat + beta(c));
}

// instance_norm.wgsl's backward_input for the vec4 at i.
@compute @workgroup_size(256)
fn backward_input4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= planes() * p.pixels) {
        return;
    }
    let P = planes();
    let plane = i * 4u / p.pixels;
    let c = plane % p.channels;
    let invstd = saved[P + plane];
    let xhat = (input[i] - saved[plane]) * invstd;
    var dy = doutput[i];
    if (RECTIFY != 0u) {
        let out = output[i];
        dy = vec4<f32>(unrectify(dy.x, out.x), unrectify(dy.y, out.y), unrectify(dy.z, out.z), unrectify(dy.w, out.w));
    }
    let sums = vec2<f32>(saved[2u * P + plane], saved[3u * P + plane]);
    let dx = vec4<f32>(
        input_gradient(dy.x, xhat.x, invstd, c, sums.x, sums.y),
        input_gradient(dy.y, xhat.y, invstd, c, sums.x, sums.y),
        input_gradient(dy.z, xhat.z, invstd, c, sums.x, sums.y),
        input_gradient(dy.w, xhat.w, invstd, c, sums.x, sums.y),
    );
    if (p.accumulate != 0u) {
        dinput[i] += dx;
    } else {
        dinput[i] = dx;
    }
}

// The tensors' bindings and every entry point (instance_norm_common.wgsl comes first).

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read_write> dinput: array<f32>;

// Per (plane, segment): the segment's mean and sum of squared deviations from it, two passes
// (E[x^2] - mean^2 would cancel catastrophically in f32 when |mean| >> std).
@compute @workgroup_size(256)
fn statistics_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.segments) {
        return;
    }
    let s = i % p.segments;
    let plane = i / p.segments;
    let base = plane * p.pixels;
    var sum = 0.0;
    for (var q = s; q < p.pixels; q += p.segments) {
        sum += input[base + q];
    }
    let mean = sum / f32(max(1u, segment_count(s)));
    var m2 = 0.0;
    for (var q = s; q < p.pixels; q += p.segments) {
        let d = input[base + q] - mean;
        m2 += d * d;
    }
    saved[partial_at(s, 0u, plane)] = mean;
    saved[partial_at(s, 1u, plane)] = m2;
}

// Per plane: the segments combined (Chan et al.'s pairwise formula) into the plane's mean and
// invstd.
@compute @workgroup_size(256)
fn statistics(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let plane = flat_id(g, n, l);
    if (plane >= planes()) {
        return;
    }
    var count = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var s = 0u; s < p.segments; s++) {
        let k = f32(segment_count(s));
        if (k == 0.0) {
            continue;
        }
        let d = saved[partial_at(s, 0u, plane)] - mean;
        let total = count + k;
        mean += d * k / total;
        m2 += saved[partial_at(s, 1u, plane)] + d * d * count * k / total;
        count = total;
    }
    saved[plane] = mean;
    saved[planes() + plane] = inverseSqrt(m2 / f32(p.pixels) + p.eps);
}

// y = gamma * (x - mean) * invstd + beta.
@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.pixels) {
        return;
    }
    let plane = i / p.pixels;
    let c = plane % p.channels;
    let xhat = (input[i] - saved[plane]) * saved[planes() + plane];
    output[i] = rectify(gamma(c) * xhat + beta(c));
}

// doutput at i, through the fused activation (RECTIFY).
fn dy_at(i: u32) -> f32 {
    if (RECTIFY == 0u) {
        return doutput[i];
    }
    return unrectify(doutput[i], output[i]);
}

// Per (plane, segment): the segment's sum dy and sum dy * xhat.
@compute @workgroup_size(256)
fn backward_partial(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.segments) {
        return;
    }
    let s = i % p.segments;
    let plane = i / p.segments;
    let base = plane * p.pixels;
    let mean = saved[plane];
    let invstd = saved[planes() + plane];
    var sums = vec2(0.0);
    for (var q = s; q < p.pixels; q += p.segments) {
        let dy = dy_at(base + q);
        sums += vec2(dy, dy * (input[base + q] - mean) * invstd);
    }
    saved[partial_at(s, 0u, plane)] = sums.x;
    saved[partial_at(s, 1u, plane)] = sums.y;
}

// Per plane: sum dy and sum dy * xhat over the segments, kept in saved for backward_params and
// backward_input.
@compute @workgroup_size(256)
fn backward_reduce(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let plane = flat_id(g, n, l);
    if (plane >= planes()) {
        return;
    }
    var total = vec2(0.0);
    for (var s = 0u; s < p.segments; s++) {
        total += vec2(saved[partial_at(s, 0u, plane)], saved[partial_at(s, 1u, plane)]);
    }
    saved[2u * planes() + plane] = total.x;
    saved[3u * planes() + plane] = total.y;
}

// Per channel (AFFINE only): dgamma and dbeta, the planes' sums gathered over the batch and
// written (or added) to daffine.
@compute @workgroup_size(256)
fn backward_params(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = flat_id(g, n, l);
    if (AFFINE == 0u || c >= p.channels) {
        return;
    }
    let C = p.channels;
    var total = vec2(0.0);
    for (var image = 0u; image < p.batch; image++) {
        let plane = image * C + c;
        total += vec2(saved[2u * planes() + plane], saved[3u * planes() + plane]);
    }
    if (p.accumulate != 0u) {
        daffine[c] += total.y;
        daffine[C + c] += total.x;
    } else {
        daffine[c] = total.y;
        daffine[C + c] = total.x;
    }
}

// dx = gamma * invstd / M * (M dy - sum dy - xhat * sum dy * xhat): the gradient through the
// plane's statistics as well as through the normalisation itself.
@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= planes() * p.pixels) {
        return;
    }
    let P = planes();
    let plane = i / p.pixels;
    let c = plane % p.channels;
    let invstd = saved[P + plane];
    let xhat = (input[i] - saved[plane]) * invstd;
    let dx = input_gradient(dy_at(i), xhat, invstd, c, saved[2u * P + plane], saved[3u * P + plane]);
    if (p.accumulate != 0u) {
        dinput[i] += dx;
    } else {
        dinput[i] = dx;
    }
}

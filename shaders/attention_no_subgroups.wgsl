// attention.wgsl's matmul and softmax entry points without the `subgroups` feature: every
// thread loads its own rows of A, and the softmax takes a thread per row. Appended to
// attention.wgsl by the host.

@compute @workgroup_size(64)
fn matmul(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) group: vec3<u32>) {
    matmul_block(li, group, 0u);
}

fn share_a(v: vec4<f32>, source: u32) -> vec4<f32> {
    return v;
}

// A thread per row: a "subgroup" of one lane.
@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    softmax_forward_rows(group, groups, l, 0u, 1u);
}

@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    softmax_backward_rows(group, groups, l, 0u, 1u);
}

fn lanes_max(v: f32) -> f32 {
    return v;
}

fn lanes_sum(v: f32) -> f32 {
    return v;
}

// attention.wgsl's entry points that use the `subgroups` feature: the matmul, whose 4 lanes side
// by side share the loads of their rows of A (see LANES), and the row softmax, whose lanes
// read a row together. Appended to attention.wgsl by the host.

// One dimension: naga gives `subgroup_invocation_id` only to 1-D workgroups.
@compute @workgroup_size(64)
fn matmul(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    matmul_block(li, group, lane);
}

fn share_a(v: vec4<f32>, source: u32) -> vec4<f32> {
    return subgroupShuffle(v, source);
}

@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
    softmax_forward_rows(group, groups, l, lane, size);
}

@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) l: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
    softmax_backward_rows(group, groups, l, lane, size);
}

fn lanes_max(v: f32) -> f32 {
    return subgroupMax(v);
}

fn lanes_sum(v: f32) -> f32 {
    return subgroupAdd(v);
}

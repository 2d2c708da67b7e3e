// conv.wgsl's GEMM entry point on a device with the `subgroups` feature: 4 lanes side by side
// share the loads of their rows of A, and with 8-lane subgroups 2 lanes one above the other
// their B (see LANES). Appended to conv.wgsl by the host.

// One dimension: naga gives `subgroup_invocation_id` only to 1-D workgroups.
override GROUP_XY: u32 = GROUP_X * GROUP_Y;

@compute @workgroup_size(GROUP_XY)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    gemm(li, group, lane);
}

// v as lane `source` of the subgroup holds it.
fn from_lane(v: vec4<f32>, source: u32) -> vec4<f32> {
    return subgroupShuffle(v, source);
}

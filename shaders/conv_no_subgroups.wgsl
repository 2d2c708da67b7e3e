// conv.wgsl's GEMM entry point without the `subgroups` feature: every thread loads its own rows
// of A and B. Appended to conv.wgsl by the host.

override GROUP_XY: u32 = GROUP_X * GROUP_Y;

@compute @workgroup_size(GROUP_XY)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) group: vec3<u32>) {
    gemm(li, group, 0u);
}

fn from_lane(v: vec4<f32>, source: u32) -> vec4<f32> {
    return v;
}

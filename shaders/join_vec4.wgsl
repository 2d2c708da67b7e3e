// A vec4 a thread, for channels of a multiple of 4 pixels (join_common.wgsl comes first):
// CPU adapters load a storage buffer lane by lane and pay the per-lane cost once for a vec4's
// 4 floats.

@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

fn store4(i: u32, v: vec4<f32>) {
    if (p.accumulate == 1u) {
        dst[i] = dst[i] + v;
    } else {
        dst[i] = v;
    }
}

// join.wgsl's copy_channels for the vec4 at i of the copied block.
@compute @workgroup_size(256)
fn copy_channels4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= p.batch * p.channels * p.pixels) {
        return;
    }
    let at = copy_places(i * 4u) / 4u;
    store4(at.y, a[at.x]);
}

// join.wgsl's add for the vec4 at i.
@compute @workgroup_size(256)
fn add4(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i * 4u >= p.batch * p.channels * p.pixels) {
        return;
    }
    store4(i, a[i] + b[i]);
}

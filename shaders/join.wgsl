// The f32 bindings and an element a thread (join_common.wgsl comes first).

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn store(i: u32, v: f32) {
    if (p.accumulate == 1u) {
        dst[i] = dst[i] + v;
    } else {
        dst[i] = v;
    }
}

// dst[n, dst_offset + c, q] (+)= a[n, src_offset + c, q] for c < channels.
@compute @workgroup_size(256)
fn copy_channels(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    let block = p.channels * p.pixels;
    if (i >= p.batch * block) {
        return;
    }
    let at = copy_places(i);
    store(at.y, a[at.x]);
}

// dst[i] (+)= a[i] + b[i] over the batch × channels × pixels elements.
@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    store(i, a[i] + b[i]);
}

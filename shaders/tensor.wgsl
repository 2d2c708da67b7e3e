// The small glue between layers: fill, scale, gathers of rows by index (the dataset is u8,
// packed four to a u32), per-channel sums (bias gradients) and one-workgroup reductions
// (losses and discriminator accuracy over a batch).

struct TensorParams {
    len: u32,       // elements written (fill, scale, gathers) or reduced (reduce)
    row_len: u32,   // elements per row (gathers), or pixels per channel (channel_sum)
    rows: u32,      // rows in the source (gathers), or batch (channel_sum)
    channels: u32,  // channel_sum
    value: f32,     // fill value, scale factor
    kind: u32,      // reduce: 0 sum, 1 mean, 2 count of elements > 0, 3 count of elements <= 0
    slot: u32,      // reduce: index of dst written; copy_at: where in dst the copy starts
    accumulate: u32,// 1: add into dst instead of overwriting it
}

@group(0) @binding(0) var<uniform> p: TensorParams;
// Raw 32-bit words: f32 sources are read through bitcast, u8 sources unpacked.
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// dst[i] = value
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i < p.len) {
        dst[i] = p.value;
    }
}

// dst[i] *= value
@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i < p.len) {
        dst[i] *= p.value;
    }
}

// dst[b, j] = src_u8[index[b], j] / 127.5 - 1: a batch of images scaled to [-1, 1].
@compute @workgroup_size(256)
fn gather_u8(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.len) {
        return;
    }
    let b = i / p.row_len;
    let row = min(index[b], p.rows - 1u);
    let byte = row * p.row_len + i % p.row_len;
    let word = src[byte / 4u];
    let v = (word >> ((byte % 4u) * 8u)) & 0xffu;
    dst[i] = f32(v) / 127.5 - 1.0;
}

// dst[b, j] = src_f32[index[b], j]
@compute @workgroup_size(256)
fn gather_f32(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.len) {
        return;
    }
    let b = i / p.row_len;
    let row = min(index[b], p.rows - 1u);
    dst[i] = bitcast<f32>(src[row * p.row_len + i % p.row_len]);
}

// dst[c] (+)= sum over batch and pixels of src[b, c, pixel]: one workgroup per channel.
@compute @workgroup_size(256)
fn channel_sum(@builtin(workgroup_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let c = g.x;
    var s = 0.0;
    let count = p.rows * p.row_len;
    for (var i = l; i < count; i += GROUP) {
        let b = i / p.row_len;
        s += bitcast<f32>(src[(b * p.channels + c) * p.row_len + i % p.row_len]);
    }
    let total = workgroup_sum(l, s);
    if (l == 0u) {
        if (p.accumulate != 0u) {
            dst[c] += total;
        } else {
            dst[c] = total;
        }
    }
}

// dst[slot] (+)= sum, mean or count over src[0..len]: one workgroup.
@compute @workgroup_size(256)
fn reduce(@builtin(local_invocation_index) l: u32) {
    var s = 0.0;
    for (var i = l; i < p.len; i += GROUP) {
        let v = bitcast<f32>(src[i]);
        switch p.kind {
            case 2u: { s += select(0.0, 1.0, v > 0.0); }
            case 3u: { s += select(0.0, 1.0, v <= 0.0); }
            default: { s += v; }
        }
    }
    var total = workgroup_sum(l, s);
    if (p.kind == 1u) {
        total /= f32(max(p.len, 1u));
    }
    if (l == 0u) {
        if (p.accumulate != 0u) {
            dst[p.slot] += total;
        } else {
            dst[p.slot] = total;
        }
    }
}

// dst[slot + i] = src[i] for i < len: a chunk's rows into their place in a larger tensor.
@compute @workgroup_size(256)
fn copy_at(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i < p.len) {
        dst[p.slot + i] = bitcast<f32>(src[i]);
    }
}

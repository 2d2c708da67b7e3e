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
    slot: u32,      // reduce: index of dst written; copy_at: where in dst the copy starts;
                    // channel_sum: slices of each channel's sum
    accumulate: u32,// 1: add into dst instead of overwriting it
    src_at: u32,    // copy_at: where in src the copy starts
    pad0: u32,
    pad1: u32,
    pad2: u32,
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

// dst[slice * channels + c] (+)= the sum of src[b, c, pixel] over slice `slice` of channel
// c's (b, pixel), in order, one thread each, for `slot` slices; a second run over those
// partial sums (rows = slices, row_len = 1, one slice) adds them up. Threads, not a workgroup
// per channel: CPU adapters run a workgroup's barriers by switching between all of its
// invocations, and the workgroup's tree sum cost lavapipe 2.6 ms per bias gradient of
// CycleGAN's residual blocks (256 channels of 256 pixels).
@compute @workgroup_size(256)
fn channel_sum(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let t = flat_id(g, n, l);
    let slices = p.slot;
    if (t >= slices * p.channels) {
        return;
    }
    let c = t % p.channels;
    let slice = t / p.channels;
    let count = p.rows * p.row_len;
    let per = (count + slices - 1u) / slices;
    let j0 = min(count, slice * per);
    let j1 = min(count, j0 + per);
    // Walk (b, pixel) from j0: `at` jumps to the next image's channel c after each row.
    var i = j0 % p.row_len;
    var at = (j0 / p.row_len * p.channels + c) * p.row_len + i;
    let skip = (p.channels - 1u) * p.row_len;
    var s = 0.0;
    for (var j = j0; j < j1; j++) {
        s += bitcast<f32>(src[at]);
        at += 1u;
        i += 1u;
        if (i == p.row_len) {
            i = 0u;
            at += skip;
        }
    }
    if (p.accumulate != 0u) {
        dst[t] += s;
    } else {
        dst[t] = s;
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

// dst[slot + i] = src[src_at + i] for i < len (added to with accumulate): a chunk's rows into
// their place in a larger tensor, or out of it.
@compute @workgroup_size(256)
fn copy_at(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i < p.len) {
        let v = bitcast<f32>(src[p.src_at + i]);
        if (p.accumulate != 0u) {
            dst[p.slot + i] += v;
        } else {
            dst[p.slot + i] = v;
        }
    }
}

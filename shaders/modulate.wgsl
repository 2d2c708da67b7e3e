// Per-sample channel vectors, what class conditioning in SAGAN's paper form is made of:
//
//   embedding   p[n, k] = mean over pixels of x[n, k, :]      pool (x: one-hot class planes)
//               y[n, m] = sum_k W[k, m] p[n, k]               embed_forward (nn.Embedding's W)
//   modulation  y[n, c, i] = s[n, c] x[n, c, i] + s[n, C + c] modulate_forward (s = [γ; β])
//   projection  y[n] = sum_c e[n, c] sum_i h[n, c, i]         project_forward
//
// and their backward:
//
//   dW[k, m] = sum_n p[n, k] dy[n, m]                         embed_weight_grad
//   dx[n, k, i] = sum_m W[k, m] dy[n, m] / pixels             embed_input_grad
//   dx[n, c, i] = s[n, c] dy[n, c, i]                         modulate_input_grad
//   ds[n, c] = sum_i dy x,  ds[n, C + c] = sum_i dy           modulate_scale_grad
//   dh[n, c, i] = dy[n] e[n, c]                               project_map_grad
//   de[n, c] = dy[n] sum_i h[n, c, i]                         project_vector_grad
//
// Every output element is written by the one thread that computes it (gather: WGSL has no f32
// atomics); the sums run over at most a map's pixels, the batch or the classes.

struct ModulateParams {
    batch: u32,
    channels: u32,  // embedding: classes K; modulation, projection: C
    pixels: u32,
    width: u32,     // embedding: its vectors' length M
}

@group(0) @binding(0) var<uniform> p: ModulateParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// 1: add into out (a gradient that meets another one); else overwrite it.
override ACCUMULATE: u32 = 0u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * 256u + local;
}

fn store(i: u32, v: f32) {
    if (ACCUMULATE == 1u) {
        out[i] += v;
    } else {
        out[i] = v;
    }
}

// out[n, k] = mean over pixels of a[n, k, :].
@compute @workgroup_size(256)
fn pool(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels) {
        return;
    }
    var sum = 0.0;
    for (var px = 0u; px < p.pixels; px++) {
        sum += a[i * p.pixels + px];
    }
    out[i] = sum / f32(p.pixels);
}

// out[n, m] = sum_k W[k, m] P[n, k], with P = a ([batch, K]) and W = b ([K, M]).
@compute @workgroup_size(256)
fn embed_forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.width) {
        return;
    }
    let row = i / p.width;
    let m = i % p.width;
    var sum = 0.0;
    for (var k = 0u; k < p.channels; k++) {
        sum += b[k * p.width + m] * a[row * p.channels + k];
    }
    out[i] = sum;
}

// dW[k, m] (+)= sum_n P[n, k] dy[n, m], with P = a and dy = b.
@compute @workgroup_size(256)
fn embed_weight_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.channels * p.width) {
        return;
    }
    let k = i / p.width;
    let m = i % p.width;
    var sum = 0.0;
    for (var row = 0u; row < p.batch; row++) {
        sum += a[row * p.channels + k] * b[row * p.width + m];
    }
    store(i, sum);
}

// dx[n, k, px] (+)= sum_m W[k, m] dy[n, m] / pixels, with W = a and dy = b: one thread per
// plane, its sum taken once and spread over the plane's pixels (D's planes have a map's
// pixels, each of which would otherwise take the whole sum again).
@compute @workgroup_size(256)
fn embed_input_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let plane = flat_id(g, n, l);
    if (plane >= p.batch * p.channels) {
        return;
    }
    let row = plane / p.channels;
    let k = plane % p.channels;
    var sum = 0.0;
    for (var m = 0u; m < p.width; m++) {
        sum += a[k * p.width + m] * b[row * p.width + m];
    }
    let value = sum / f32(p.pixels);
    for (var px = 0u; px < p.pixels; px++) {
        store(plane * p.pixels + px, value);
    }
}

// out[n, c, px] = s[n, c] x[n, c, px] + s[n, C + c], with x = a and s = b.
@compute @workgroup_size(256)
fn modulate_forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let row = i / (p.channels * p.pixels);
    let c = (i / p.pixels) % p.channels;
    let s = row * 2u * p.channels + c;
    out[i] = b[s] * a[i] + b[s + p.channels];
}

// dx[n, c, px] (+)= s[n, c] dy[n, c, px], with dy = a and s = b.
@compute @workgroup_size(256)
fn modulate_input_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let row = i / (p.channels * p.pixels);
    let c = (i / p.pixels) % p.channels;
    store(i, b[row * 2u * p.channels + c] * a[i]);
}

// ds[n, c] (+)= sum_px dy x and ds[n, C + c] (+)= sum_px dy, with dy = a and x = b: one thread
// per element of ds.
@compute @workgroup_size(256)
fn modulate_scale_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * 2u * p.channels) {
        return;
    }
    let row = i / (2u * p.channels);
    let j = i % (2u * p.channels);
    let c = j % p.channels;
    let base = (row * p.channels + c) * p.pixels;
    var sum = 0.0;
    for (var px = 0u; px < p.pixels; px++) {
        sum += a[base + px] * select(1.0, b[base + px], j < p.channels);
    }
    store(i, sum);
}

// out[n] = sum_c e[n, c] sum_px h[n, c, px], with h = a and e = b.
@compute @workgroup_size(256)
fn project_forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let row = flat_id(g, n, l);
    if (row >= p.batch) {
        return;
    }
    var sum = 0.0;
    for (var c = 0u; c < p.channels; c++) {
        var pooled = 0.0;
        let base = (row * p.channels + c) * p.pixels;
        for (var px = 0u; px < p.pixels; px++) {
            pooled += a[base + px];
        }
        sum += b[row * p.channels + c] * pooled;
    }
    out[row] = sum;
}

// dh[n, c, px] (+)= dy[n] e[n, c], with dy = a and e = b.
@compute @workgroup_size(256)
fn project_map_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let row = i / (p.channels * p.pixels);
    let c = (i / p.pixels) % p.channels;
    store(i, a[row] * b[row * p.channels + c]);
}

// de[n, c] (+)= dy[n] sum_px h[n, c, px], with dy = a and h = b.
@compute @workgroup_size(256)
fn project_vector_grad(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels) {
        return;
    }
    let row = i / p.channels;
    var pooled = 0.0;
    for (var px = 0u; px < p.pixels; px++) {
        pooled += b[i * p.pixels + px];
    }
    store(i, a[row] * pooled);
}

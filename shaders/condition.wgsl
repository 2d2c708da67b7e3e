// Class conditioning: labels gathered by batch index, one-hot class channels appended to a
// tensor (z as [batch, nz, 1] for G, images as [batch, c, pixels] for D), and the image
// channels taken back out of a gradient.

struct ConditionParams {
    batch: u32,
    channels: u32,  // channels of x (before the appended classes)
    pixels: u32,
    classes: u32,
}

@group(0) @binding(0) var<uniform> p: ConditionParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_labels: array<u32>;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * 256u + local;
}

// out_labels[b] = labels[index[b]]: the classes of a batch drawn by index.
@compute @workgroup_size(256)
fn gather_labels(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = flat_id(g, n, l);
    if (b < p.batch) {
        out_labels[b] = labels[index[b]];
    }
}

// out[b, ch, i] = x[b, ch, i] for ch < channels, else 1 where ch − channels is b's class.
@compute @workgroup_size(256)
fn append_onehot(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    let width = p.channels + p.classes;
    if (i >= p.batch * width * p.pixels) {
        return;
    }
    let b = i / (width * p.pixels);
    let ch = (i / p.pixels) % width;
    let px = i % p.pixels;
    if (ch < p.channels) {
        out[i] = x[(b * p.channels + ch) * p.pixels + px];
    } else {
        out[i] = select(0.0, 1.0, labels[b] == ch - p.channels);
    }
}

// out[b, ch, i] = x[b, ch, i] for ch < channels of x's channels + classes: the gradient of
// the image channels alone (the one-hot channels are constants).
@compute @workgroup_size(256)
fn take_channels(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.batch * p.channels * p.pixels) {
        return;
    }
    let b = i / (p.channels * p.pixels);
    let rest = i % (p.channels * p.pixels);
    out[i] = x[b * (p.channels + p.classes) * p.pixels + rest];
}

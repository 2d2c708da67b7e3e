// Dropout in train mode (PyTorch's `Dropout(p)`): each element is kept with probability 1 - p
// and scaled by 1 / (1 - p), so that its expectation is the input's; in eval mode the layer is
// the identity and records nothing.
//
//   forward:  mask = (u >= threshold),  output = input * mask * scale
//   backward: dinput (+)= doutput * mask * scale
//
// u is a Philox word that random.wgsl's `fill` wrote into `mask` just before (stream and step
// chosen there), threshold = floor(p 2^32), so P(drop) = threshold / 2^32, within 2^-32 of p.
// `forward` replaces each word by the element's mask, 0 or 1, which stays for the backward.

struct DropoutParams {
    len: u32,
    threshold: u32,  // floor(p 2^32): words below it drop their element
    scale: f32,      // 1 / (1 - p)
    accumulate: u32, // backward: 1 adds into dinput
}

@group(0) @binding(0) var<uniform> p: DropoutParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> doutput: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<storage, read_write> dinput: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// The random word in mask[i] becomes the element's mask; output[i] = input[i] · mask · scale.
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.len) {
        return;
    }
    let m = select(0u, 1u, mask[i] >= p.threshold);
    mask[i] = m;
    // A product, as PyTorch's: a NaN or inf in the input shows whether dropped or not.
    output[i] = input[i] * (f32(m) * p.scale);
}

// dinput[i] (+)= doutput[i] · mask[i] · scale, with the forward's mask.
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let i = flat_id(g, n, l);
    if (i >= p.len) {
        return;
    }
    let d = doutput[i] * (f32(mask[i]) * p.scale);
    if (p.accumulate != 0u) {
        dinput[i] += d;
    } else {
        dinput[i] = d;
    }
}

// pix2pix's and CycleGAN's training-time jitter (junyanz/pytorch-CycleGAN-and-pix2pix,
// data/base_dataset.py, --preprocess resize_and_crop): each image, already resized to the load
// size L, is cropped to S x S at an offset drawn per sample and, unless --no_flip, mirrored left
// to right half the time. On x [batch, channels, L, L] into y [batch, channels, S, S]:
//
//   ox, oy  uniform in [0, L - S], inclusive     random.randint(0, L - S)
//   flip    u > 1/2 for u uniform in [0, 1)      random.random() > 0.5
//   y[i, c, r, k] = x[i, c, oy + r, ox + k]            without the flip
//                 = x[i, c, oy + r, ox + (S - 1 - k)]  with it: the crop, then its mirror
//
// random.wgsl's fill (seed, stream and step chosen there) writes one Philox block per sample
// into `crops`, four words w0..w3; `draw` turns them in place into the sample's crop:
//   crops[4i]      ox = floor(w0 (L - S + 1) / 2^32)
//   crops[4i + 1]  oy = floor(w1 (L - S + 1) / 2^32)
//   crops[4i + 2]  flip = 1 when flipping is on and (w2 >> 8) / 2^24 > 1/2, else 0
//   crops[4i + 3]  0 (w3 is drawn and unused)
// so a sample's crop depends on (seed, stream, step, i, L - S, flipping) alone, never on the
// channels: a pair's two images, of any channel counts, crop alike from the same draw.
// `crop` then gathers one output element per invocation. Forward only: the jitter is applied
// to real images, which need no gradient.

struct JitterParams {
    batch: u32,    // samples
    channels: u32, // planes per sample
    load: u32,     // L: the input's side
    crop: u32,     // S: the output's side, 1 <= S <= L
    flip: u32,     // 1: mirror half the samples; 0: never (--no_flip)
    len: u32,      // batch * channels * S * S: output elements
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: JitterParams;
// [batch, 4] u32: Philox words until `draw`, then each sample's (ox, oy, flip, 0).
@group(0) @binding(1) var<storage, read_write> crops: array<u32>;
// [batch, channels, L, L]
@group(0) @binding(2) var<storage, read> input: array<f32>;
// [batch, channels, S, S]
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

const GROUP: u32 = 256u;
const WORDS: u32 = 4u;
const HALF: u32 = 0x800000u; // 2^23: (u >> 8) / 2^24 > 1/2 exactly when (u >> 8) > HALF

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// floor(u n / 2^32), uniform in [0, n) to within n / 2^32: the high word of the 64-bit product,
// by 16-bit halves as random.wgsl's mul_wide (WGSL has no 64-bit integers, and no includes).
fn below(u: u32, n: u32) -> u32 {
    let u0 = u & 0xffffu;
    let u1 = u >> 16u;
    let n0 = n & 0xffffu;
    let n1 = n >> 16u;
    let p01 = u0 * n1;
    let p10 = u1 * n0;
    let mid = ((u0 * n0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return u1 * n1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// Per sample: its Philox block becomes its crop (see the header).
@compute @workgroup_size(256)
fn draw(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let sample = flat_id(g, n, l);
    if (sample >= p.batch) {
        return;
    }
    let w = sample * WORDS;
    let offsets = p.load - p.crop + 1u;
    crops[w] = below(crops[w], offsets);
    crops[w + 1u] = below(crops[w + 1u], offsets);
    crops[w + 2u] = select(0u, 1u, p.flip == 1u && (crops[w + 2u] >> 8u) > HALF);
    crops[w + 3u] = 0u;
}

// output[i, c, r, k] from the sample's crop. Indices fit u32: the host bounds both tensors.
@compute @workgroup_size(256)
fn crop(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let o = flat_id(g, n, l);
    if (o >= p.len) {
        return;
    }
    let k = o % p.crop;
    let rows = o / p.crop;
    let r = rows % p.crop;
    let plane = rows / p.crop; // i * channels + c
    let w = (plane / p.channels) * WORDS;
    let ox = crops[w];
    let oy = crops[w + 1u];
    let column = select(k, p.crop - 1u - k, crops[w + 2u] == 1u);
    output[o] = input[(plane * p.load + oy + r) * p.load + ox + column];
}

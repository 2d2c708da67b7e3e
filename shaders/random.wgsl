// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011). Each block of four outputs is a pure function of
//   key     = (seed_lo, seed_hi)
//   counter = (block, stream, step, 0)      block = element / 4, step = counter[counter_index]
// so the numbers are the same on every platform, streams never overlap, and a step recorded
// many times into one submission draws fresh numbers when `advance` bumps the step on the GPU.
// The last counter word is 0: room for a 64-bit step should 2^32 steps ever be too few.

struct RandomParams {
    len: u32,           // fill: elements written
    kind: u32,          // fill: 0 bits, 1 uniform (-1, 1), 2 normal N(0, 1), 3 indices [0, n)
    n: u32,             // indices: rows of the dataset sampled from
    stream: u32,        // counter word 1
    seed_lo: u32,       // key word 0
    seed_hi: u32,       // key word 1
    counter_index: u32, // counter[counter_index] is the step, counter word 2
    blocks: u32,        // fill: ceil(len / 4); philox: blocks computed
}

@group(0) @binding(0) var<uniform> p: RandomParams;
// fill reads the step here and advance increments it; philox reads 6 words per block from it:
// c0 c1 c2 c3 k0 k1.
@group(0) @binding(1) var<storage, read_write> counter: array<u32>;
// u32 words: f32 results are stored through bitcast.
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const GROUP: u32 = 64u;

// Philox multipliers and Weyl key increments (golden ratio, sqrt(3) - 1).
const M0: u32 = 0xD2511F53u;
const M1: u32 = 0xCD9E8D57u;
const W0: u32 = 0x9E3779B9u;
const W1: u32 = 0xBB67AE85u;

const TWO_POW_M23: f32 = 1.1920928955078125e-7; // 2^-23
const TWO_POW_M24: f32 = 5.9604644775390625e-8; // 2^-24
const HALF_PI: f32 = 1.5707964;
const SQRT_2: f32 = 1.4142135;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// (hi, lo) of the 64-bit product a * b. WGSL has no 64-bit integers, so split into 16-bit
// halves: a * b = a1 b1 2^32 + (a0 b1 + a1 b0) 2^16 + a0 b0. Each partial product is below
// 2^32; the column at 2^16 adds three 16-bit pieces (< 2^18), whose carry goes to hi.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b); // u32 multiplication wraps: the low word
}

// Ten rounds of c = (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)),
// the key bumped by (W0, W1) between rounds.
fn philox(counter_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var c = counter_in;
    var k = key_in;
    for (var round = 0u; round < 10u; round++) {
        let p0 = mul_wide(M0, c.x);
        let p1 = mul_wide(M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k += vec2<u32>(W0, W1);
    }
    return c;
}

// Uniform in (-1, 1) from the top 24 bits k = u >> 8: x = (2k + 1 - 2^24) / 2^24, an odd
// multiple of 2^-24. (u >> 7) | 1 = 2k + 1 and |2k + 1 - 2^24| < 2^24, so every step is exact
// in f32: the GPU and the CPU agree bit for bit, and the 2^24 values are symmetric about 0.
fn uniform_signed(u: u32) -> f32 {
    return f32(i32((u >> 7u) | 1u) - (1i << 24u)) * TWO_POW_M24;
}

// Uniform in (0, 1]: (k + 1) / 2^24, exact; never 0, so its log is finite (>= -16.7).
fn uniform_positive(u: u32) -> f32 {
    return f32((u >> 8u) + 1u) * TWO_POW_M24;
}

// Box-Muller needs ln, cos and sin, which WGSL's builtins give only loosely (Vulkan allows
// 2^-11 absolute error for sin and cos, 2^-21 for log near 1, where sqrt(-2 ln u) magnifies
// it). These polynomials (Cephes logf, sinf, cosf; about 1 ulp) use only +, * and bit
// operations, so every GPU and the CPU reference agree to within contraction into fma.

// ln x for a normal x > 0: x = m 2^e exactly from its bits, m moved into [sqrt(1/2), sqrt(2)),
// ln m = f - f^2 / 2 + f^3 P(f) for f = m - 1, then e ln 2 added in two parts (0.693359375 has
// few bits, so e times it is exact).
fn ln(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    var e = f32(i32(bits >> 23u) - 127);
    var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
    if (m >= SQRT_2) {
        m *= 0.5;
        e += 1.0;
    }
    let f = m - 1.0;
    let z = f * f;
    var y = ((((((((7.0376836e-2 * f - 1.151461e-1) * f + 1.16769984e-1) * f
        - 1.2420141e-1) * f + 1.4249323e-1) * f - 1.6668057e-1) * f
        + 2.0000714e-1) * f - 2.4999994e-1) * f + 3.333333e-1) * f * z;
    y += -2.1219444e-4 * e;
    y += -0.5 * z;
    return (f + y) + 0.693359375 * e;
}

// (cos phi, sin phi) for |phi| <= pi/4, by their Taylor-like minimax polynomials in phi^2.
fn cos_sin(phi: f32) -> vec2<f32> {
    let z = phi * phi;
    let s = ((-1.9515296e-4 * z + 8.332161e-3) * z - 1.6666655e-1) * z * phi + phi;
    let c = (((2.4433157e-5 * z - 1.3887316e-3) * z + 4.1666646e-2) * z * z
        - 0.5 * z) + 1.0;
    return vec2<f32>(c, s);
}

// Box-Muller: r = sqrt(-2 ln u) for u uniform in (0, 1] and theta uniform on the circle give
// (r cos theta, r sin theta), two independent N(0, 1). theta = (q + t) pi/2 with the quadrant q
// from the top 2 bits of b and t = (2k + 1 - 2^22) / 2^23 in (-1/2, 1/2) from the next 22
// (exact), so the polynomials see only |t pi/2| < pi/4 and the quadrant is a rotation by
// quarter turns: (c, s) -> (-s, c).
fn box_muller(a: u32, b: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * ln(uniform_positive(a)));
    let t = f32(i32(((b >> 7u) & 0x7fffffu) | 1u) - (1i << 22u)) * TWO_POW_M23;
    var v = cos_sin(t * HALF_PI);
    let q = b >> 30u;
    if ((q & 1u) != 0u) {
        v = vec2<f32>(-v.y, v.x);
    }
    if ((q & 2u) != 0u) {
        v = -v;
    }
    return r * v;
}

// out[i] for i in block*4 .. block*4 + 4: one Philox block per thread.
@compute @workgroup_size(64)
fn fill(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let block = flat_id(g, n, l);
    if (block >= p.blocks) {
        return;
    }
    let step = counter[p.counter_index];
    let bits = philox(vec4<u32>(block, p.stream, step, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    var v = bits;
    switch p.kind {
        case 1u: {
            v = bitcast<vec4<u32>>(vec4<f32>(uniform_signed(bits.x), uniform_signed(bits.y),
                                             uniform_signed(bits.z), uniform_signed(bits.w)));
        }
        case 2u: {
            v = bitcast<vec4<u32>>(vec4<f32>(box_muller(bits.x, bits.y), box_muller(bits.z, bits.w)));
        }
        case 3u: {
            // floor(u n / 2^32): the high word of u * n, unbiased to within n / 2^32.
            v = vec4<u32>(mul_wide(bits.x, p.n).x, mul_wide(bits.y, p.n).x,
                          mul_wide(bits.z, p.n).x, mul_wide(bits.w, p.n).x);
        }
        default: {}
    }
    let first = block * 4u;
    let count = min(4u, p.len - first);
    for (var j = 0u; j < count; j++) {
        out[first + j] = v[j];
    }
}

// counter[counter_index] += 1: the next step's numbers, with no write from the CPU.
@compute @workgroup_size(1)
fn advance() {
    counter[p.counter_index] += 1u;
}

// out[4b .. 4b + 4] = philox(counter[6b .. 6b + 4], counter[6b + 4 .. 6b + 6]): the bare
// generator on explicit counters and keys, for known-answer tests.
@compute @workgroup_size(64)
fn philox_blocks(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = flat_id(g, n, l);
    if (b >= p.blocks) {
        return;
    }
    let w = b * 6u;
    let c = vec4<u32>(counter[w], counter[w + 1u], counter[w + 2u], counter[w + 3u]);
    let k = vec2<u32>(counter[w + 4u], counter[w + 5u]);
    let r = philox(c, k);
    for (var j = 0u; j < 4u; j++) {
        out[b * 4u + j] = r[j];
    }
}

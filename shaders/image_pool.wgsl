// CycleGAN's image pool (Shrivastava et al. 2017; junyanz/pytorch-CycleGAN-and-pix2pix's
// ImagePool.query): D sees a history of fakes, not only the latest batch. For each image i of
// the batch, in order:
//
//   stored < pool_size   pool[stored] = image i, return image i       (the pool fills)
//   otherwise            p uniform in [0, 1)
//                        p > 1/2: j uniform in [0, pool_size), return pool[j], pool[j] = image i
//                        else:    return image i
//
// Each image's decision is a function of (i, step) alone, so every invocation computes the same
// decisions, and one invocation per element position e of an image walks the batch in order
// moving element e of each image: it alone reads and writes pool[.][e] and output[.][e], so a
// later image that draws the slot an earlier one just wrote reads it (the reference's order)
// with no atomics and no barriers.
//
// stored, the images held before this step, is not a mutable count but follows from the step:
// step = counter[counter_index], q = step - first_step queries came before this one (0 if the
// step is below first_step), each storing min(batch, room) images, so
//   stored = pool_size if q >= fill_steps = ceil(pool_size / batch), else q * batch (< pool_size)
// and image i meets stored + i images already held.
//
// The random words come from random.wgsl's fill (stream and step chosen there), two per image:
//   words[2i]      p = (u >> 8) / 2^24, so p > 1/2 exactly when (u >> 8) > 2^23
//   words[2i + 1]  j = floor(u * pool_size / 2^32), random.wgsl's indices

struct PoolParams {
    batch: u32,         // images per query
    image_len: u32,     // f32 elements per image
    pool_size: u32,     // images the pool holds once full; 1 to 1000
    counter_index: u32, // counter[counter_index] is the step
    first_step: u32,    // the step of the first query, when the pool is empty
    fill_steps: u32,    // ceil(pool_size / batch): queries after which the pool is full
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: PoolParams;
@group(0) @binding(1) var<storage, read> counter: array<u32>;
// [batch, 2] Philox words, written by random.wgsl's fill just before.
@group(0) @binding(2) var<storage, read> words: array<u32>;
// [batch, image_len]
@group(0) @binding(3) var<storage, read> input: array<f32>;
// [pool_size, image_len]: slot k holds the k-th image stored, or the one swapped in since.
@group(0) @binding(4) var<storage, read_write> pool: array<f32>;
// [batch, image_len]
@group(0) @binding(5) var<storage, read_write> output: array<f32>;

const GROUP: u32 = 256u;
// Returned for "image i itself": no slot is read.
const NONE: u32 = 0xffffffffu;
const HALF: u32 = 0x800000u; // 2^23: (u >> 8) / 2^24 > 1/2 exactly when (u >> 8) > HALF

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

// floor(u * n / 2^32) for n < 2^16: with u = a 2^16 + b, u n / 2^32 = (a n + b n / 2^16) / 2^16,
// and flooring b n / 2^16 first changes nothing, as a n is whole. a n < 2^32, no overflow.
fn index_below(u: u32, n: u32) -> u32 {
    return ((u >> 16u) * n + (((u & 0xffffu) * n) >> 16u)) >> 16u;
}

// Images held before this query, from the step (see the header).
fn stored_before() -> u32 {
    let step = counter[p.counter_index];
    let q = select(0u, step - p.first_step, step >= p.first_step);
    return select(q * p.batch, p.pool_size, q >= p.fill_steps);
}

// output[i][e] and pool[.][e] for every image i in order, for one element position e.
@compute @workgroup_size(256)
fn query(@builtin(workgroup_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let e = flat_id(g, n, l);
    if (e >= p.image_len) {
        return;
    }
    let stored = stored_before();
    for (var i = 0u; i < p.batch; i++) {
        let x = input[i * p.image_len + e];
        let held = stored + i;
        var slot = NONE;
        var swapped = false;
        if (held < p.pool_size) {
            // Filling: the image goes into the next free slot and comes back itself.
            slot = held;
        } else if ((words[2u * i] >> 8u) > HALF) {
            slot = index_below(words[2u * i + 1u], p.pool_size);
            swapped = true;
        }
        var y = x;
        if (slot != NONE) {
            let at = slot * p.image_len + e;
            if (swapped) {
                y = pool[at];
            }
            pool[at] = x;
        }
        output[i * p.image_len + e] = y;
    }
}

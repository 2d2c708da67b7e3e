// Instance normalisation of an NCHW tensor [batch, channels, pixels] (pixels = height * width),
// PyTorch's `InstanceNorm2d` as CycleGAN uses it (track_running_stats=False: train and eval
// alike normalise by the instance's own statistics). Each plane (n, c) is normalised over its
// M = pixels values:
//
//   mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2   (biased)
//   xhat = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps)
//   y = gamma_c * xhat + beta_c   (AFFINE; otherwise y = xhat, gamma = 1, beta = 0)
//   backward, per plane:   dx = gamma_c * invstd / M * (M dy - sum dy - xhat * sum dy * xhat)
//   backward, per channel: dbeta_c = sum_n sum dy,   dgamma_c = sum_n sum dy * xhat
//
// Entry points, in the order a step runs them: statistics_partial, statistics, normalize
// (forward); backward_partial, backward_reduce, [backward_params with AFFINE], backward_input
// (backward). A plane of a 256×256 image has 65,536 values, so its reductions are split as
// batch norm's are: one thread per (plane, segment) sums every segments-th value of the plane
// (segment s takes pixels s, s + S, s + 2S, ...: neighbouring threads read neighbouring
// pixels), then one thread per plane combines its segments. No workgroup memory, no barrier.
//
// This part is shared: instance_norm.wgsl appends the tensors' bindings as f32s and every entry
// point; instance_norm_vec4.wgsl appends them as vec4s and the elementwise passes a vec4 a
// thread, for planes of a multiple of 4 pixels.
//
// Buffers, one layout for forward and backward (7 storage buffers, WebGPU allows 8):
//   affine  [2, channels] = [gamma; beta]     (a spare element without AFFINE)
//   daffine [2, channels] = [dgamma; dbeta]   (a spare element without AFFINE)
//   saved   [4 + 2 * segments, planes] = [mean; invstd; sum dy; sum dy * xhat], from forward
//           to backward, then two rows per segment of partial results; planes = batch * channels

struct InstanceNormParams {
    batch: u32,
    channels: u32,
    pixels: u32,
    eps: f32,
    accumulate: u32, // backward_params: 1 adds into daffine; backward_input: 1 adds into dinput
    segments: u32,   // S: how many threads share each plane's reductions
    slope: f32,      // RECTIFY: r(y) = slope * y for y <= 0
    pad1: u32,
}

// 1: affine parameters [gamma; beta] are read and their gradients written. A constant, so that
// the plain layer reads no parameters.
override AFFINE: u32 = 0u;

// 1: the ReLU or leaky ReLU after the layer is done here (the plan fused it): the output is
// r(y), y for y > 0 and slope * y otherwise (slope >= 0), and doutput is d loss / d r(y),
// passed back through r where r(y) > 0, which is where y > 0 (at 0 the left slope, as the
// activation kernel). A forward and a backward pass over the tensor fewer.
override RECTIFY: u32 = 0u;

@group(0) @binding(0) var<uniform> p: InstanceNormParams;
@group(0) @binding(3) var<storage, read> affine: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<storage, read_write> daffine: array<f32>;

const GROUP: u32 = 256u;

fn flat_id(group: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (group.y * groups.x + group.x) * GROUP + local;
}

fn planes() -> u32 {
    return p.batch * p.channels;
}

// Row r of saved's per-segment partial results: [4 + 2 s + r, planes].
fn partial_at(s: u32, r: u32, plane: u32) -> u32 {
    return (4u + 2u * s + r) * planes() + plane;
}

// How many pixels segment s of a plane holds: s, s + S, ... below M.
fn segment_count(s: u32) -> u32 {
    if (s >= p.pixels) {
        return 0u;
    }
    return (p.pixels - s + p.segments - 1u) / p.segments;
}

fn gamma(c: u32) -> f32 {
    if (AFFINE == 0u) {
        return 1.0;
    }
    return affine[c];
}

fn beta(c: u32) -> f32 {
    if (AFFINE == 0u) {
        return 0.0;
    }
    return affine[p.channels + c];
}

// dx for one element (see the header), from its plane's saved sums.
fn input_gradient(dy: f32, xhat: f32, invstd: f32, c: u32, sum_dy: f32, sum_dy_xhat: f32) -> f32 {
    let m = f32(p.pixels);
    return gamma(c) * invstd / m * (m * dy - sum_dy - xhat * sum_dy_xhat);
}

fn rectify(y: f32) -> f32 {
    if (RECTIFY == 0u) {
        return y;
    }
    return select(p.slope * y, y, y > 0.0);
}

fn rectify4(y: vec4<f32>) -> vec4<f32> {
    if (RECTIFY == 0u) {
        return y;
    }
    return select(p.slope * y, y, y > vec4(0.0));
}

// dy through the fused activation, whose output is `out` (read only with RECTIFY).
fn unrectify(dy: f32, out: f32) -> f32 {
    return select(p.slope * dy, dy, out > 0.0);
}

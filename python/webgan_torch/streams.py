"""webgan's random draws in NumPy: Philox4x32-10 and the transforms `shaders/random.wgsl` (and
`src/reference/random.rs`) apply, so that PyTorch can draw the batches, noise, classes, InfoGAN's
codes and DiffAugment parameters webgan's step draws, number for number. A draw is named by (seed,
stream, step); the streams are webgan's (`src/streams.rs`).

The integer draws (indices, uniforms, augmentation parameters) are exact; the normals use
webgan's own f32 polynomials for ln, cos and sin, so they agree with webgan's CPU reference bit
for bit and with a GPU to its rounding of sqrt and fused multiply-adds.
"""

import numpy as np

BATCH_INDICES = 1
NOISE = 2
FAKE_CLASSES = 3  # a conditional G's classes, or InfoGAN's categorical code
PENALTY_MIX = 5
CONTINUOUS_CODES = 6
AUGMENT = 10

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)
_F = np.float32


def philox(counter, key):
    """Philox4x32-10 of counters (four uint32 arrays) under `key` (two ints)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = key
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & _MASK,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & _MASK)
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return [c.astype(np.uint32) for c in (c0, c1, c2, c3)]


def bits(seed, stream, step, n):
    """n words: word i is word i % 4 of Philox with key (seed_lo, seed_hi) and counter
    (i / 4, stream, step, 0)."""
    blocks = -(-n // 4)
    i = np.arange(blocks, dtype=np.uint64)
    full = lambda v: np.full(blocks, v, dtype=np.uint64)  # noqa: E731
    words = philox([i, full(stream), full(step), full(0)], (seed & 0xFFFFFFFF, seed >> 32))
    return np.stack(words, axis=1).reshape(-1)[:n]


def index(u, n):
    """Uniform in [0, n): the high word of u · n."""
    return ((u.astype(np.uint64) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)


def indices(seed, stream, step, n, count):
    return index(bits(seed, stream, step, count), n)


def uniform(seed, stream, step, count):
    """In (−1, 1): (2k + 1 − 2²⁴) / 2²⁴ from the top 24 bits k, exact in f32."""
    u = bits(seed, stream, step, count)
    k = ((u >> np.uint32(7)) | np.uint32(1)).astype(np.int64) - (1 << 24)
    return k.astype(_F) * _F(2.0**-24)


_LN_P = [7.0376836e-2, -1.1514610e-1, 1.16769984e-1, -1.2420141e-1, 1.4249323e-1,
         -1.6668057e-1, 2.0000714e-1, -2.4999994e-1, 3.3333331e-1]


def _ln(x):
    """ln in f32 as webgan computes it (Cephes logf), elementwise."""
    b = x.view(np.uint32)
    e = ((b >> np.uint32(23)).astype(np.int32) - 127).astype(_F)
    m = ((b & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(_F)
    big = m >= _F(np.sqrt(2.0))
    m = np.where(big, m * _F(0.5), m).astype(_F)
    e = np.where(big, e + _F(1), e).astype(_F)
    f = m - _F(1)
    z = f * f
    y = _F(0)
    for c in _LN_P:
        y = y * f + _F(c)
    y = y * f * z
    y = y + _F(-2.1219444e-4) * e
    y = y + _F(-0.5) * z
    return (f + y) + _F(355.0 / 512.0) * e


def _cos_sin(phi):
    z = phi * phi
    s = ((_F(-1.9515296e-4) * z + _F(8.332161e-3)) * z - _F(1.6666655e-1)) * z * phi + phi
    c = (((_F(2.4433157e-5) * z - _F(1.3887316e-3)) * z + _F(4.1666646e-2)) * z * z
         - _F(0.5) * z) + _F(1)
    return c, s


def normal(seed, stream, step, count):
    """N(0, 1) by Box–Muller in f32: words (0, 1) and (2, 3) of each block give a pair."""
    w = bits(seed, stream, step, count + count % 2)
    a, b = w[0::2], w[1::2]
    u = ((a >> np.uint32(8)) + np.uint32(1)).astype(_F) * _F(2.0**-24)
    r = np.sqrt(_F(-2) * _ln(u)).astype(_F)
    t = ((((b >> np.uint32(7)) & np.uint32(0x7FFFFF)) | np.uint32(1)).astype(np.int64)
         - (1 << 22)).astype(_F) * _F(2.0**-23)
    c, s = _cos_sin(t * _F(np.pi / 2))
    q = b >> np.uint32(30)
    odd = (q & np.uint32(1)) != 0
    c, s = np.where(odd, -s, c), np.where(odd, c, s)
    half = (q & np.uint32(2)) != 0
    c, s = np.where(half, -c, c), np.where(half, -s, s)
    out = np.empty(len(w), dtype=_F)
    out[0::2], out[1::2] = r * c, r * s
    return out[:count]


def augment_params(seed, k, step, batch, height, width):
    """DiffAugment's parameters of augmented pass `k` at `step`, per sample, as webgan draws
    them: brightness, saturation, contrast, the shift [dy, dx] and the cutout's centre [y, x]."""
    w = bits(seed, AUGMENT + k, step, 8 * batch).reshape(batch, 8)
    unit = lambda u: (u >> np.uint32(8)).astype(_F) * _F(2.0**-24)  # noqa: E731
    sh, sw = height // 8 + (height % 8 + 4) // 8, width // 8 + (width % 8 + 4) // 8
    ch, cw = height // 2 + height % 2, width // 2 + width % 2
    return {
        "brightness": unit(w[:, 0]) - _F(0.5),
        "saturation": _F(2) * unit(w[:, 1]),
        "contrast": _F(0.5) + (w[:, 2] >> np.uint32(9)).astype(_F) * _F(2.0**-23),
        "shift": np.stack([index(w[:, 3], 2 * sh + 1) - sh, index(w[:, 4], 2 * sw + 1) - sw], 1),
        "cutout": np.stack([index(w[:, 5], height + 1 - ch % 2), index(w[:, 6], width + 1 - cw % 2)], 1),
    }

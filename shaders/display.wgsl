// Draws a grid of generated images straight from the buffer G wrote them into, with no
// readback: the same picture as `train::sample::grid_rgba` (images [count, channels, size,
// size] in [−1, 1], `columns` wide, a `gap`-pixel dark frame), each grid pixel `scale` × `scale`
// screen pixels. A full-screen triangle; every fragment finds its image and pixel.

struct Params {
    count: u32,
    channels: u32,
    size: u32,
    columns: u32,
    scale: u32,
    gap: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
    let corner = vec2f(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4f(corner * 2.0 - 1.0, 0.0, 1.0);
}

// grid_rgba's byte, as a unorm value that the render target stores back as that same byte.
fn byte(v: f32) -> f32 {
    return round((clamp(v, -1.0, 1.0) + 1.0) * 127.5) / 255.0;
}

@fragment
fn fs(@builtin(position) position: vec4f) -> @location(0) vec4f {
    let background = vec4f(40.0 / 255.0, 40.0 / 255.0, 40.0 / 255.0, 1.0);
    let p = vec2u(position.xy) / params.scale;
    let gap = params.gap;
    if (p.x < gap || p.y < gap) {
        return background;
    }
    let cell = params.size + gap;
    let q = p - vec2u(gap);
    let column = q.x / cell;
    let row = q.y / cell;
    let x = q.x % cell;
    let y = q.y % cell;
    let i = row * params.columns + column;
    if (x >= params.size || y >= params.size || column >= params.columns || i >= params.count) {
        return background;
    }
    let plane = params.size * params.size;
    let base = i * params.channels * plane + y * params.size + x;
    let last = (params.channels - 1u) * plane;
    return vec4f(
        byte(images[base]),
        byte(images[base + min(plane, last)]),
        byte(images[base + min(2u * plane, last)]),
        1.0,
    );
}

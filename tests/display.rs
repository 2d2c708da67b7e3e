//! The sample grid drawn on the GPU (`display.wgsl`, a render pipeline reading G's output
//! buffer) is pixel for pixel the CPU's `grid_rgba`, scaled up, on odd shapes.

use crate::common;

use webgan::display::{GridDisplay, GridShape};
use webgan::train::sample::grid_rgba;

/// Renders `images` through the display into an RGBA texture and reads it back.
fn draw(images: &[f32], shape: GridShape, scale: u32) -> (u32, u32, Vec<u8>) {
    let gpu = common::gpu();
    let buffer = gpu.storage_from("images", images);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let display = GridDisplay::new(gpu, format, &buffer, shape, scale).expect("a display");
    let (w, h) = (display.width, display.height);
    let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("target"),
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let row = (w * 4).next_multiple_of(256);
    let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (row * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    display.record(&mut encoder, &texture.create_view(&Default::default()));
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: None,
            },
        },
        texture.size(),
    );
    gpu.queue.submit([encoder.finish()]);
    readback
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.expect("mapped"));
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    let data = readback.slice(..).get_mapped_range().expect("mapped range");
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        rgba.extend_from_slice(&data[(y * row) as usize..][..(w * 4) as usize]);
    }
    (w, h, rgba)
}

fn check(count: u32, channels: u32, size: u32, columns: u32, scale: u32, seed: u64) {
    let mut rng = common::Rng::new(seed);
    // Beyond ±1 too: the display clamps as grid_rgba does.
    let images: Vec<f32> = (0..count * channels * size * size)
        .map(|_| rng.uniform(-1.3, 1.3) as f32)
        .collect();
    let shape = GridShape {
        count,
        channels,
        size,
        columns,
    };
    let (w, h, got) = draw(&images, shape, scale);
    let (gw, gh, want) = grid_rgba(
        &images,
        count as usize,
        channels as usize,
        size as usize,
        columns as usize,
    );
    assert_eq!((w, h), (gw * scale, gh * scale), "{shape:?}");
    assert_eq!(shape.pixels(), (gw, gh));
    for y in 0..h {
        for x in 0..w {
            let g = &got[((y * w + x) * 4) as usize..][..4];
            let o = (((y / scale) * gw + x / scale) * 4) as usize;
            assert_eq!(
                g,
                &want[o..o + 4],
                "{shape:?} scale {scale}: pixel ({x}, {y})"
            );
        }
    }
}

#[test]
fn gray_grid_matches_grid_rgba() {
    check(5, 1, 7, 3, 1, 1);
    check(64, 1, 28, 8, 2, 2);
}

#[test]
fn colour_grid_with_a_partial_last_row_matches_grid_rgba() {
    check(7, 3, 5, 4, 3, 3);
    check(2, 3, 9, 8, 1, 4);
}

#[test]
fn bad_shapes_are_refused() {
    let gpu = common::gpu();
    let buffer = gpu.storage("images", 10);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let shape = GridShape {
        count: 2,
        channels: 1,
        size: 3,
        columns: 2,
    };
    assert!(GridDisplay::new(gpu, format, &buffer, shape, 1).is_err());
    let ok = GridShape { size: 2, ..shape };
    assert!(GridDisplay::new(gpu, format, &buffer, ok, 1).is_ok());
    assert!(GridDisplay::new(gpu, format, &buffer, GridShape { channels: 4, ..ok }, 1).is_err());
    assert!(GridDisplay::new(gpu, format, &buffer, ok, 0).is_err());
}

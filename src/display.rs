//! The sample grid drawn straight from GPU memory into a render target (the page's WebGPU
//! canvas): `shaders/display.wgsl`, a render pipeline that reads G's output buffer. Its CPU
//! reference is [`crate::train::sample::grid_rgba`].

use crate::gpu::{Access, Gpu, Shader};
use crate::{Error, Result};

pub const SHADER: Shader = Shader {
    name: "display.wgsl",
    source: include_str!("../shaders/display.wgsl"),
    bindings: &[Access::Uniform, Access::Read],
    lanes: None,
};

/// The grid's gap between images, in grid pixels (as `grid_rgba`'s).
const GAP: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
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

/// Which images, laid out how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridShape {
    pub count: u32,
    pub channels: u32,
    pub size: u32,
    pub columns: u32,
}

impl GridShape {
    /// The image under a point of the grid given as fractions (0 ≤ f < 1) of its width and
    /// height, as (its index, its pixel x, y); None on a gap, an empty cell or outside.
    pub fn locate(&self, fx: f64, fy: f64) -> Option<(u32, u32, u32)> {
        let (w, h) = self.pixels();
        if !(0.0..1.0).contains(&fx) || !(0.0..1.0).contains(&fy) {
            return None;
        }
        let (gx, gy) = ((fx * w as f64) as u32, (fy * h as f64) as u32);
        let cell = self.size + GAP;
        let (cx, cy) = (gx.checked_sub(GAP)?, gy.checked_sub(GAP)?);
        let (x, y) = (cx % cell, cy % cell);
        let columns = self.columns.clamp(1, self.count.max(1));
        let (column, row) = (cx / cell, cy / cell);
        let index = row * columns + column;
        (x < self.size && y < self.size && column < columns && index < self.count)
            .then_some((index, x, y))
    }

    /// Width and height of the grid in grid pixels, as `grid_rgba` lays it out.
    pub fn pixels(&self) -> (u32, u32) {
        let columns = self.columns.clamp(1, self.count.max(1));
        let rows = self.count.div_ceil(columns);
        (
            columns * (self.size + GAP) + GAP,
            rows * (self.size + GAP) + GAP,
        )
    }
}

pub struct GridDisplay {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    /// Render-target size in pixels: the grid times the scale.
    pub width: u32,
    pub height: u32,
}

impl GridDisplay {
    /// Draws `shape` from `images` ([count, channels, size, size] f32, at least that long) at
    /// `scale` screen pixels per grid pixel into targets of `format`.
    pub fn new(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        images: &wgpu::Buffer,
        shape: GridShape,
        scale: u32,
    ) -> Result<GridDisplay> {
        let GridShape {
            count,
            channels,
            size,
            columns,
        } = shape;
        if count == 0 || size == 0 || !(1..=3).contains(&channels) || scale == 0 {
            return Err(Error::Invalid(format!(
                "cannot display {count} images of {channels}×{size}×{size} at scale {scale}"
            )));
        }
        let needed = count as u64 * (channels * size * size) as u64 * 4;
        if images.size() < needed {
            return Err(Error::Invalid(format!(
                "the image buffer holds {} bytes, not the {needed} of {count} images",
                images.size()
            )));
        }
        let columns = columns.clamp(1, count);
        let (w, h) = GridShape { columns, ..shape }.pixels();
        let params = gpu.uniform(
            "display params",
            &Params {
                count,
                channels,
                size,
                columns,
                scale,
                gap: GAP,
                ..Default::default()
            },
        );
        let device = &gpu.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(SHADER.name),
            source: wgpu::ShaderSource::Wgsl(SHADER.source.into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(SHADER.name),
            entries: &[
                entry(0, wgpu::BufferBindingType::Uniform),
                entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
            ],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(SHADER.name),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: images.as_entire_binding(),
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(SHADER.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(SHADER.name),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs"),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            multiview_mask: None,
            cache: None,
        });
        Ok(GridDisplay {
            pipeline,
            bind_group,
            width: w * scale,
            height: h * scale,
        })
    }

    /// Records the draw into `target` (which must be `width` × `height`).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("sample grid"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_of_the_grid_finds_its_image_and_pixel() {
        // 10 images of 28 pixels, 8 a row: 8·30 + 2 = 242 wide, 2·30 + 2 = 62 high.
        let shape = GridShape {
            count: 10,
            channels: 1,
            size: 28,
            columns: 8,
        };
        assert_eq!(shape.pixels(), (242, 62));
        let at = |x: u32, y: u32| shape.locate((x as f64 + 0.5) / 242.0, (y as f64 + 0.5) / 62.0);
        assert_eq!(at(2, 2), Some((0, 0, 0)));
        assert_eq!(at(29, 29), Some((0, 27, 27)));
        assert_eq!(at(30, 5), None, "the gap after the first image");
        assert_eq!(at(32, 5), Some((1, 0, 3)));
        assert_eq!(at(2 + 30 + 4, 2 + 30 + 7), Some((9, 4, 7)));
        assert_eq!(at(2 + 2 * 30, 40), None, "the second row has two images");
        assert_eq!(at(0, 10), None);
        assert_eq!(shape.locate(1.0, 0.5), None);
        assert_eq!(shape.locate(-0.1, 0.5), None);
        assert_eq!(shape.locate(f64::NAN, 0.5), None);
    }
}

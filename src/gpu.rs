//! The GPU context: adapter selection, a device with WebGPU's default limits, buffer
//! helpers, a pipeline cache and asynchronous readback that works natively and in a browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// A device and its queue, plus the pipelines built on it so far.
pub struct Gpu {
    /// Kept so that a page can make a canvas surface for this device.
    pub instance: wgpu::Instance,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    /// Where every conv packs its operands (see `kernels::conv`): made on first use, replaced
    /// by larger ones when a layer needs more. Dispatches built earlier keep the textures they
    /// were bound to; any serves, since dispatches run in order.
    /// A and B pack into textures (see [`PACKED_B_WIDTH`]), with the floats each may hold:
    /// what was asked for, where the textures hold whole rows.
    conv_scratch: Mutex<Option<ConvScratch>>,
    /// Bound in a conv's texture slots where its entry point uses neither (one for reading,
    /// one for writing: a texture may not be both in one dispatch).
    spare_textures: [wgpu::TextureView; 2],
    /// Bound in buffer slots an entry point does not use (see [`Gpu::spare_read`] and
    /// [`Gpu::spare_write`]), shared by every kernel of the device.
    spare_buffers: [wgpu::Buffer; 1 + SPARE_WRITES],
    /// Where Winograd's convs keep their GEMMs' products for the output transform, shared in
    /// the same way (a texture per pass would hold CycleGAN's 72 residual convs' products, 4
    /// MB each at 128, all at once), with the floats it holds. A texture, as packed B is, for
    /// the finishing passes to load.
    conv_products: Mutex<Option<(wgpu::TextureView, usize)>>,
    /// Floats a conv may pack into one binding, when capped below the device's limit (0: not
    /// capped): lets tests cut small images into pieces as large ones are on any device.
    conv_binding_cap: std::sync::atomic::AtomicUsize,
    /// Whether the device has WebGPU's `subgroups` feature and kernels may use it (see
    /// [`Lanes`]). Natively `WEBGAN_SUBGROUPS=off` turns it off, to compare or test without.
    pub subgroups: bool,
    /// Lanes of every subgroup where the device has one size and the start-up probe found it
    /// (else 0): conv.wgsl shares more between the lanes of a subgroup of 8.
    pub subgroup_size: u32,
}

/// The textures convs pack A and B into, and the floats each may hold: what was asked for.
#[derive(Clone)]
struct ConvScratch {
    a: wgpu::TextureView,
    b: wgpu::TextureView,
    a_floats: usize,
    b_floats: usize,
}

impl ConvScratch {
    fn new(device: &wgpu::Device, a_floats: usize, b_floats: usize) -> ConvScratch {
        ConvScratch {
            a: vec4_texture(device, "conv packed A", a_floats),
            b: packed_b_texture(device, b_floats),
            a_floats,
            b_floats,
        }
    }
}

/// Spare buffers for writable slots: as many as one dispatch of the conv engine leaves unused.
const SPARE_WRITES: usize = 3;

/// A 16-byte storage buffer, the least a binding of `array<vec4<f32>>` takes, for an unused
/// slot.
fn spare_buffer(device: &wgpu::Device) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("unbound"),
        size: 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    })
}

/// A texture of [`PACKED_B_WIDTH`] texels a row holding at least `floats` (4 a texel),
/// readable and writable by kernels.
fn packed_b_texture(device: &wgpu::Device, floats: usize) -> wgpu::TextureView {
    vec4_texture(device, "conv packed B", floats)
}

/// The texture kept in `slot`, holding at least `floats`: the current one, or a larger one
/// that replaces it.
fn shared_texture(
    device: &wgpu::Device,
    slot: &Mutex<Option<(wgpu::TextureView, usize)>>,
    label: &str,
    floats: usize,
) -> wgpu::TextureView {
    let mut kept = slot.lock().expect("texture lock poisoned");
    if kept.as_ref().is_none_or(|k| floats > k.1) {
        *kept = Some((vec4_texture(device, label, floats), floats));
    }
    kept.clone().expect("set just above").0
}

/// A texture laid out as packed B, named `label`.
fn vec4_texture(device: &wgpu::Device, label: &str, floats: usize) -> wgpu::TextureView {
    let rows = floats.div_ceil(4 * PACKED_B_WIDTH).max(1);
    // The planner bounds a pack by a storage binding (128 MiB: 2,048 rows) before asking.
    assert!(
        rows <= device.limits().max_texture_dimension_2d as usize,
        "{label}: {floats} floats exceed the texture limit"
    );
    device
        .create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: PACKED_B_WIDTH as u32,
                height: rows as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::STORAGE_BINDING,
            view_formats: &[],
        })
        .create_view(&Default::default())
}

/// A pipeline is named by its shader, entry point and override constants.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PipelineKey {
    shader: &'static str,
    entry: &'static str,
    constants: Vec<(&'static str, u64)>,
}

/// How a kernel sees one binding of its bind group, in binding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Uniform,
    Read,
    ReadWrite,
    /// A 2-D texture of f32s read with `textureLoad`.
    Texture,
    /// A 2-D rgba32float storage texture, written only.
    WriteTexture,
}

/// Texels per row of the texture convs pack B into: a vec4 at index i of a packed B lies at
/// texel (i % width, i / width). CPU adapters load a texel's four floats at once, where they
/// load a storage buffer's float by float and lane by lane, so the GEMM reads B this way
/// (lavapipe: the GEMM of CycleGAN's residual conv 1.5 times as fast). A power of two, so that the
/// shaders divide by shifting (conv.wgsl's `B_SHIFT`).
pub const PACKED_B_WIDTH: usize = 4096;

/// A WGSL source and the layout of its one bind group.
pub struct Shader {
    pub name: &'static str,
    pub source: &'static str,
    pub bindings: &'static [Access],
    /// Sources appended to `source` with the `subgroups` feature and without it.
    pub lanes: Option<Lanes>,
}

/// `shaders/lanes.wgsl`, all of it subgroup operations: compiled only where they are.
pub const LANES_PROBE: Shader = Shader {
    name: "lanes.wgsl",
    source: "",
    bindings: &[Access::ReadWrite],
    lanes: Some(Lanes {
        on: include_str!("../shaders/lanes.wgsl"),
        off: "",
    }),
};

/// The part of a shader that uses subgroup operations (`on`) and its stand-in (`off`): a
/// module that names a subgroup builtin does not compile on a device without the feature.
pub struct Lanes {
    pub on: &'static str,
    pub off: &'static str,
}

impl Gpu {
    /// Finds an adapter and opens a device with the WebGPU default limits, so that
    /// nothing passes natively that a browser would reject.
    ///
    /// Natively, `WGPU_BACKEND` (e.g. `vulkan`) picks the backends and `WGPU_ADAPTER_NAME`
    /// a substring of the adapter's name (e.g. `llvmpipe`, `swiftshader`).
    pub async fn new() -> Result<Gpu> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pick_adapter(&instance).await?;
        Self::from_adapter(instance, adapter).await
    }

    /// Blocking [`Gpu::new`] for native callers (tests, CLI, benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Gpu> {
        pollster::block_on(Self::new())
    }

    pub async fn from_adapter(instance: wgpu::Instance, adapter: wgpu::Adapter) -> Result<Gpu> {
        let adapter_info = adapter.get_info();
        #[cfg(target_arch = "wasm32")]
        crate::web::subgroups::ask_for_them();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("webgan"),
                required_features: adapter.features() & wgpu::Features::SUBGROUP,
                required_limits: wgpu::Limits::default(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device(e.to_string()))?;
        let subgroups = subgroups_wanted() && has_subgroups(&device);
        let spare_textures = [packed_b_texture(&device, 1), packed_b_texture(&device, 1)];
        let spare_buffers = std::array::from_fn(|_| spare_buffer(&device));
        let mut gpu = Gpu {
            instance,
            device,
            queue,
            adapter_info,
            pipelines: Mutex::new(HashMap::new()),
            conv_scratch: Mutex::new(None),
            spare_textures,
            spare_buffers,
            conv_products: Mutex::new(None),
            conv_binding_cap: std::sync::atomic::AtomicUsize::new(0),
            subgroups,
            subgroup_size: 0,
        };
        if gpu.subgroups {
            let size = gpu.lanes_in_order().await?;
            gpu.subgroups = size != 0;
            // Where the driver picks a size per pipeline (Intel: 8 to 32), the probe's says
            // nothing of another pipeline's.
            let info = &gpu.adapter_info;
            let fixed = info.subgroup_min_size == size && info.subgroup_max_size == size;
            gpu.subgroup_size = if fixed { size } else { 0 };
        }
        Ok(gpu)
    }

    /// The lanes of this device's subgroups where they are its workgroups' threads in order, 4
    /// lanes or a multiple of 4 each, and 0 where not (see `shaders/lanes.wgsl`): one dispatch
    /// and readback, at start-up.
    /// A driver that lists the feature yet refuses the probe runs without it, rather than
    /// failing to start (natively an uncaught validation error would abort).
    async fn lanes_in_order(&self) -> Result<u32> {
        let out = self.storage("lanes in order", 64);
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let probe = crate::kernels::Dispatch::new(
            self,
            &LANES_PROBE,
            "main",
            &[],
            &0u32,
            &[&out],
            [1, 1, 1],
        );
        if let Ok(probe) = &probe {
            self.run(&[probe]);
        }
        if scope.pop().await.is_some() {
            return Ok(0);
        }
        probe?;
        let sizes = self.read_u32(&out).await?;
        Ok(if sizes.iter().all(|&v| v == sizes[0]) {
            sizes[0]
        } else {
            0
        })
    }

    /// "name (backend, device type)", for benchmark tables and error messages.
    pub fn adapter_name(&self) -> String {
        let i = &self.adapter_info;
        format!(
            "{} ({:?}, {:?})",
            self.short_name(),
            i.backend,
            i.device_type
        )
    }

    /// The adapter's name; where a browser keeps it back (Chromium's SwiftShader reports
    /// none), its vendor or driver, else "a WebGPU adapter".
    pub fn short_name(&self) -> String {
        let i = &self.adapter_info;
        display_name(&i.name, i.vendor, &i.driver)
    }

    /// The compute pipeline for `entry` of `shader` with the given override constants,
    /// built on first use and shared afterwards.
    pub fn pipeline(
        &self,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, u32)],
    ) -> Arc<wgpu::ComputePipeline> {
        let key = PipelineKey {
            shader: shader.name,
            entry,
            constants: constants.iter().map(|&(k, v)| (k, v as u64)).collect(),
        };
        let mut cache = self.pipelines.lock().expect("pipeline cache lock poisoned");
        if let Some(p) = cache.get(&key) {
            return p.clone();
        }
        let source = match &shader.lanes {
            None => shader.source.into(),
            Some(lanes) if self.subgroups => {
                format!("{SUBGROUPS_ENABLE}{}{}", shader.source, lanes.on).into()
            }
            Some(lanes) => format!("{}{}", shader.source, lanes.off).into(),
        };
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.name),
                source: wgpu::ShaderSource::Wgsl(source),
            });
        let layout = self.bind_group_layout(shader);
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(shader.name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let constants: Vec<(&str, f64)> = constants.iter().map(|&(k, v)| (k, v as f64)).collect();
        let pipeline = Arc::new(self.device.create_compute_pipeline(
            &wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            },
        ));
        cache.insert(key, pipeline.clone());
        pipeline
    }

    fn bind_group_layout(&self, shader: &Shader) -> wgpu::BindGroupLayout {
        let entries: Vec<wgpu::BindGroupLayoutEntry> = shader
            .bindings
            .iter()
            .enumerate()
            .map(|(i, access)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: match access {
                    Access::Uniform => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    Access::Read | Access::ReadWrite => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: *access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    Access::Texture => wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    Access::WriteTexture => wgpu::BindingType::StorageTexture {
                        access: wgpu::StorageTextureAccess::WriteOnly,
                        format: wgpu::TextureFormat::Rgba32Float,
                        view_dimension: wgpu::TextureViewDimension::D2,
                    },
                },
                count: None,
            })
            .collect();
        self.device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(shader.name),
                entries: &entries,
            })
    }

    /// Floats the conv scratch buffers hold now (the defaults before first use).
    pub(crate) fn conv_scratch_room(&self) -> (usize, usize) {
        let scratch = self
            .conv_scratch
            .lock()
            .expect("conv scratch lock poisoned");
        match scratch.as_ref() {
            Some(s) => (s.a_floats, s.b_floats),
            None => (
                crate::kernels::conv::SCRATCH_A_FLOATS,
                crate::kernels::conv::SCRATCH_B_FLOATS,
            ),
        }
    }

    /// The scratch textures that conv runs pack A and B into, holding at least
    /// `a_floats` and `b_floats`: the current ones, or larger ones that replace them.
    pub(crate) fn conv_scratch(
        &self,
        a_floats: usize,
        b_floats: usize,
    ) -> (wgpu::TextureView, wgpu::TextureView) {
        let (room_a, room_b) = self.conv_scratch_room();
        let mut scratch = self
            .conv_scratch
            .lock()
            .expect("conv scratch lock poisoned");
        if scratch.is_none() || a_floats > room_a || b_floats > room_b {
            let (a, b) = (room_a.max(a_floats), room_b.max(b_floats));
            *scratch = Some(ConvScratch::new(&self.device, a, b));
        }
        let s = scratch.clone().expect("set just above");
        (s.a, s.b)
    }

    /// Textures to bind where a conv's entry point uses none: for its read slot and its
    /// write slot.
    pub(crate) fn spare_textures(&self) -> &[wgpu::TextureView; 2] {
        &self.spare_textures
    }

    /// A buffer to bind in any number of read-only slots that an entry point does not use.
    pub(crate) fn spare_read(&self) -> &wgpu::Buffer {
        &self.spare_buffers[0]
    }

    /// Buffer `i` (below 3) of those to bind in writable slots that an entry point does not
    /// use, one slot each: WebGPU lets no buffer written in one slot of a dispatch be bound in
    /// another, and none of these is bound read-only.
    pub(crate) fn spare_write(&self, i: usize) -> &wgpu::Buffer {
        &self.spare_buffers[1 + i]
    }

    /// The texture Winograd's convs keep their products in, laid out as packed B and holding
    /// at least `floats`: the current one, or a larger one that replaces it (see
    /// `conv_scratch`).
    pub(crate) fn conv_products(&self, floats: usize) -> wgpu::TextureView {
        shared_texture(
            &self.device,
            &self.conv_products,
            "conv winograd products",
            floats,
        )
    }

    /// Floats one storage binding may hold on this device.
    pub fn binding_floats(&self) -> usize {
        self.device.limits().max_storage_buffer_binding_size as usize / 4
    }

    /// Floats one binding of a conv may hold: the device's limit, or the cap set by
    /// [`Gpu::cap_conv_binding`] below it.
    pub(crate) fn conv_binding_floats(&self) -> usize {
        let device = self.device.limits().max_storage_buffer_binding_size as usize / 4;
        match self
            .conv_binding_cap
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => device,
            cap => cap.min(device),
        }
    }

    /// Caps the floats a conv packs into one binding below the device's limit, so that a
    /// test's small image is cut into pieces (channel groups, pixel bands) as a large one is.
    pub fn cap_conv_binding(&self, floats: usize) {
        self.conv_binding_cap
            .store(floats, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sizes the conv scratch (in floats) before their first use, for devices short of
    /// memory and for tests of batches cut into chunks. Returns false if they already exist.
    pub fn init_conv_scratch(&self, a_floats: usize, b_floats: usize) -> bool {
        let mut scratch = self
            .conv_scratch
            .lock()
            .expect("conv scratch lock poisoned");
        if scratch.is_some() {
            return false;
        }
        *scratch = Some(ConvScratch::new(&self.device, a_floats, b_floats));
        true
    }

    /// A storage buffer of `len` f32 (or u32) elements, zeroed.
    pub fn storage(&self, label: &str, len: usize) -> wgpu::Buffer {
        // wgpu rejects zero-sized bindings; keep one element at least.
        let size = (len.max(1) * 4) as u64;
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A storage buffer holding `data`.
    pub fn storage_from<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let buffer = self.storage(label, bytes.len().div_ceil(4));
        self.queue.write_buffer(&buffer, 0, &pad4(bytes));
        buffer
    }

    /// A uniform buffer holding one parameter struct.
    pub fn uniform<T: bytemuck::Pod>(&self, label: &str, params: &T) -> wgpu::Buffer {
        let bytes = bytemuck::bytes_of(params);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.len().max(16).next_multiple_of(16) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buffer, 0, &pad4(bytes));
        buffer
    }

    /// Copies `buffer` to a staging buffer and maps it. Natively this waits for the GPU;
    /// in a browser the future resolves when the JS event loop delivers the mapping.
    pub async fn read_bytes(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        let size = buffer.size();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = sender.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| Error::Readback("the mapping callback was dropped".into()))?
            .map_err(|e| Error::Readback(e.to_string()))?;
        let bytes = staging
            .get_mapped_range(..)
            .map_err(|e| Error::Readback(e.to_string()))?
            .to_vec();
        staging.unmap();
        Ok(bytes)
    }

    pub async fn read_f32(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>> {
        Ok(bytemuck::pod_collect_to_vec(
            &self.read_bytes(buffer).await?,
        ))
    }

    pub async fn read_u32(&self, buffer: &wgpu::Buffer) -> Result<Vec<u32>> {
        Ok(bytemuck::pod_collect_to_vec(
            &self.read_bytes(buffer).await?,
        ))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_f32_blocking(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>> {
        pollster::block_on(self.read_f32(buffer))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_u32_blocking(&self, buffer: &wgpu::Buffer) -> Result<Vec<u32>> {
        pollster::block_on(self.read_u32(buffer))
    }

    /// Records `dispatches` into one compute pass of one encoder and submits it once.
    pub fn run(&self, dispatches: &[&crate::kernels::Dispatch]) {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for d in dispatches {
                d.record(&mut pass);
            }
        }
        self.queue.submit([encoder.finish()]);
    }

    /// Runs `build` (creating buffers, pipelines, bind groups) inside error scopes, so that
    /// whatever the device refuses comes back as an error naming `what` and the device's first
    /// reason, where natively an uncaptured error would abort and in a browser it would only
    /// reach the console.
    pub async fn scoped<T>(&self, what: &str, build: impl FnOnce() -> Result<T>) -> Result<T> {
        let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let built = build();
        let invalid = invalid.pop().await;
        let out_of_memory = out_of_memory.pop().await;
        if let Some(e) = out_of_memory {
            return Err(Error::Device(format!(
                "the GPU ran out of memory for {what} ({})",
                brief(&e)
            )));
        }
        if let Some(e) = invalid {
            return Err(Error::Device(format!(
                "the GPU refused {what}: {}",
                brief(&e)
            )));
        }
        built
    }
}

/// The first part of a wgpu error: what is wrong, without the validation chain after it.
pub fn brief(e: &wgpu::Error) -> String {
    let text = e.to_string();
    let first = text
        .split(" - While")
        .next()
        .unwrap_or(&text)
        .split(". This adapter")
        .next()
        .unwrap_or(&text);
    // wgpu starts with "Validation Error\n\nCaused by:\n  In …": keep the lines that say what.
    first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Validation Error" && *l != "Caused by:")
        .collect::<Vec<_>>()
        .join(" ")
}

/// `queue.write_buffer` wants a multiple of 4 bytes.
fn pad4(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.resize(bytes.len().next_multiple_of(4), 0);
    v
}

pub(crate) async fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = wanted.to_lowercase();
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
            .ok_or_else(|| {
                Error::NoAdapter(format!(
                    "WGPU_ADAPTER_NAME={wanted} matches none of the adapters found: {names:?}"
                ))
            });
    }
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            Error::NoAdapter(format!(
                "{e}. Natively, install a Vulkan driver (on Debian without a GPU: \
                 `apt-get install mesa-vulkan-drivers`) and set WGPU_BACKEND=vulkan; \
                 in a browser, use one with WebGPU enabled"
            ))
        })
}

/// Browsers want subgroups enabled in the WGSL, and count a subgroup operation after a
/// branch on a thread's own values as an error unless told otherwise (the shaders keep lanes
/// in step themselves); naga refuses both directives and needs neither.
#[cfg(target_arch = "wasm32")]
const SUBGROUPS_ENABLE: &str = "enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n";
#[cfg(not(target_arch = "wasm32"))]
const SUBGROUPS_ENABLE: &str = "";

#[cfg(not(target_arch = "wasm32"))]
fn subgroups_wanted() -> bool {
    !matches!(
        std::env::var("WEBGAN_SUBGROUPS").as_deref(),
        Ok("off" | "0")
    )
}
#[cfg(target_arch = "wasm32")]
fn subgroups_wanted() -> bool {
    true
}

#[cfg(not(target_arch = "wasm32"))]
fn has_subgroups(device: &wgpu::Device) -> bool {
    device.features().contains(wgpu::Features::SUBGROUP)
}
/// wgpu's WebGPU backend has no name for the feature: `web::subgroups` asked for it.
#[cfg(target_arch = "wasm32")]
fn has_subgroups(_device: &wgpu::Device) -> bool {
    crate::web::subgroups::granted()
}

/// See [`Gpu::short_name`].
fn display_name(name: &str, vendor: u32, driver: &str) -> String {
    let vendor = vendor.to_string();
    let found = [name, vendor.as_str(), driver]
        .into_iter()
        .find(|s| !s.is_empty() && *s != "0");
    found.unwrap_or("a WebGPU adapter").to_string()
}

#[cfg(test)]
mod name_tests {
    use super::display_name;

    #[test]
    fn an_adapter_without_a_name_is_called_by_what_it_reports() {
        assert_eq!(display_name("llvmpipe", 0x10005, ""), "llvmpipe");
        assert_eq!(
            display_name("", 0, "SwiftShader driver"),
            "SwiftShader driver"
        );
        assert_eq!(display_name("", 4318, ""), "4318");
        assert_eq!(display_name("", 0, ""), "a WebGPU adapter");
    }
}

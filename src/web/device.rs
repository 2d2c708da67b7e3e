//! One GPU device for the page's session, on the canvas it draws into, and what the device says
//! as it goes: its loss, and the errors no error scope caught, each kept once in words for the
//! page.

use std::sync::{Arc, Mutex};

use wasm_bindgen::prelude::*;
use web_sys::OffscreenCanvas;

use super::gpu_error::{brief, is_limit};
use super::{js_error, NO_WEBGPU};
use crate::Gpu;

/// At most this many different GPU errors wait for the page; a broken dispatch repeats its
/// error every step, and each is told once.
const MAX_ERRORS: usize = 16;

/// What the device has said since the page last asked: its loss, and validation errors.
#[derive(Default)]
pub(super) struct Health {
    pub(super) lost: Option<String>,
    pub(super) errors: Vec<String>,
}

impl Health {
    /// Keeps `error` unless it is already waiting (or too many are); says whether it was new.
    fn report(&mut self, error: String) -> bool {
        let new = !self.errors.contains(&error) && self.errors.len() < MAX_ERRORS;
        if new {
            self.errors.push(error);
        }
        new
    }
}

/// A device for `canvas`, its surface, and what the device says as it goes: its loss, and
/// errors no scope caught (each logged once and kept for `takeErrors`).
pub(super) async fn connect(
    canvas: &OffscreenCanvas,
) -> Result<(Arc<Gpu>, wgpu::Surface<'static>, Arc<Mutex<Health>>), JsError> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let surface = instance
        .create_surface(wgpu::SurfaceTarget::OffscreenCanvas(canvas.clone()))
        .map_err(|e| JsError::new(&format!("cannot draw into the canvas: {e}")))?;
    let adapter = crate::gpu::pick_adapter(&instance)
        .await
        .map_err(|e| JsError::new(&format!("{e}. {NO_WEBGPU}")))?;
    let gpu = Gpu::from_adapter(instance, adapter)
        .await
        .map_err(js_error)?;
    let health = Arc::new(Mutex::new(Health::default()));
    let h = health.clone();
    gpu.device.set_device_lost_callback(move |reason, message| {
        let why = match brief(&message) {
            m if !m.is_empty() => m,
            _ if reason == wgpu::DeviceLostReason::Destroyed => "it was destroyed".into(),
            _ => "the browser gave no reason".into(),
        };
        if let Ok(mut h) = h.lock() {
            h.lost = Some(why);
        }
    });
    let h = health.clone();
    gpu.device
        .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let text = brief(&e.to_string());
            if h.lock().is_ok_and(|mut h| h.report(text.clone())) {
                web_sys::console::error_1(&format!("webgan: GPU error: {text}").into());
            }
        }));
    Ok((Arc::new(gpu), surface, health))
}

/// A buffer WebGPU refuses: mapped for reading and for writing at once.
pub(super) fn invalid_buffer(gpu: &Gpu) {
    let _ = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("invalid on purpose"),
        size: 4,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::MAP_WRITE,
        mapped_at_creation: false,
    });
}

/// What WebGPU's error scopes caught while a run was built, in words.
pub(super) enum Refusal {
    OutOfMemory(String),
    Invalid(String),
}

impl Refusal {
    /// The sentence for an image-to-image run the GPU refused; `what` names the run ("pix2pix
    /// at 64×64, batch 1 (width 64)").
    pub(super) fn sentence(self, what: &str) -> JsError {
        JsError::new(&match self {
            Refusal::OutOfMemory(e) => format!(
                "the GPU ran out of memory for {what}: choose a smaller size, width or batch ({e})"
            ),
            Refusal::Invalid(e) if is_limit(&e) => {
                format!("this GPU cannot hold {what}: choose a smaller size, width or batch ({e})")
            }
            Refusal::Invalid(e) => format!("the GPU refused to build {what}: {e}"),
        })
    }
}

/// Runs `build` inside error scopes for running out of memory and for validation, so that a
/// model the GPU refuses is told apart from any other failure: the refusal first, else what
/// `build` returned.
pub(super) async fn scoped<T>(
    gpu: &Gpu,
    build: impl FnOnce() -> crate::Result<T>,
) -> Result<crate::Result<T>, Refusal> {
    let out_of_memory = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let invalid = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let built = build();
    let invalid = invalid.pop().await;
    let out_of_memory = out_of_memory.pop().await;
    if let Some(e) = out_of_memory {
        return Err(Refusal::OutOfMemory(brief(&e.to_string())));
    }
    if let Some(e) = invalid {
        return Err(Refusal::Invalid(brief(&e.to_string())));
    }
    Ok(built)
}

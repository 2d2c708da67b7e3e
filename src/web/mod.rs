//! The page's view of webgan: a thin `#[wasm_bindgen]` layer over the core. Errors become
//! `JsError`s with a sentence a person understands.
//!
//! - `zip.rs`: reading a dataset zip;
//! - `session.rs`: one GPU device, the data on it and the GAN being trained, of one family:
//!   `dcgan.rs` (images from noise, drawn into a canvas), `cyclegan.rs` (unpaired
//!   image-to-image translation) or `pix2pix.rs` (paired translation), the last two shown
//!   through `translate.rs` and read from the page's options by `options.rs`;
//! - `device.rs`: opening that device, and what it says as it goes (its loss, its errors);
//! - `gpu_error.rs`: what WebGPU says when something goes wrong, as a sentence.
//!
//! The page runs them in its session worker (www/app/session-worker.js), so it keeps drawing
//! whatever they do.

// The core shares its `Gpu` through `Arc`; in a browser wgpu's objects are neither Send nor Sync,
// and there is only the one thread.
#![allow(clippy::arc_with_non_send_sync)]

mod codes;
mod cyclegan;
mod dcgan;
mod device;
mod generator;
mod gpu_error;
mod options;
mod pix2pix;
mod session;
pub(crate) mod subgroups;
mod translate;
mod zip;

use wasm_bindgen::prelude::*;

use crate::{self_check, Gpu};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// What a person is told when there is no WebGPU adapter.
pub(crate) const NO_WEBGPU: &str =
    "webgan needs WebGPU: Chrome or Edge 113+, Safari 26+, or Firefox 141+ on Windows; \
     on Linux, Chrome needs --enable-unsafe-webgpu (and --enable-features=Vulkan)";

/// Opens the GPU and runs the kernel self-check. Resolves to
/// `{ adapter, checks: [{ name, maxError, passed }], passed }`.
#[wasm_bindgen(js_name = selfCheck)]
pub async fn self_check() -> Result<JsValue, JsError> {
    let gpu = Gpu::new()
        .await
        .map_err(|e| JsError::new(&format!("{e}. {NO_WEBGPU}")))?;
    let gpu = std::sync::Arc::new(gpu);
    let mut checks = self_check::run(&gpu).await.map_err(js_error)?;
    checks.extend(
        self_check::training_step(gpu.clone())
            .await
            .map_err(js_error)?,
    );
    checks.extend(
        self_check::image_to_image_steps(gpu.clone())
            .await
            .map_err(js_error)?,
    );
    let out = js_sys::Object::new();
    let list = js_sys::Array::new();
    for c in &checks {
        let o = js_sys::Object::new();
        set(&o, "name", &c.name.as_str().into());
        set(&o, "maxError", &c.max_error.into());
        set(&o, "passed", &c.passed.into());
        list.push(&o);
    }
    set(&out, "adapter", &gpu.adapter_name().into());
    set(&out, "subgroups", &gpu.subgroups.into());
    // Lanes of every subgroup where the device has one size (0 where it varies).
    set(&out, "subgroupSize", &gpu.subgroup_size.into());
    set(&out, "checks", &list);
    set(&out, "passed", &checks.iter().all(|c| c.passed).into());
    Ok(out.into())
}

pub(crate) fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn set(o: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object cannot fail.
    let _ = js_sys::Reflect::set(o, &key.into(), value);
}

/// `{ width, height, rgba }` for a 2D canvas's ImageData.
pub(crate) fn image_object((width, height, rgba): (u32, u32, Vec<u8>)) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "width", &width.into());
    set(&o, "height", &height.into());
    set(
        &o,
        "rgba",
        &js_sys::Uint8ClampedArray::from(&rgba[..]).into(),
    );
    o.into()
}

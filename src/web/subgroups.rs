//! Asking the browser for the `subgroups` feature, which wgpu 30's WebGPU backend cannot name:
//! its device descriptor lists only the features it maps, so the request is widened in
//! `GPUAdapter.requestDevice` itself, once per page, and the answer kept for `Gpu`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function ask_for_subgroups() {
  const proto = globalThis.GPUAdapter?.prototype;
  if (!proto || proto.webganRequestDevice) return;
  const original = proto.requestDevice;
  proto.webganRequestDevice = original;
  proto.requestDevice = async function (descriptor) {
    let d = descriptor ?? {};
    if (this.features.has('subgroups')) {
      d = { ...d, requiredFeatures: [...(d.requiredFeatures ?? []), 'subgroups'] };
    }
    const device = await original.call(this, d);
    globalThis.webganSubgroups = device.features.has('subgroups');
    return device;
  };
}
export function subgroups_granted() {
  return globalThis.webganSubgroups === true;
}
"#)]
extern "C" {
    fn ask_for_subgroups();
    fn subgroups_granted() -> bool;
}

/// Makes the next `requestDevice` ask for subgroups where the adapter has them.
pub(crate) fn ask_for_them() {
    ask_for_subgroups();
}

/// Whether the last device made has them.
pub(crate) fn granted() -> bool {
    subgroups_granted()
}

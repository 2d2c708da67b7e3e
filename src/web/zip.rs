//! Reading a dataset zip in the browser, in the page's session worker: decoding thousands of
//! images takes seconds, and the page must keep drawing its progress bar meanwhile.

use wasm_bindgen::prelude::*;

use super::{js_error, set};
use crate::data::{self, Dataset, ImageSpec};
use crate::model::presets::Preset;
use crate::train::MAX_BINDING_BYTES;

/// A first look at a zip, to choose a preset before decoding it all. Resolves to
/// `{ images, classes, lookedAt, gray, largestSide, preset }`.
#[wasm_bindgen(js_name = surveyZip)]
pub fn survey_zip(bytes: &[u8]) -> Result<JsValue, JsError> {
    let s = data::survey(bytes, 32).map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "images", &(s.images as u32).into());
    set(&o, "classes", &(s.classes as u32).into());
    set(&o, "lookedAt", &(s.looked_at as u32).into());
    set(&o, "gray", &s.gray.into());
    set(&o, "largestSide", &s.largest_side.into());
    set(&o, "preset", &s.preset().name().into());
    Ok(o.into())
}

/// Decodes the zip's images at `preset`'s size and colour: as many as one GPU buffer binding
/// holds at that size (what training uses), or `max_images` if fewer, evenly spread over the
/// zip. `progress(done, total)` is called at most about 200 times. Returns the dataset and its
/// report, `{ summary, images, limit, perClass: [[name, count]], skipped: [[path, reason]],
/// ignored }`, `limit` being the most images it would decode.
pub(super) fn decode(
    bytes: &[u8],
    preset: &str,
    max_images: Option<u32>,
    progress: &js_sys::Function,
) -> Result<(Dataset, js_sys::Object), JsError> {
    let preset = Preset::parse(preset).map_err(js_error)?;
    let spec = ImageSpec {
        size: preset.image_size(),
        channels: preset.default_channels(),
    };
    let limit =
        (MAX_BINDING_BYTES / spec.row_len()).min(max_images.map_or(usize::MAX, |n| n as usize));
    let mut last = usize::MAX;
    let limits = data::LoadLimits::default();
    let (dataset, report) =
        data::load_zip_at_most(bytes, spec, &limits, limit, &mut |done, total| {
            let step = (total / 200).max(1);
            if done / step != last || done == total {
                last = done / step;
                let _ = progress.call2(
                    &JsValue::NULL,
                    &(done as u32).into(),
                    &(total as u32).into(),
                );
            }
        })
        .map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "summary", &report.summary().into());
    set(&o, "images", &(report.images as u32).into());
    set(&o, "limit", &(limit as u32).into());
    let pairs = |items: Vec<(String, JsValue)>| {
        let list = js_sys::Array::new();
        for (a, b) in items {
            list.push(&js_sys::Array::of2(&a.into(), &b));
        }
        list
    };
    set(
        &o,
        "perClass",
        &pairs(
            report
                .per_class
                .iter()
                .map(|(n, c)| (n.clone(), (*c as u32).into()))
                .collect(),
        ),
    );
    set(
        &o,
        "skipped",
        &pairs(
            report
                .skipped
                .iter()
                .map(|s| (s.path.clone(), s.reason.as_str().into()))
                .collect(),
        ),
    );
    set(&o, "ignored", &(report.ignored as u32).into());
    Ok((dataset, o))
}

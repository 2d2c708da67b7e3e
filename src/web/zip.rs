//! Reading a dataset zip in the browser, in the page's session worker: decoding thousands of
//! images takes seconds, and the page must keep drawing its progress bar meanwhile.

use wasm_bindgen::prelude::*;

use super::{js_error, set};
use crate::data::{self, Dataset, Expect, ImageSpec, Pairs, Skipped, Unpaired, ZipLayout};
use crate::model::presets::Preset;
use crate::train::recipes::cyclegan_run::CycleGanRun;
use crate::train::recipes::pix2pix::Pix2PixRun;
use crate::train::MAX_BINDING_BYTES;

/// A first look at a zip, to choose a family and a preset before decoding it all. Resolves to
/// `{ images, classes, lookedAt, gray, largestSide, preset, family, layout }`: `family` is
/// "cyclegan" for two unpaired domains (trainA/ and trainB/), "pix2pix" for pairs (A/ and B/
/// folders, or side by side in train/ and val/), else "dcgan", and `layout` says in words what
/// the zip holds.
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
    let layout = data::layout_of(bytes).map_err(js_error)?;
    let family = match layout {
        ZipLayout::Unpaired { .. } => "cyclegan",
        ZipLayout::PairedFolders { .. } | ZipLayout::SideBySide { .. } => "pix2pix",
        ZipLayout::Flat { .. } | ZipLayout::Classes { .. } => "dcgan",
    };
    set(&o, "family", &family.into());
    set(&o, "layout", &layout.summary().into());
    Ok(o.into())
}

/// `progress(done, total)` called at most about 200 times over a decoding.
fn throttled(progress: &js_sys::Function) -> impl FnMut(usize, usize) + '_ {
    let mut last = usize::MAX;
    move |done, total| {
        let step = (total / 200).max(1);
        if done / step != last || done == total {
            last = done / step;
            let _ = progress.call2(
                &JsValue::NULL,
                &(done as u32).into(),
                &(total as u32).into(),
            );
        }
    }
}

/// `[[a, b], ...]` for the page.
fn pairs(items: Vec<(String, JsValue)>) -> js_sys::Array {
    let list = js_sys::Array::new();
    for (a, b) in items {
        list.push(&js_sys::Array::of2(&a.into(), &b));
    }
    list
}

fn skipped_list(skipped: &[Skipped]) -> js_sys::Array {
    pairs(
        skipped
            .iter()
            .map(|s| (s.path.clone(), s.reason.as_str().into()))
            .collect(),
    )
}

/// Decodes a zip of two unpaired domains for CycleGAN at `size` pixels: each domain at the side
/// training crops from (286/256 of it, as the reference's 286 for 256), as many images of each
/// as one GPU buffer binding holds at that side (or `max_images`, if fewer), evenly spread, and
/// a few held-out examples of each. Returns the domains and the report, `{ summary, images,
/// limit, perDomain: [[folder, count]], found: [a, b], skipped, ignored, size, loadSide }`.
pub(super) fn decode_unpaired(
    bytes: &[u8],
    size: u32,
    max_images: Option<u32>,
    progress: &js_sys::Function,
) -> Result<(Unpaired, js_sys::Object), JsError> {
    let spec = ImageSpec::rgb(size);
    spec.validate().map_err(js_error)?;
    let load = CycleGanRun::new(size, 3, 3).load_side();
    let load_spec = ImageSpec::rgb(load);
    let limit = (MAX_BINDING_BYTES / load_spec.row_len())
        .min(max_images.map_or(usize::MAX, |n| n as usize));
    let found = match data::layout_of(bytes).map_err(js_error)? {
        ZipLayout::Unpaired { a, b, .. } => (a, b),
        _ => (0, 0),
    };
    let (domains, report) = data::load_unpaired_at_most(
        bytes,
        load_spec,
        load_spec,
        &data::LoadLimits::default(),
        limit,
        &mut throttled(progress),
    )
    .map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "summary", &report.summary().into());
    set(
        &o,
        "images",
        &((report.a.images + report.b.images) as u32).into(),
    );
    set(&o, "limit", &(limit as u32).into());
    let per_domain = [&report.a, &report.b]
        .into_iter()
        .map(|f| (f.folder.clone(), (f.images as u32).into()))
        .collect();
    set(&o, "perDomain", &pairs(per_domain));
    set(
        &o,
        "found",
        &js_sys::Array::of2(&(found.0 as u32).into(), &(found.1 as u32).into()),
    );
    set(&o, "skipped", &skipped_list(&report.skipped));
    set(&o, "ignored", &(report.ignored as u32).into());
    set(&o, "size", &size.into());
    set(&o, "loadSide", &load.into());
    Ok((domains, o))
}

/// Decodes a zip of pairs for pix2pix at `size` pixels: both sides of each pair at the side
/// training crops from (286/256 of it, one crop for both), as many pairs as one GPU buffer
/// binding holds of a side (or `max_images`, if fewer), evenly spread, and the held-out split's
/// pairs (`val/`, else `test/`). Returns the pairs and the report, `{ summary, pairs, limit,
/// found, sideBySide, split, heldOut: [folder, count] or null, skipped, ignored, size,
/// loadSide }`.
pub(super) fn decode_pairs(
    bytes: &[u8],
    size: u32,
    max_images: Option<u32>,
    progress: &js_sys::Function,
) -> Result<(Pairs, js_sys::Object), JsError> {
    let load = Pix2PixRun::new(size, 3, 3).map_err(js_error)?.load_side();
    let load_spec = ImageSpec::rgb(load);
    let limit = (MAX_BINDING_BYTES / load_spec.row_len())
        .min(max_images.map_or(usize::MAX, |n| n as usize));
    let found = match data::layout_expecting(bytes, Expect::Pairs).map_err(js_error)? {
        ZipLayout::PairedFolders { pairs, .. } => pairs,
        ZipLayout::SideBySide { images, .. } => images,
        _ => 0,
    };
    let (pairs, report) = data::load_pairs_at_most(
        bytes,
        load_spec,
        &data::LoadLimits::default(),
        limit,
        &mut throttled(progress),
    )
    .map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "summary", &report.summary().into());
    set(&o, "pairs", &(report.pairs as u32).into());
    set(&o, "limit", &(limit as u32).into());
    set(&o, "found", &(found as u32).into());
    set(&o, "sideBySide", &report.side_by_side.into());
    set(
        &o,
        "split",
        &report.split.as_deref().map_or(JsValue::NULL, JsValue::from),
    );
    let held_out = report.held_out.as_ref().map_or(JsValue::NULL, |h| {
        js_sys::Array::of2(&h.folder.as_str().into(), &(h.images as u32).into()).into()
    });
    set(&o, "heldOut", &held_out);
    set(&o, "skipped", &skipped_list(&report.skipped));
    set(&o, "ignored", &(report.ignored as u32).into());
    set(&o, "size", &size.into());
    set(&o, "loadSide", &load.into());
    Ok((pairs, o))
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
    let limits = data::LoadLimits::default();
    let (dataset, report) =
        data::load_zip_at_most(bytes, spec, &limits, limit, &mut throttled(progress))
            .map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "summary", &report.summary().into());
    set(&o, "images", &(report.images as u32).into());
    set(&o, "limit", &(limit as u32).into());
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
    set(&o, "skipped", &skipped_list(&report.skipped));
    set(&o, "ignored", &(report.ignored as u32).into());
    Ok((dataset, o))
}

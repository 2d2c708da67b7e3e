//! A first look at a zip: how many images, in how many classes, and what a few of them are
//! like (gray or colour, how large), so that the page can choose a preset that fits the data
//! before decoding all of it.

use super::archive::{open, read_entry};
use super::layout::{Layout, Scan};
use super::{picture, LoadLimits};
use crate::model::presets::Preset;
use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survey {
    /// Image files found (before decoding: some may still fail).
    pub images: usize,
    /// Class folders; 0 for a flat zip.
    pub classes: usize,
    /// How many images were decoded to judge colour and size.
    pub looked_at: usize,
    /// Every image looked at is gray (or colour with equal channels).
    pub gray: bool,
    /// The largest centre-crop side among the images looked at, in pixels.
    pub largest_side: u32,
}

impl Survey {
    /// The preset that fits these images: [`Preset::fitting`].
    pub fn preset(&self) -> Preset {
        Preset::fitting(self.largest_side, self.gray)
    }
}

/// Looks at up to `look_at` images spread over the zip; errors as [`super::load_zip`] does for
/// a zip that cannot be read or holds no image.
pub fn survey(bytes: &[u8], look_at: usize) -> Result<Survey> {
    let limits = LoadLimits::default();
    let mut archive = open(bytes, &limits)?;
    let scan = Scan::of(&archive);
    if scan.images.is_empty() {
        return Err(crate::Error::Dataset(scan.no_image_message()));
    }
    let layout = Layout::of(scan.images);
    let n = layout.images.len();
    let stride = (n / look_at.max(1)).max(1);
    let (mut looked_at, mut gray, mut largest_side) = (0, true, 0);
    let mut read_total = 0;
    for found in layout.images.iter().step_by(stride).take(look_at) {
        let Ok(bytes) = read_entry(&mut archive, found.index, &limits, &mut read_total)? else {
            continue;
        };
        let Ok(image) = picture::decode(&bytes, found.format, &limits) else {
            continue;
        };
        looked_at += 1;
        largest_side = largest_side.max(image.width().min(image.height()));
        if gray && image.color().has_color() {
            gray = image
                .to_rgb8()
                .pixels()
                .all(|p| p[0] == p[1] && p[1] == p[2]);
        }
    }
    Ok(Survey {
        images: n,
        classes: layout.class_names.len(),
        looked_at,
        gray,
        largest_side,
    })
}

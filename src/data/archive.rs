//! A user's zip of pictures to a [`Dataset`], read in memory, within [`LoadLimits`]. Which
//! entry is an image of which class is `layout.rs`'s business; each image's conversion is
//! `picture.rs`'s.

use std::io::{Cursor, Read};

use zip::result::ZipError;
use zip::ZipArchive;

use super::layout::{Labelled, Layout, Scan};
use super::report::{listing, plural};
use super::{picture, Dataset, ImageSpec, LoadReport, Skipped};
use crate::{Error, Result};

/// Bounds on what a zip may cost, so that a hostile or mistaken file is refused rather than
/// exhausting memory (the browser's wasm32 address space is 4 GiB, input included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadLimits {
    /// Entries in the zip's directory, files and folders alike.
    pub max_entries: usize,
    /// Uncompressed bytes of one entry, as actually read (a zip's stated sizes may lie); a
    /// larger entry is skipped.
    pub max_entry_bytes: u64,
    /// Uncompressed bytes read from all entries together; past it loading stops with an error.
    pub max_total_bytes: u64,
    /// Width and height of an image, read from its header before decoding; a larger image is
    /// skipped.
    pub max_image_side: u32,
    /// Bytes the image decoder may allocate for one image.
    pub max_decode_bytes: u64,
    /// Bytes of the resulting dataset (images × channels × size × size).
    pub max_dataset_bytes: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_entries: 500_000,
            max_entry_bytes: 64 << 20,
            max_total_bytes: 2 << 30,
            max_image_side: 8192,
            max_decode_bytes: 512 << 20,
            max_dataset_bytes: 1 << 30,
        }
    }
}

/// Reads a zip of images into a dataset of `spec`'s shape, with [`LoadLimits::default`].
/// `progress(done, total)` is called before the first image and after each one, `total` being
/// the number of images found. Files that cannot be used are skipped and listed in the report;
/// a zip that cannot be read or holds no usable image is an error saying what it does hold.
pub fn load_zip(
    bytes: &[u8],
    spec: ImageSpec,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Dataset, LoadReport)> {
    load_zip_with_limits(bytes, spec, &LoadLimits::default(), progress)
}

/// [`load_zip`] with explicit limits.
pub fn load_zip_with_limits(
    bytes: &[u8],
    spec: ImageSpec,
    limits: &LoadLimits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Dataset, LoadReport)> {
    load_zip_at_most(bytes, spec, limits, usize::MAX, progress)
}

/// [`load_zip_with_limits`] that decodes at most `max_images` of the zip's images, evenly
/// spaced over them so that every class keeps its share: no more than will be trained (one GPU
/// buffer binding's worth, say) is decoded and held. `progress` counts the images chosen.
pub fn load_zip_at_most(
    bytes: &[u8],
    spec: ImageSpec,
    limits: &LoadLimits,
    max_images: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Dataset, LoadReport)> {
    spec.validate()?;
    let mut archive = open(bytes, limits)?;
    let scan = Scan::of(&archive);
    if scan.images.is_empty() {
        return Err(fail(scan.no_image_message()));
    }
    let mut skipped = not_images(&scan);
    let layout = Layout::of(scan.images);
    skipped.extend(layout.beside_classes);
    let images = spread(layout.images, max_images);
    check_dataset_size(images.len(), spec, limits)?;
    let mut read_total = 0;
    let rows = decode_all(
        &mut archive,
        &images,
        spec,
        limits,
        &mut read_total,
        &mut skipped,
        progress,
    )?;
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    if rows.count == 0 {
        return Err(none_usable(&plural(images.len(), "image"), &skipped));
    }
    let dataset = rows.finish(layout.class_names)?;
    let per_class = dataset
        .class_names
        .iter()
        .cloned()
        .zip(dataset.images_per_class())
        .collect();
    let report = LoadReport {
        images: dataset.count(),
        per_class,
        skipped,
        ignored: scan.ignored,
    };
    Ok((dataset, report))
}

const NOT_AN_IMAGE: &str = "not an image";

/// Every file that is not an image, skipped with that reason.
pub(super) fn not_images(scan: &Scan) -> Vec<Skipped> {
    scan.not_images
        .iter()
        .map(|path| Skipped {
            path: path.clone(),
            reason: NOT_AN_IMAGE.into(),
        })
        .collect()
}

/// "none of the 3 images could be used: a.png (corrupt: …), …": `what` names the images,
/// `skipped` holds their reasons (files that are no image are left out of the list).
pub(super) fn none_usable(what: &str, skipped: &[Skipped]) -> Error {
    let reasons: Vec<String> = skipped
        .iter()
        .filter(|s| s.reason != NOT_AN_IMAGE)
        .map(|s| format!("{} ({})", s.path, s.reason))
        .collect();
    fail(format!(
        "none of the {what} could be used: {}",
        listing(&reasons)
    ))
}

/// `n` of `items` evenly spaced (item ⌊i·len/n⌋ for i < n), or all of them when there are no
/// more than `n`.
pub(super) fn spread<T>(items: Vec<T>, n: usize) -> Vec<T> {
    let len = items.len() as u64;
    if len <= n as u64 {
        return items;
    }
    let mut next = 0u64;
    items
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| {
            let take = next < n as u64 && j as u64 == next * len / n as u64;
            next += take as u64;
            take
        })
        .map(|(_, item)| item)
        .collect()
}

pub(super) fn open<'a>(
    bytes: &'a [u8],
    limits: &LoadLimits,
) -> Result<ZipArchive<Cursor<&'a [u8]>>> {
    if bytes.is_empty() {
        return Err(fail("the file is empty (0 bytes)"));
    }
    let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        fail(match e {
            ZipError::UnsupportedArchive(what) => {
                format!(
                    "this zip uses a feature webgan cannot read ({})",
                    lower(what)
                )
            }
            _ => {
                "this is not a readable zip file: it may be truncated, damaged or not a zip".into()
            }
        })
    })?;
    if archive.is_empty() {
        return Err(fail("the zip is empty: it holds no files"));
    }
    if archive.len() > limits.max_entries {
        return Err(fail(format!(
            "the zip holds {} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        )));
    }
    Ok(archive)
}

/// Reads and converts every image, in order; the ones that fail go to `skipped`. `read_total`
/// counts the bytes read from the zip so far, across calls.
pub(super) fn decode_all(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    images: &[Labelled],
    spec: ImageSpec,
    limits: &LoadLimits,
    read_total: &mut u64,
    skipped: &mut Vec<Skipped>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Rows> {
    let total = images.len();
    let mut rows = Rows::new(spec, total)?;
    for (done, image) in images.iter().enumerate() {
        progress(done, total);
        let row = read_entry(archive, image.index, limits, read_total)?
            .and_then(|bytes| picture::to_row(&bytes, image.format, spec, limits));
        match row {
            Ok(row) => rows.push(&row, image.label),
            Err(reason) => skipped.push(Skipped {
                path: image.path.clone(),
                reason,
            }),
        }
    }
    progress(total, total);
    Ok(rows)
}

pub(super) fn fail(message: impl Into<String>) -> Error {
    Error::Dataset(message.into())
}

fn check_dataset_size(images: usize, spec: ImageSpec, limits: &LoadLimits) -> Result<()> {
    let bytes = (images as u64).saturating_mul(spec.row_len() as u64);
    if bytes > limits.max_dataset_bytes {
        return Err(fail(format!(
            "the zip holds {}; at {}×{}×{} that is {} MiB, more than the {} MiB limit: \
             choose a smaller size or fewer images",
            plural(images, "image"),
            spec.channels,
            spec.size,
            spec.size,
            bytes >> 20,
            limits.max_dataset_bytes >> 20
        )));
    }
    Ok(())
}

/// One entry's bytes, or why it cannot be used. Reads through `take`, so an entry whose stated
/// size lies still stops at the limit; an error (outer) when the whole zip has expanded past
/// `max_total_bytes`.
pub(super) fn read_entry(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    limits: &LoadLimits,
    read_total: &mut u64,
) -> Result<std::result::Result<Vec<u8>, String>> {
    let cap = limits.max_entry_bytes;
    let too_large = |n: u64| {
        format!(
            "too large: {} MiB uncompressed, the limit is {} MiB",
            n >> 20,
            cap >> 20
        )
    };
    let entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(e) => return Ok(Err(entry_fault(e))),
    };
    if entry.size() > cap {
        return Ok(Err(too_large(entry.size())));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    let read = entry.take(cap + 1).read_to_end(&mut bytes);
    *read_total += bytes.len() as u64;
    if *read_total > limits.max_total_bytes {
        return Err(fail(format!(
            "the zip expands to more than {} MiB; the limit is {} MiB",
            *read_total >> 20,
            limits.max_total_bytes >> 20
        )));
    }
    if bytes.len() as u64 > cap {
        return Ok(Err(format!(
            "too large: more than {} MiB uncompressed",
            cap >> 20
        )));
    }
    match read {
        Ok(_) => Ok(Ok(bytes)),
        Err(_) => Ok(Err(
            "damaged: its compressed data does not unpack (truncated or corrupt zip)".into(),
        )),
    }
}

/// Why one entry cannot be read, in words (zip's own texts name its internals).
fn entry_fault(e: ZipError) -> String {
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) | ZipError::InvalidPassword => {
            "encrypted: webgan reads only zips without a password".into()
        }
        ZipError::UnsupportedArchive(what) => format!("unsupported: {}", lower(what)),
        _ => "damaged: its entry in the zip cannot be read".into(),
    }
}

/// zip's messages start with a capital: "Compression method not supported".
fn lower(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The dataset being filled, image by image.
pub(super) struct Rows {
    spec: ImageSpec,
    pixels: Vec<u8>,
    labels: Vec<Option<u32>>,
    pub(super) count: usize,
}

impl Rows {
    pub(super) fn new(spec: ImageSpec, capacity: usize) -> Result<Rows> {
        let mut pixels = Vec::new();
        pixels
            .try_reserve_exact(capacity * spec.row_len())
            .map_err(|_| {
                fail(format!(
                    "not enough memory for {} of {}×{}×{}",
                    plural(capacity, "image"),
                    spec.channels,
                    spec.size,
                    spec.size
                ))
            })?;
        Ok(Rows {
            spec,
            pixels,
            labels: Vec::new(),
            count: 0,
        })
    }

    pub(super) fn push(&mut self, row: &[u8], label: Option<u32>) {
        self.pixels.extend_from_slice(row);
        self.labels.push(label);
        self.count += 1;
    }

    /// The dataset, less the classes whose every image was skipped (labels renumbered).
    pub(super) fn finish(self, class_names: Vec<String>) -> Result<Dataset> {
        let mut used = vec![false; class_names.len()];
        for &l in self.labels.iter().flatten() {
            used[l as usize] = true;
        }
        let mut renumber = vec![0u32; class_names.len()];
        let mut kept = Vec::new();
        for (k, name) in class_names.into_iter().enumerate() {
            if used[k] {
                renumber[k] = kept.len() as u32;
                kept.push(name);
            }
        }
        let labels = self
            .labels
            .iter()
            .flatten()
            .map(|&l| renumber[l as usize])
            .collect();
        Dataset::conditional(self.spec, self.pixels, labels, kept)
    }
}

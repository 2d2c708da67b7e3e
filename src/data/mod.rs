//! Training images: the in-memory [`Dataset`], its compact binary format, and the loader that
//! turns a user's zip of pictures into one.
//!
//! A dataset is what `kernels::tensor::gather_u8` reads on the GPU: `count` rows of
//! `channels × size × size` bytes, each row one image in CHW order (plane after plane, row after
//! row), later scaled to [-1, 1] on the GPU.
//!
//! - `format.rs`: [`Dataset::encode`] / [`Dataset::decode`] (the `WGDS` file layout).
//! - `archive.rs`: [`load_zip`]: reads the zip within [`LoadLimits`] and assembles the dataset.
//! - `layout.rs`: which zip entries are images, and which folder is which class.
//! - `picture.rs`: one image file to one row: decode, flatten alpha, centre crop, resize.
//! - `report.rs`: [`LoadReport`], what was used and what was skipped, in words.
//! - `zip_layout.rs`: [`layout_of`], which kind of dataset a zip holds, by names alone: flat,
//!   class folders, unpaired domains (CycleGAN), pairs (pix2pix); `roles.rs` holds the rules,
//!   `folders.rs` the folder tree they look at and the matching of pairs by name.
//! - `pairs.rs`: [`load_pairs`], side-by-side images or `A/`, `B/` folders to aligned [`Pairs`].
//! - `unpaired.rs`: [`load_unpaired`], `trainA/` and `trainB/` to two [`Unpaired`] domains.
//! - `builtin.rs`: [`builtin_digits`], the 10,000 MNIST digits inside the native binary.

mod archive;
#[cfg(not(target_arch = "wasm32"))]
mod builtin;
mod folders;
mod format;
mod layout;
mod pairs;
mod picture;
mod report;
mod roles;
mod survey;
mod unpaired;
mod zip_layout;

pub use archive::{load_zip, load_zip_at_most, load_zip_with_limits, LoadLimits};
#[cfg(not(target_arch = "wasm32"))]
pub use builtin::builtin_digits;
pub use pairs::{load_pairs, load_pairs_at_most, Pairs, PairsReport};
pub use picture::load_picture;
pub use report::{FolderCount, LoadReport, Skipped};
pub use survey::{survey, Survey};
pub use unpaired::{load_unpaired, load_unpaired_at_most, Unpaired, UnpairedReport};
pub use zip_layout::{layout_expecting, layout_of, Expect, ZipLayout};

/// Held-out images kept per folder of a two-domain dataset: enough for a grid of fixed
/// examples, few enough to cost nothing beside the training set.
pub const HELD_OUT: usize = 64;

use crate::{Error, Result};

/// The shape every image of a dataset has: square, `size × size`, gray or RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// Side in pixels (28, 32, 64, …).
    pub size: u32,
    /// 1 = gray (luma), 3 = RGB.
    pub channels: u32,
}

impl ImageSpec {
    /// The largest side accepted: a 1024×1024×3 row is 3 MiB, already far past what a GAN in
    /// the browser trains on.
    pub const MAX_SIZE: u32 = 1024;

    pub fn gray(size: u32) -> ImageSpec {
        ImageSpec { size, channels: 1 }
    }

    pub fn rgb(size: u32) -> ImageSpec {
        ImageSpec { size, channels: 3 }
    }

    /// Bytes of one image: channels × size × size.
    pub fn row_len(&self) -> usize {
        self.channels as usize * self.size as usize * self.size as usize
    }

    pub fn validate(&self) -> Result<()> {
        if self.channels != 1 && self.channels != 3 {
            return Err(Error::Invalid(format!(
                "an image has 1 channel (gray) or 3 (RGB), not {}",
                self.channels
            )));
        }
        if self.size == 0 || self.size > Self::MAX_SIZE {
            return Err(Error::Invalid(format!(
                "the image size must be between 1 and {}, not {}",
                Self::MAX_SIZE,
                self.size
            )));
        }
        Ok(())
    }
}

/// Images as u8, with a class label per image when the dataset is conditional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub spec: ImageSpec,
    /// (count, channels, size, size): NCHW u8, row after row.
    pub pixels: Vec<u8>,
    /// Empty when unconditional, else one label per image, each below `class_names.len()`.
    pub labels: Vec<u32>,
    /// Empty when unconditional; label k names class `class_names[k]`.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// An unconditional dataset, checked by [`Dataset::validate`].
    pub fn unconditional(spec: ImageSpec, pixels: Vec<u8>) -> Result<Dataset> {
        Dataset::conditional(spec, pixels, Vec::new(), Vec::new())
    }

    /// A dataset with one label per image (an unconditional one when both lists are empty),
    /// checked by [`Dataset::validate`].
    pub fn conditional(
        spec: ImageSpec,
        pixels: Vec<u8>,
        labels: Vec<u32>,
        class_names: Vec<String>,
    ) -> Result<Dataset> {
        let dataset = Dataset {
            spec,
            pixels,
            labels,
            class_names,
        };
        dataset.validate()?;
        Ok(dataset)
    }

    pub fn row_len(&self) -> usize {
        self.spec.row_len()
    }

    /// Number of images.
    pub fn count(&self) -> usize {
        self.pixels.len().checked_div(self.row_len()).unwrap_or(0)
    }

    pub fn is_conditional(&self) -> bool {
        !self.class_names.is_empty()
    }

    /// Number of classes: 0 when unconditional.
    pub fn class_count(&self) -> usize {
        self.class_names.len()
    }

    pub fn class_name(&self, k: usize) -> Option<&str> {
        self.class_names.get(k).map(String::as_str)
    }

    /// Images of each class, indexed by label; empty when unconditional. Labels out of range
    /// (which [`Dataset::validate`] rejects) are not counted.
    pub fn images_per_class(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &label in &self.labels {
            if let Some(c) = counts.get_mut(label as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Row `i`: channels × size × size bytes, CHW.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let n = self.row_len();
        self.pixels
            .get(i.checked_mul(n)?..i.checked_add(1)?.checked_mul(n)?)
    }

    /// The invariants every other function assumes: a valid spec, at least one image, whole
    /// rows, and one in-range label per image exactly when there are classes.
    pub fn validate(&self) -> Result<()> {
        self.spec.validate()?;
        let row_len = self.row_len();
        if self.pixels.is_empty() || !self.pixels.len().is_multiple_of(row_len) {
            return Err(Error::Dataset(format!(
                "{} pixel bytes are not a whole, non-zero number of {row_len}-byte images",
                self.pixels.len()
            )));
        }
        let count = self.count();
        let want_labels = if self.is_conditional() { count } else { 0 };
        if self.labels.len() != want_labels {
            return Err(Error::Dataset(format!(
                "{} labels for {count} images in {} classes",
                self.labels.len(),
                self.class_names.len()
            )));
        }
        if let Some((i, &l)) = self
            .labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= self.class_names.len())
        {
            return Err(Error::Dataset(format!(
                "image {i} has label {l}, but there are only {} classes",
                self.class_names.len()
            )));
        }
        Ok(())
    }

    /// The same images fitted to another spec: resized (Triangle filter) and converted between
    /// gray and RGB, labels kept. The built-in 28×28 gray digits become 32×32 or 64×64 RGB this way.
    pub fn converted(&self, spec: ImageSpec) -> Result<Dataset> {
        spec.validate()?;
        if spec == self.spec {
            return Ok(self.clone());
        }
        let pixels: Vec<u8> = self
            .pixels
            .chunks(self.row_len())
            .flat_map(|row| picture::refit(row, self.spec, spec))
            .collect();
        Ok(Dataset {
            spec,
            pixels,
            labels: self.labels.clone(),
            class_names: self.class_names.clone(),
        })
    }

    /// The first `n_per_class` images of every class (of the whole set when unconditional), in
    /// their original order. Classes keep their names and labels even when they end up empty.
    pub fn subset(&self, n_per_class: usize) -> Dataset {
        let row_len = self.row_len();
        let mut taken = vec![0usize; self.class_names.len().max(1)];
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for i in 0..self.count() {
            let label = self.labels.get(i).copied();
            let Some(slot) = taken.get_mut(label.unwrap_or(0) as usize) else {
                continue; // a label out of range: `validate` rejects those
            };
            if *slot < n_per_class {
                *slot += 1;
                pixels.extend_from_slice(&self.pixels[i * row_len..(i + 1) * row_len]);
                labels.extend(label);
            }
        }
        Dataset {
            spec: self.spec,
            pixels,
            labels,
            class_names: self.class_names.clone(),
        }
    }

    /// `self`'s images followed by `other`'s. Both must have the same spec and both be
    /// conditional or both not; classes are matched by name, and the merged class list is the
    /// sorted union of both, so labels are renumbered.
    pub fn merge(&self, other: &Dataset) -> Result<Dataset> {
        self.validate()?;
        other.validate()?;
        if self.spec != other.spec {
            return Err(Error::Dataset(format!(
                "cannot merge {:?} images with {:?} images",
                self.spec, other.spec
            )));
        }
        if self.is_conditional() != other.is_conditional() {
            return Err(Error::Dataset(
                "cannot merge a dataset with classes and one without".into(),
            ));
        }
        let mut class_names: Vec<String> = self
            .class_names
            .iter()
            .chain(&other.class_names)
            .cloned()
            .collect();
        class_names.sort();
        class_names.dedup();
        let relabel = |d: &Dataset| -> Vec<u32> {
            d.labels
                .iter()
                .map(|&l| {
                    let name = &d.class_names[l as usize];
                    let k = class_names
                        .binary_search(name)
                        .expect("name is in the union");
                    k as u32
                })
                .collect()
        };
        let mut labels = relabel(self);
        labels.extend(relabel(other));
        let mut pixels = self.pixels.clone();
        pixels.extend_from_slice(&other.pixels);
        Dataset::conditional(self.spec, pixels, labels, class_names)
    }
}

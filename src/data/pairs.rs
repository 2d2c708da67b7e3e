//! A zip of paired images (pix2pix) to two aligned datasets: row i of A is the input whose
//! target is row i of B. Pairs come side by side in one image (cut at w/2 as the reference's
//! AlignedDataset cuts them) or from `A/` and `B/` folders matched by name; `roles.rs` says
//! which. Each side then goes through the same decode, crop and resize as `load_zip`'s images;
//! matched pictures of different sizes are not aligned pixel for pixel, and their pair is
//! skipped.

use std::io::Cursor;

use zip::ZipArchive;

use super::archive::{fail, none_usable, not_images, open, read_entry, spread, Rows};
use super::folders::{match_by_name, Folder};
use super::layout::{Found, Scan};
use super::report::{passed_over, plural, thousands, FolderCount};
use super::roles::{PairSource, PairSplit, Plan, Roles};
use super::zip_layout::Expect;
use super::{picture, Dataset, ImageSpec, LoadLimits, Skipped, HELD_OUT};
use crate::Result;

/// Aligned pairs: `a` and `b` have the same count, and row i of `a` pairs with row i of `b`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairs {
    pub a: Dataset,
    pub b: Dataset,
    /// Pairs from the held-out split (`val/`, else `test/`), at most [`HELD_OUT`], aligned as
    /// `a` and `b` are: both present or both absent.
    pub held_out_a: Option<Dataset>,
    pub held_out_b: Option<Dataset>,
}

impl Pairs {
    /// Training pairs.
    pub fn count(&self) -> usize {
        self.a.count()
    }
}

/// What [`load_pairs`] gave, for the page and the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairsReport {
    /// Training pairs loaded.
    pub pairs: usize,
    /// Cut from side-by-side images, rather than matched between `A/` and `B/`.
    pub side_by_side: bool,
    /// The training split's folder, when the zip has splits.
    pub split: Option<String>,
    /// The held-out split's folder and the pairs kept from it.
    pub held_out: Option<FolderCount>,
    /// Side of every image after cropping and resizing.
    pub size: u32,
    /// Files looked at and not used: no partner, undecodable, not an image, outside the
    /// layout's folders.
    pub skipped: Vec<Skipped>,
    /// Entries passed over without a look: folders, hidden files, `__MACOSX/`.
    pub ignored: usize,
}

impl PairsReport {
    /// One line, e.g. "412 pairs (side by side) from train/, 64×64 after resizing; 64 held out
    /// from val/".
    pub fn summary(&self) -> String {
        let how = if self.side_by_side {
            "side by side"
        } else {
            "matched by name"
        };
        let from = self
            .split
            .as_ref()
            .map_or(String::new(), |s| format!(" from {s}/"));
        let mut out = format!(
            "{} ({how}){from}, {}×{} after resizing",
            plural(self.pairs, "pair"),
            self.size,
            self.size
        );
        if let Some(held) = &self.held_out {
            out += &format!(
                "; {} held out from {}/",
                thousands(held.images),
                held.folder
            );
        }
        out + &passed_over(&self.skipped, self.ignored)
    }
}

/// Reads a zip of pairs with no cap on their number: [`load_pairs_at_most`].
pub fn load_pairs(
    bytes: &[u8],
    spec: ImageSpec,
    limits: &LoadLimits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Pairs, PairsReport)> {
    load_pairs_at_most(bytes, spec, limits, usize::MAX, progress)
}

/// Reads a zip of pairs, both sides at `spec`, decoding at most `max_pairs` training pairs
/// evenly spread over them, within `limits`. A flat zip is taken as side-by-side pairs, and then
/// an image not about twice as wide as high is an error. `progress(done, total)` counts pairs.
pub fn load_pairs_at_most(
    bytes: &[u8],
    spec: ImageSpec,
    limits: &LoadLimits,
    max_pairs: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Pairs, PairsReport)> {
    spec.validate()?;
    let mut archive = open(bytes, limits)?;
    let scan = Scan::of(&archive);
    let (train, held_out, mut skipped) = choose(&scan, max_pairs)?;
    let total = train.len() + held_out.as_ref().map_or(0, Chosen::len);
    check_size(total, spec, limits)?;
    let mut read = Reading {
        archive: &mut archive,
        spec,
        limits,
        read_total: 0,
        done: 0,
        total,
        progress,
    };
    let mut train_skipped = Vec::new();
    let (a, b) = read.all(&train, &mut train_skipped)?;
    if a.count == 0 {
        return Err(none_usable(&plural(train.len(), "pair"), &train_skipped));
    }
    skipped.append(&mut train_skipped);
    let held = match held_out {
        Some(h) => Some((read.all(&h, &mut skipped)?, h.split)),
        None => None,
    };
    (read.progress)(total, total);
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let (a, b) = (a.finish(Vec::new())?, b.finish(Vec::new())?);
    let (held_out_a, held_out_b, held_out) = match held {
        Some(((ha, hb), folder)) if ha.count > 0 => {
            let count = FolderCount {
                folder,
                images: ha.count,
            };
            let (ha, hb) = (ha.finish(Vec::new())?, hb.finish(Vec::new())?);
            (Some(ha), Some(hb), Some(count))
        }
        _ => (None, None, None),
    };
    let report = PairsReport {
        pairs: a.count(),
        side_by_side: train.side_by_side(),
        split: Some(train.split).filter(|n| !n.is_empty()),
        held_out,
        size: spec.size,
        skipped,
        ignored: scan.ignored,
    };
    let pairs = Pairs {
        a,
        b,
        held_out_a,
        held_out_b,
    };
    Ok((pairs, report))
}

/// The training pairs (at most `max_pairs`) and held-out pairs to decode, and the files
/// already skipped by name; an error when the zip holds no pairs to train on.
fn choose(scan: &Scan, max_pairs: usize) -> Result<(Chosen, Option<Chosen>, Vec<Skipped>)> {
    if scan.images.is_empty() {
        return Err(fail(scan.no_image_message()));
    }
    let plan = Plan::of(scan, Expect::Pairs);
    let Roles::Paired { train, held_out } = plan.roles else {
        return Err(fail(format!(
            "this zip holds {}, not pairs: pairs are A/ and B/ folders of images matched by \
             name, or images holding A and B side by side (in train/, val/ folders or flat)",
            plan.layout.summary()
        )));
    };
    let Some(train) = train else {
        return Err(fail(format!(
            "this zip holds {} but no train/ folder to train on",
            plan.layout.summary()
        )));
    };
    let mut skipped = not_images(scan);
    skipped.extend(plan.beside);
    let train = Chosen::of(train, max_pairs, &mut skipped)?;
    // A held-out split without a usable pair is only missed: its unmatched names are listed.
    let held_out = held_out.and_then(|h| Chosen::of(h, HELD_OUT, &mut skipped).ok());
    Ok((train, held_out, skipped))
}

/// The pairs of one split chosen for decoding.
struct Chosen {
    /// The split's folder ("train"), empty when the zip has no splits.
    split: String,
    /// Where side-by-side images lie, for messages: "train/", "the zip".
    shown: String,
    items: Items,
}

enum Items {
    SideBySide(Vec<Found>),
    Matched(Vec<(Found, Found)>),
}

impl Chosen {
    /// At most `max` of the split's pairs, evenly spread; images without a partner go to
    /// `skipped`. An error when a folder holds no image or no name is matched.
    fn of(split: PairSplit, max: usize, skipped: &mut Vec<Skipped>) -> Result<Chosen> {
        let empty = |folder: &Folder| fail(format!("{} holds no images", folder.shown()));
        let (shown, items) = match split.source {
            PairSource::SideBySide(folder) => {
                if folder.images.is_empty() {
                    return Err(empty(&folder));
                }
                let shown = folder.shown();
                (shown, Items::SideBySide(spread(folder.images, max)))
            }
            PairSource::Folders { a, b } => {
                if let Some(folder) = [&a, &b].into_iter().find(|f| f.images.is_empty()) {
                    return Err(empty(folder));
                }
                let matched = match_by_name(&a, &b);
                skipped.extend(matched.unmatched);
                if matched.pairs.is_empty() {
                    return Err(fail(nothing_matched(&a, &b)));
                }
                (a.shown(), Items::Matched(spread(matched.pairs, max)))
            }
        };
        Ok(Chosen {
            split: split.name,
            shown,
            items,
        })
    }

    fn len(&self) -> usize {
        match &self.items {
            Items::SideBySide(images) => images.len(),
            Items::Matched(pairs) => pairs.len(),
        }
    }

    fn side_by_side(&self) -> bool {
        matches!(self.items, Items::SideBySide(_))
    }
}

/// "no image in A/ has a partner of the same name in B/ (A/ holds 1.png, …; B/ holds x.jpg, …)".
fn nothing_matched(a: &Folder, b: &Folder) -> String {
    let names = |f: &Folder| -> Vec<String> { f.images.iter().map(|i| i.path.clone()).collect() };
    format!(
        "no image in {} has a partner of the same name (less its extension) in {}: {} holds {}; \
         {} holds {}",
        a.shown(),
        b.shown(),
        a.shown(),
        super::report::listing(&names(a)),
        b.shown(),
        super::report::listing(&names(b))
    )
}

fn check_size(pairs: usize, spec: ImageSpec, limits: &LoadLimits) -> Result<()> {
    let bytes = (pairs as u64).saturating_mul(2 * spec.row_len() as u64);
    if bytes > limits.max_dataset_bytes {
        return Err(fail(format!(
            "the zip holds {}; at {}×{}×{} for A and again for B that is {} MiB, more than the \
             {} MiB limit: choose a smaller size or fewer images",
            plural(pairs, "pair"),
            spec.channels,
            spec.size,
            spec.size,
            bytes >> 20,
            limits.max_dataset_bytes >> 20
        )));
    }
    Ok(())
}

/// The archive being read, pair after pair, with the running totals every pair shares.
struct Reading<'r, 'z> {
    archive: &'r mut ZipArchive<Cursor<&'z [u8]>>,
    spec: ImageSpec,
    limits: &'r LoadLimits,
    read_total: u64,
    done: usize,
    total: usize,
    progress: &'r mut dyn FnMut(usize, usize),
}

impl Reading<'_, '_> {
    /// Both sides' rows of every chosen pair; a pair with an unusable side is skipped whole.
    fn all(&mut self, chosen: &Chosen, skipped: &mut Vec<Skipped>) -> Result<(Rows, Rows)> {
        let mut a = Rows::new(self.spec, chosen.len())?;
        let mut b = Rows::new(self.spec, chosen.len())?;
        let mut push = |rows: Option<(Vec<u8>, Vec<u8>)>| {
            if let Some((row_a, row_b)) = rows {
                a.push(&row_a, None);
                b.push(&row_b, None);
            }
        };
        match &chosen.items {
            Items::SideBySide(images) => {
                for found in images {
                    (self.progress)(self.done, self.total);
                    push(self.side_by_side(found, &chosen.shown, skipped)?);
                    self.done += 1;
                }
            }
            Items::Matched(pairs) => {
                for (found_a, found_b) in pairs {
                    (self.progress)(self.done, self.total);
                    push(self.matched(found_a, found_b, skipped)?);
                    self.done += 1;
                }
            }
        }
        Ok((a, b))
    }

    /// One image's entry, decoded; the reason it cannot be used goes to `skipped`.
    fn decode(
        &mut self,
        found: &Found,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Option<image::DynamicImage>> {
        let image = read_entry(self.archive, found.index, self.limits, &mut self.read_total)?
            .and_then(|bytes| picture::decode(&bytes, found.format, self.limits));
        Ok(match image {
            Ok(image) => Some(image),
            Err(reason) => {
                skipped.push(Skipped {
                    path: found.path.clone(),
                    reason,
                });
                None
            }
        })
    }

    fn side_by_side(
        &mut self,
        found: &Found,
        folder: &str,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(image) = self.decode(found, skipped)? else {
            return Ok(None);
        };
        let (width, height) = (image.width(), image.height());
        if !about_twice_as_wide(width, height) {
            return Err(fail(format!(
                "{} is {width}×{height} pixels, but each image in {} should hold a pair side by \
                 side, A on the left half and B on the right, so about twice as wide as high \
                 (a zip of single images trains with dcgan; pairs may also be A/ and B/ folders \
                 of images matched by name)",
                found.path, folder
            )));
        }
        let (a, b) = picture::halves(&image);
        Ok(Some((
            picture::fit(&a, self.spec),
            picture::fit(&b, self.spec),
        )))
    }

    fn matched(
        &mut self,
        found_a: &Found,
        found_b: &Found,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let a = self.decode(found_a, skipped)?;
        let b = self.decode(found_b, skipped)?;
        // Dropping one side alone would shift every later row against its partner.
        let partner = |kept: &Found, lost: &Found| Skipped {
            path: kept.path.clone(),
            reason: format!("its partner {} could not be used", lost.path),
        };
        match (a, b) {
            // Pixel i of A is the input for pixel i of B: pictures of different sizes are not
            // aligned, and cropping each to its centre would not align them.
            (Some(a), Some(b)) if (a.width(), a.height()) != (b.width(), b.height()) => {
                let side = |i: &image::DynamicImage| format!("{}×{}", i.width(), i.height());
                let unequal =
                    |own: &Found, own_side: String, partner: &Found, theirs: String| Skipped {
                        path: own.path.clone(),
                        reason: format!(
                            "it is {own_side} and its partner {} is {theirs}: the two pictures \
                             of a pair must be the same size",
                            partner.path
                        ),
                    };
                skipped.push(unequal(found_a, side(&a), found_b, side(&b)));
                skipped.push(unequal(found_b, side(&b), found_a, side(&a)));
                Ok(None)
            }
            (Some(a), Some(b)) => Ok(Some((
                picture::fit(&a, self.spec),
                picture::fit(&b, self.spec),
            ))),
            (Some(_), None) => {
                skipped.push(partner(found_a, found_b));
                Ok(None)
            }
            (None, Some(_)) => {
                skipped.push(partner(found_b, found_a));
                Ok(None)
            }
            (None, None) => Ok(None),
        }
    }
}

/// Within 10% of 2:1 (and always within a pixel), so that an odd width or a thin border still
/// passes: |w − 2h| ≤ max(2h / 10, 1).
fn about_twice_as_wide(width: u32, height: u32) -> bool {
    let (w, h) = (width as u64, height as u64);
    w.abs_diff(2 * h) <= (h / 5).max(1)
}

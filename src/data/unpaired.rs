//! A zip of two unpaired domains (CycleGAN's `trainA/` and `trainB/`) to two datasets whose
//! counts may differ: the model learns a mapping between the domains without being told which
//! image of A goes with which of B, as the reference's UnalignedDataset draws them apart.

use super::archive::{decode_all, fail, none_usable, not_images, open, spread, Rows};
use super::folders::Folder;
use super::layout::{Labelled, Scan};
use super::report::{passed_over, plural, FolderCount};
use super::roles::{Plan, Roles};
use super::zip_layout::Expect;
use super::{Dataset, ImageSpec, LoadLimits, Skipped, HELD_OUT};
use crate::Result;

/// Two domains' images; `a` and `b` need not have the same count, and their rows do not pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpaired {
    pub a: Dataset,
    pub b: Dataset,
    /// Images from `testA/` (or `valA/`), at most [`HELD_OUT`], for showing fixed examples the
    /// model never trained on; None when the zip has none.
    pub held_out_a: Option<Dataset>,
    pub held_out_b: Option<Dataset>,
}

/// What [`load_unpaired`] gave, for the page and the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpairedReport {
    /// Domain A's training folder and the images loaded from it: ("trainA", 1,067).
    pub a: FolderCount,
    pub b: FolderCount,
    pub held_out_a: Option<FolderCount>,
    pub held_out_b: Option<FolderCount>,
    /// Each domain's side after cropping and resizing.
    pub size_a: u32,
    pub size_b: u32,
    /// Files looked at and not used, each with its reason.
    pub skipped: Vec<Skipped>,
    /// Entries passed over without a look: folders, hidden files, `__MACOSX/`.
    pub ignored: usize,
}

impl UnpairedReport {
    /// One line, e.g. "trainA: 1,067 images, trainB: 1,334 images, 64×64 after resizing;
    /// held out testA: 64 images, testB: 64 images".
    pub fn summary(&self) -> String {
        let count = |f: &FolderCount| format!("{}: {}", f.folder, plural(f.images, "image"));
        let mut out = if self.size_a == self.size_b {
            format!(
                "{}, {}, {}×{} after resizing",
                count(&self.a),
                count(&self.b),
                self.size_a,
                self.size_a
            )
        } else {
            format!(
                "{} at {}×{}, {} at {}×{} after resizing",
                count(&self.a),
                self.size_a,
                self.size_a,
                count(&self.b),
                self.size_b,
                self.size_b
            )
        };
        let held: Vec<String> = [&self.held_out_a, &self.held_out_b]
            .into_iter()
            .flatten()
            .map(count)
            .collect();
        if !held.is_empty() {
            out += &format!("; held out {}", held.join(", "));
        }
        out + &passed_over(&self.skipped, self.ignored)
    }
}

/// Reads an unpaired zip with no cap on the images: [`load_unpaired_at_most`].
pub fn load_unpaired(
    bytes: &[u8],
    spec_a: ImageSpec,
    spec_b: ImageSpec,
    limits: &LoadLimits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Unpaired, UnpairedReport)> {
    load_unpaired_at_most(bytes, spec_a, spec_b, limits, usize::MAX, progress)
}

/// Reads `trainA/` at `spec_a` and `trainB/` at `spec_b`, at most `max_per_domain` images of
/// each (evenly spread), and up to [`HELD_OUT`] of each held-out folder, within `limits`.
/// `progress(done, total)` counts images over all four folders.
pub fn load_unpaired_at_most(
    bytes: &[u8],
    spec_a: ImageSpec,
    spec_b: ImageSpec,
    limits: &LoadLimits,
    max_per_domain: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Unpaired, UnpairedReport)> {
    spec_a.validate()?;
    spec_b.validate()?;
    let mut archive = open(bytes, limits)?;
    let scan = Scan::of(&archive);
    if scan.images.is_empty() {
        return Err(fail(scan.no_image_message()));
    }
    let plan = Plan::of(&scan, Expect::Anything);
    let Roles::Unpaired {
        a,
        b,
        held_out_a,
        held_out_b,
    } = plan.roles
    else {
        return Err(fail(format!(
            "this zip holds {}, not two unpaired domains: those are trainA/ and trainB/ \
             folders (with testA/ and testB/ held out, if any)",
            plan.layout.summary()
        )));
    };
    if let Some(empty) = [&a, &b].into_iter().find(|f| f.images.is_empty()) {
        return Err(fail(format!(
            "{} holds no images: each domain needs some",
            empty.shown()
        )));
    }
    let parts = [
        Part::of(a, spec_a, max_per_domain),
        Part::of(b, spec_b, max_per_domain),
        Part::of_held_out(held_out_a, spec_a),
        Part::of_held_out(held_out_b, spec_b),
    ];
    check_size(&parts, limits)?;
    let total: usize = parts.iter().map(|p| p.images.len()).sum();
    let mut skipped = not_images(&scan);
    skipped.extend(plan.beside);
    let (mut read_total, mut done) = (0, 0);
    let mut decode = |part: &Part| -> Result<(Rows, Vec<Skipped>)> {
        let mut part_skipped = Vec::new();
        let rows = decode_all(
            &mut archive,
            &part.images,
            part.spec,
            limits,
            &mut read_total,
            &mut part_skipped,
            &mut |d, _| progress(done + d, total),
        )?;
        done += part.images.len();
        Ok((rows, part_skipped))
    };
    let (a, report_a) = parts[0].finish(decode(&parts[0])?, &mut skipped)?;
    let (b, report_b) = parts[1].finish(decode(&parts[1])?, &mut skipped)?;
    // A held-out folder none of whose images could be used is only missed.
    let held_a = parts[2].finish(decode(&parts[2])?, &mut skipped).ok();
    let held_b = parts[3].finish(decode(&parts[3])?, &mut skipped).ok();
    let (held_out_a, held_report_a) = held_a.unzip();
    let (held_out_b, held_report_b) = held_b.unzip();
    skipped.sort_by(|x, y| x.path.cmp(&y.path));
    let report = UnpairedReport {
        a: report_a,
        b: report_b,
        held_out_a: held_report_a,
        held_out_b: held_report_b,
        size_a: spec_a.size,
        size_b: spec_b.size,
        skipped,
        ignored: scan.ignored,
    };
    let unpaired = Unpaired {
        a,
        b,
        held_out_a,
        held_out_b,
    };
    Ok((unpaired, report))
}

/// One folder's images chosen for decoding.
struct Part {
    folder: String,
    shown: String,
    spec: ImageSpec,
    images: Vec<Labelled>,
}

impl Part {
    fn of(folder: Folder, spec: ImageSpec, max: usize) -> Part {
        let images = folder
            .images
            .iter()
            .map(|found| Labelled {
                index: found.index,
                path: found.path.clone(),
                format: found.format,
                label: None,
            })
            .collect();
        Part {
            shown: folder.shown(),
            folder: folder.name,
            spec,
            images: spread(images, max),
        }
    }

    /// The dataset and its count, or an error naming the folder when none of its images could be
    /// used; the images skipped go to `skipped` either way.
    fn finish(
        &self,
        (rows, mut part_skipped): (Rows, Vec<Skipped>),
        skipped: &mut Vec<Skipped>,
    ) -> Result<(Dataset, FolderCount)> {
        let none = (rows.count == 0).then(|| {
            let what = format!("{} in {}", plural(self.images.len(), "image"), self.shown);
            none_usable(&what, &part_skipped)
        });
        skipped.append(&mut part_skipped);
        if let Some(error) = none {
            return Err(error);
        }
        let count = FolderCount {
            folder: self.folder.clone(),
            images: rows.count,
        };
        Ok((rows.finish(Vec::new())?, count))
    }

    /// A held-out folder, or an empty part when there is none.
    fn of_held_out(folder: Option<Folder>, spec: ImageSpec) -> Part {
        match folder {
            Some(folder) => Part::of(folder, spec, HELD_OUT),
            None => Part {
                folder: String::new(),
                shown: String::new(),
                spec,
                images: Vec::new(),
            },
        }
    }
}

fn check_size(parts: &[Part], limits: &LoadLimits) -> Result<()> {
    let bytes = parts.iter().fold(0u64, |sum, p| {
        let part = (p.images.len() as u64).saturating_mul(p.spec.row_len() as u64);
        sum.saturating_add(part)
    });
    if bytes > limits.max_dataset_bytes {
        let counts: Vec<String> = parts
            .iter()
            .filter(|p| !p.images.is_empty())
            .map(|p| format!("{} in {}", plural(p.images.len(), "image"), p.shown))
            .collect();
        return Err(fail(format!(
            "the zip holds {}: at {}×{} and {}×{} that is {} MiB, more than the {} MiB limit: \
             choose a smaller size or fewer images",
            counts.join(", "),
            parts[0].spec.size,
            parts[0].spec.size,
            parts[1].spec.size,
            parts[1].spec.size,
            bytes >> 20,
            limits.max_dataset_bytes >> 20
        )));
    }
    Ok(())
}

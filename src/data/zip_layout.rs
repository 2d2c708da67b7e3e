//! What a zip of images holds, told from its entries' names alone (nothing is decoded), so that
//! the page and the CLI can say what they found and suggest a model family before loading.
//!
//! The layouts are those of ImageFolder (flat, or a folder per class) and of the reference
//! pix2pix/CycleGAN code: `trainA/`, `trainB/` for two unpaired domains (UnalignedDataset),
//! `A/` and `B/` folders of pictures matched by name (the input of its combine script), and
//! pictures holding A and B side by side (AlignedDataset). `roles.rs` tells them apart.

use super::archive::{fail, open};
use super::layout::Scan;
use super::report::{listing, plural};
use super::roles::Plan;
use super::LoadLimits;
use crate::Result;

/// The kind of dataset a zip holds. Counts are of image files found by name, before any is
/// decoded (some may still fail), and of the training split when the zip has splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZipLayout {
    /// Images with no class folders (once the folders that wrap everything are stripped): one
    /// unconditional set.
    Flat { images: usize },
    /// Each top-level folder a class: a conditional set.
    Classes { classes: Vec<String>, images: usize },
    /// Two domains without pairs: `trainA/` and `trainB/`, perhaps with `testA/`, `testB/` (or
    /// `valA/`, `valB/`) held out. Their counts may differ.
    Unpaired {
        a: usize,
        b: usize,
        held_out_a: usize,
        held_out_b: usize,
    },
    /// Pairs in `A/` and `B/` folders, matched by file name without its extension, perhaps in
    /// splits (`train/A`, or `A/train` as the reference's combine script reads them).
    /// `unmatched` counts the training split's images that have no partner.
    PairedFolders {
        splits: Vec<String>,
        pairs: usize,
        unmatched: usize,
    },
    /// Each image a pair, A on its left half and B on its right (facades, edges2shoes, maps),
    /// in split folders (`train/`, `val/`, `test/`), or flat when pairs were expected.
    SideBySide { splits: Vec<String>, images: usize },
}

/// What the caller is about to train, where it knows: it settles what names alone cannot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expect {
    /// Names alone decide: a flat zip is a set of single images.
    #[default]
    Anything,
    /// Pairs (pix2pix): a flat zip is taken to hold side-by-side pairs.
    Pairs,
}

/// The layout of a zip, by names alone, with [`Expect::Anything`]. Errors as
/// [`super::load_zip`] does for a zip that cannot be read or holds no image.
pub fn layout_of(bytes: &[u8]) -> Result<ZipLayout> {
    layout_expecting(bytes, Expect::Anything)
}

/// [`layout_of`], told what the caller means to train.
pub fn layout_expecting(bytes: &[u8], expect: Expect) -> Result<ZipLayout> {
    let archive = open(bytes, &LoadLimits::default())?;
    let scan = Scan::of(&archive);
    if scan.images.is_empty() {
        return Err(fail(scan.no_image_message()));
    }
    Ok(Plan::of(&scan, expect).layout)
}

impl ZipLayout {
    /// The model family a person most likely wants for this layout: "cyclegan" for unpaired
    /// domains, "pix2pix" for pairs, "dcgan" for a flat set, "dcgan conditional" for classes.
    pub fn suggest(&self) -> &'static str {
        match self {
            ZipLayout::Flat { .. } => "dcgan",
            ZipLayout::Classes { .. } => "dcgan conditional",
            ZipLayout::Unpaired { .. } => "cyclegan",
            ZipLayout::PairedFolders { .. } | ZipLayout::SideBySide { .. } => "pix2pix",
        }
    }

    /// One line for a person, e.g. "two unpaired domains: 1,067 images in trainA/, 1,334
    /// images in trainB/ (120 and 140 held out)".
    pub fn summary(&self) -> String {
        let splits = |splits: &[String]| {
            if splits.is_empty() {
                String::new()
            } else {
                let named: Vec<String> = splits.iter().map(|s| format!("{s}/")).collect();
                format!(" (splits {})", listing(&named))
            }
        };
        match self {
            ZipLayout::Flat { images } => format!("{}, no class folders", plural(*images, "image")),
            ZipLayout::Classes { classes, images } => format!(
                "{} in {} ({})",
                plural(*images, "image"),
                plural(classes.len(), "class folder"),
                listing(classes)
            ),
            ZipLayout::Unpaired {
                a,
                b,
                held_out_a,
                held_out_b,
            } => {
                let mut out = format!(
                    "two unpaired domains: {} in trainA/, {} in trainB/",
                    plural(*a, "image"),
                    plural(*b, "image")
                );
                if held_out_a + held_out_b > 0 {
                    out += &format!(" ({held_out_a} and {held_out_b} held out)");
                }
                out
            }
            ZipLayout::PairedFolders {
                splits: s,
                pairs,
                unmatched,
            } => {
                let mut out = format!(
                    "{} in A/ and B/ matched by name{}",
                    plural(*pairs, "pair"),
                    splits(s)
                );
                if *unmatched > 0 {
                    out += &format!(", {} without a partner", plural(*unmatched, "image"));
                }
                out
            }
            ZipLayout::SideBySide { splits: s, images } => {
                format!("{} side by side{}", plural(*images, "pair"), splits(s))
            }
        }
    }
}

//! Which zip entries are images, and of which class, by their names alone.
//!
//! The ImageFolder convention: after stripping the folders that wrap every image
//! (`mydata/…`), images directly at the top make an unconditional dataset, and each top-level
//! folder is a class (sorted by name; images in its subfolders belong to it too).

use std::collections::BTreeSet;
use std::io::Cursor;

use image::ImageFormat;
use zip::ZipArchive;

use super::report::{listing, plural};
use super::{picture, Skipped};

/// An image file in the zip.
#[derive(Clone)]
pub(super) struct Found {
    pub(super) index: usize,
    /// Normalised: '/' separators, no empty or "." components.
    pub(super) path: String,
    pub(super) format: ImageFormat,
}

/// The zip's entries sorted into ignored, not images, and images, by name alone.
pub(super) struct Scan {
    pub(super) ignored: usize,
    pub(super) not_images: Vec<String>,
    pub(super) images: Vec<Found>,
    /// Folder entries that are not hidden, normalised as paths are: they show a folder that
    /// holds no file, such as an empty `trainB/`.
    pub(super) folders: Vec<String>,
}

impl Scan {
    pub(super) fn of(archive: &ZipArchive<Cursor<&[u8]>>) -> Scan {
        let mut scan = Scan {
            ignored: 0,
            not_images: Vec::new(),
            images: Vec::new(),
            folders: Vec::new(),
        };
        for index in 0..archive.len() {
            let name = archive
                .name_for_index(index)
                .unwrap_or("")
                .replace('\\', "/");
            let parts: Vec<&str> = name
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            let hidden = parts.iter().any(|p| p.starts_with('.') || *p == "__MACOSX");
            let Some(file) = parts.last().filter(|_| !name.ends_with('/') && !hidden) else {
                scan.ignored += 1; // a folder, a hidden file or folder, macOS metadata
                if !hidden && !parts.is_empty() {
                    scan.folders.push(parts.join("/"));
                }
                continue;
            };
            let path = parts.join("/");
            match picture::format_for(file) {
                Some(format) => scan.images.push(Found {
                    index,
                    path,
                    format,
                }),
                None => scan.not_images.push(path),
            }
        }
        scan
    }

    pub(super) fn no_image_message(&self) -> String {
        if self.not_images.is_empty() {
            return format!(
                "the zip holds no files, only {} (folders, hidden files or __MACOSX)",
                plural(self.ignored, "entry")
            );
        }
        format!(
            "the zip holds {} but none is an image (PNG, JPEG, GIF, BMP, WebP): {}",
            plural(self.not_images.len(), "file"),
            listing(&self.not_images)
        )
    }
}

/// How many leading folders wrap every path: `mydata/cats/1.png` and `mydata/dogs/1.png` are
/// wrapped by one, and a lone `cats/` folder holding every image is no more than a wrapper
/// either. `paths` are split into their components.
pub(super) fn wrapper_depth(paths: &[Vec<&str>]) -> usize {
    let mut depth = 0;
    while !paths.is_empty()
        && paths
            .iter()
            .all(|p| p.len() > depth + 1 && p[depth] == paths[0][depth])
    {
        depth += 1;
    }
    depth
}

/// An image to decode, with its class.
pub(super) struct Labelled {
    pub(super) index: usize,
    pub(super) path: String,
    pub(super) format: ImageFormat,
    pub(super) label: Option<u32>,
}

/// Which images belong to which class.
pub(super) struct Layout {
    /// Sorted; empty when the images are not in class folders.
    pub(super) class_names: Vec<String>,
    /// Sorted by label, then path.
    pub(super) images: Vec<Labelled>,
    /// Images lying at the top level beside class folders.
    pub(super) beside_classes: Vec<Skipped>,
}

impl Layout {
    pub(super) fn of(images: Vec<Found>) -> Layout {
        let parts: Vec<Vec<&str>> = images.iter().map(|f| f.path.split('/').collect()).collect();
        let depth = wrapper_depth(&parts);
        let classes: Vec<Option<String>> = parts
            .iter()
            .map(|p| (p.len() > depth + 1).then(|| p[depth].to_owned()))
            .collect();
        let class_names: Vec<String> = classes
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut layout = Layout {
            class_names,
            images: Vec::new(),
            beside_classes: Vec::new(),
        };
        for (found, class) in images.into_iter().zip(classes) {
            let label = match class {
                Some(class) => {
                    let k = layout.class_names.binary_search(&class);
                    Some(k.expect("class_names holds every class") as u32)
                }
                None if layout.class_names.is_empty() => None,
                None => {
                    layout.beside_classes.push(Skipped {
                        path: found.path,
                        reason: "at the top level beside class folders: put it in one".into(),
                    });
                    continue;
                }
            };
            layout.images.push(Labelled {
                index: found.index,
                path: found.path,
                format: found.format,
                label,
            });
        }
        layout
            .images
            .sort_by(|a, b| (a.label, &a.path).cmp(&(b.label, &b.path)));
        layout
    }
}

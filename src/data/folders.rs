//! The zip's folders by their names: which folders exist (even those without an image), which
//! images lie under each, and the pairing of two folders' images by name.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use super::layout::{Found, Scan};
use super::report::listing;
use super::Skipped;

/// The images under one folder of the dataset.
pub(super) struct Folder {
    /// Relative to the dataset's root, as a person would name it: "trainA", "train/A"; empty
    /// for the root itself.
    pub(super) name: String,
    /// The folder's path in the zip with a '/' after it; empty for the zip's root.
    prefix: String,
    /// Sorted by path.
    pub(super) images: Vec<Found>,
}

impl Folder {
    /// The zip's root as one folder holding `images`.
    pub(super) fn root(mut images: Vec<Found>) -> Folder {
        images.sort_by(|a, b| a.path.cmp(&b.path));
        Folder {
            name: String::new(),
            prefix: String::new(),
            images,
        }
    }

    /// "trainA/" in a sentence, or "the zip" for the root.
    pub(super) fn shown(&self) -> String {
        if self.name.is_empty() {
            "the zip".into()
        } else {
            format!("{}/", self.name)
        }
    }

    /// The name a pair is matched by: the path under this folder without its extension, so
    /// `A/001.png` and `B/001.jpg` are both "001".
    fn key<'f>(&self, found: &'f Found) -> &'f str {
        let rest = found.path.strip_prefix(&self.prefix).unwrap_or(&found.path);
        match rest.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() && !stem.ends_with('/') => stem,
            _ => rest,
        }
    }
}

/// Pairs matched by name between two folders.
pub(super) struct Matched {
    /// (A, B), in the order of their shared name.
    pub(super) pairs: Vec<(Found, Found)>,
    /// Images without a partner, and later images of a name already taken, with why.
    pub(super) unmatched: Vec<Skipped>,
}

pub(super) fn match_by_name(a: &Folder, b: &Folder) -> Matched {
    let mut unmatched = Vec::new();
    let names_a = by_name(a, &mut unmatched);
    let names_b = by_name(b, &mut unmatched);
    let mut pairs = Vec::new();
    for (name, found) in &names_a {
        match names_b.get(name) {
            Some(partner) => pairs.push(((*found).clone(), (*partner).clone())),
            None => unmatched.push(no_partner(found, b)),
        }
    }
    for (name, found) in &names_b {
        if !names_a.contains_key(name) {
            unmatched.push(no_partner(found, a));
        }
    }
    Matched { pairs, unmatched }
}

fn no_partner(found: &Found, other: &Folder) -> Skipped {
    Skipped {
        path: found.path.clone(),
        reason: format!("no partner of the same name in {}", other.shown()),
    }
}

/// A folder's images by their names; a second image of one name (`001.png` beside `001.jpg`)
/// cannot tell which is the pair, so the first in path order is kept.
fn by_name<'f>(folder: &'f Folder, unmatched: &mut Vec<Skipped>) -> BTreeMap<&'f str, &'f Found> {
    let mut names = BTreeMap::new();
    for found in &folder.images {
        match names.entry(folder.key(found)) {
            Entry::Vacant(slot) => {
                slot.insert(found);
            }
            Entry::Occupied(first) => unmatched.push(Skipped {
                path: found.path.clone(),
                reason: format!("{} has the same name", first.get().path),
            }),
        }
    }
    names
}

/// The zip's folders and images, to ask what lies where.
pub(super) struct Tree<'a> {
    images: &'a [Found],
    /// Every folder: those the zip lists, and each file's parents.
    folders: BTreeSet<String>,
}

impl<'a> Tree<'a> {
    pub(super) fn of(scan: &'a Scan) -> Tree<'a> {
        let images = scan.images.iter().map(|f| f.path.as_str());
        let others = scan.not_images.iter().chain(&scan.folders);
        let mut folders = BTreeSet::new();
        for path in images.chain(others.map(String::as_str)) {
            let mut at = path;
            while let Some((parent, _)) = at.rsplit_once('/') {
                folders.insert(parent.to_owned());
                at = parent;
            }
        }
        folders.extend(scan.folders.iter().cloned());
        Tree {
            images: &scan.images,
            folders,
        }
    }

    /// The folders directly inside `folder` ("" for the zip's root), sorted.
    pub(super) fn children(&self, folder: &str) -> Vec<&str> {
        let prefix = under(folder);
        self.folders
            .range(prefix.clone()..)
            .take_while(|f| f.starts_with(&prefix))
            .map(|f| &f[prefix.len()..])
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .collect()
    }

    /// The images under `root`/`name`, however deep.
    pub(super) fn folder(&self, root: &str, name: &str) -> Folder {
        let prefix = under(&join(root, name));
        let mut images: Vec<Found> = self
            .images
            .iter()
            .filter(|f| f.path.starts_with(&prefix))
            .cloned()
            .collect();
        images.sort_by(|a, b| a.path.cmp(&b.path));
        Folder {
            name: name.to_owned(),
            prefix,
            images,
        }
    }

    /// The images in none of `known` (names under `root`), each skipped with the reason.
    pub(super) fn outside(&self, root: &str, known: &[String]) -> Vec<Skipped> {
        let prefixes: Vec<String> = known.iter().map(|k| under(&join(root, k))).collect();
        let shown: Vec<String> = known.iter().map(|k| format!("{k}/")).collect();
        let reason = format!("outside the dataset's folders ({})", listing(&shown));
        self.images
            .iter()
            .filter(|f| !prefixes.iter().any(|p| f.path.starts_with(p)))
            .map(|f| Skipped {
                path: f.path.clone(),
                reason: reason.clone(),
            })
            .collect()
    }
}

/// "a/b" + "c" → "a/b/c"; "" + "c" → "c".
pub(super) fn join(root: &str, name: &str) -> String {
    match (root.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => root.to_owned(),
        _ => format!("{root}/{name}"),
    }
}

/// A folder's path as a prefix of the paths inside it: "a/b" → "a/b/", "" → "".
fn under(folder: &str) -> String {
    if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    }
}

//! Which images play which part, by their names alone: domains A and B of an unpaired zip,
//! the two sides of each pair, the training split and the one held out. Nothing is decoded.
//!
//! The rules, tried in this order at the dataset's root (the folder that wraps every image,
//! where a wrapper named like a part, such as `trainA/`, is not stripped: its sibling may be an
//! empty `trainB/`):
//! 1. `trainA/` and `trainB/` → unpaired; `valA/`, `valB/` or else `testA/`, `testB/` held out.
//! 2. `A/` and `B/` → pairs matched by name; split inside them when every folder they hold is a
//!    split (`A/train`, `B/train`, the combine script's input).
//! 3. Only split folders (`train/`, `val/`, `test/`): pairs in `A/` and `B/` inside each split
//!    when one has them, else side-by-side pairs when there are at least two splits.
//! 4. Otherwise ImageFolder: flat or classes, as `load_zip` reads them; a flat zip is taken as
//!    side-by-side pairs only when the caller expects pairs.

use std::collections::{BTreeMap, BTreeSet};

use super::folders::{join, match_by_name, Folder, Tree};
use super::layout::{wrapper_depth, Found, Layout, Scan};
use super::zip_layout::{Expect, ZipLayout};
use super::Skipped;

/// A dataset's splits, as the reference's `--phase` names its folders. The order is the
/// preference for the held-out split: validation, meant to be looked at during training, before
/// test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    /// In any case: a `Train/` folder is still the training split.
    fn of(name: &str) -> Option<Split> {
        match name.to_ascii_lowercase().as_str() {
            "train" => Some(Split::Train),
            "val" => Some(Split::Val),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    A,
    B,
}

/// `A` → (None, A), `trainB` → (Some(Train), B). The letter must be a capital: lower-case `a/`
/// and `b/` folders are far likelier to be classes.
fn domain_of(name: &str) -> Option<(Option<Split>, Side)> {
    let (head, side) = match name.strip_suffix('A') {
        Some(head) => (head, Side::A),
        None => (name.strip_suffix('B')?, Side::B),
    };
    if head.is_empty() {
        return Some((None, side));
    }
    Some((Some(Split::of(head)?), side))
}

fn names_a_part(folder: &str) -> bool {
    Split::of(folder).is_some() || domain_of(folder).is_some()
}

/// Where one split's pairs come from.
pub(super) enum PairSource {
    /// Each image a pair: A on the left half, B on the right.
    SideBySide(Folder),
    /// Two folders whose images pair up by name.
    Folders { a: Folder, b: Folder },
}

/// One split's pairs.
pub(super) struct PairSplit {
    /// The split's folder ("train", "val"), empty when the zip has no splits.
    pub(super) name: String,
    pub(super) source: PairSource,
}

/// The images each part of the dataset reads.
pub(super) enum Roles {
    /// Flat or class folders: `load_zip` reads those.
    Single,
    Unpaired {
        a: Folder,
        b: Folder,
        held_out_a: Option<Folder>,
        held_out_b: Option<Folder>,
    },
    /// `train` is None when the zip has splits but no training split.
    Paired {
        train: Option<PairSplit>,
        held_out: Option<PairSplit>,
    },
}

/// What names alone say about a zip.
pub(super) struct Plan {
    pub(super) layout: ZipLayout,
    pub(super) roles: Roles,
    /// Images outside every folder the layout reads, with why.
    pub(super) beside: Vec<Skipped>,
}

impl Plan {
    /// `scan` must hold at least one image.
    pub(super) fn of(scan: &Scan, expect: Expect) -> Plan {
        let tree = Tree::of(scan);
        let root = root_of(&scan.images);
        let children = tree.children(&root);
        unpaired(&tree, &root, &children)
            .or_else(|| paired_folders(&tree, &root, &children))
            .or_else(|| split_folders(&tree, &root, &children))
            .unwrap_or_else(|| image_folder(scan, expect))
    }
}

/// The folder that wraps every image, less the wrappers named like a part of a layout.
fn root_of(images: &[Found]) -> String {
    let parts: Vec<Vec<&str>> = images.iter().map(|f| f.path.split('/').collect()).collect();
    let mut depth = wrapper_depth(&parts);
    while depth > 0 && names_a_part(parts[0][depth - 1]) {
        depth -= 1;
    }
    parts
        .first()
        .map_or(String::new(), |p| p[..depth].join("/"))
}

fn unpaired(tree: &Tree, root: &str, children: &[&str]) -> Option<Plan> {
    // The first folder (in name order) of each split and side.
    let mut domains: BTreeMap<(Split, Side), &str> = BTreeMap::new();
    for &name in children {
        if let Some((Some(split), side)) = domain_of(name) {
            domains.entry((split, side)).or_insert(name);
        }
    }
    let a = tree.folder(root, domains.get(&(Split::Train, Side::A))?);
    let b = tree.folder(root, domains.get(&(Split::Train, Side::B))?);
    let held = domains
        .keys()
        .map(|&(split, _)| split)
        .find(|&s| s != Split::Train);
    let held_out = |side| {
        let name = domains.get(&(held?, side))?;
        Some(tree.folder(root, name))
    };
    let (held_out_a, held_out_b) = (held_out(Side::A), held_out(Side::B));
    let count = |f: &Option<Folder>| f.as_ref().map_or(0, |f| f.images.len());
    let layout = ZipLayout::Unpaired {
        a: a.images.len(),
        b: b.images.len(),
        held_out_a: count(&held_out_a),
        held_out_b: count(&held_out_b),
    };
    let known: Vec<String> = domains.values().map(|s| s.to_string()).collect();
    Some(Plan {
        layout,
        beside: tree.outside(root, &known),
        roles: Roles::Unpaired {
            a,
            b,
            held_out_a,
            held_out_b,
        },
    })
}

/// One split's source of pairs; `split` is None when the zip has no splits.
struct Group {
    split: Option<Split>,
    name: String,
    source: PairSource,
}

fn paired_folders(tree: &Tree, root: &str, children: &[&str]) -> Option<Plan> {
    if !(children.contains(&"A") && children.contains(&"B")) {
        return None;
    }
    let groups = splits_inside(tree, root).unwrap_or_else(|| {
        vec![Group {
            split: None,
            name: String::new(),
            source: PairSource::Folders {
                a: tree.folder(root, "A"),
                b: tree.folder(root, "B"),
            },
        }]
    });
    Some(paired_plan(tree, root, groups))
}

/// `A/train`, `B/train`, `A/val`, …: a group per split, when every folder inside `A/` and `B/`
/// is a split.
fn splits_inside(tree: &Tree, root: &str) -> Option<Vec<Group>> {
    let mut found: BTreeMap<(Split, Side), String> = BTreeMap::new();
    for (side, letter) in [(Side::A, "A"), (Side::B, "B")] {
        for name in tree.children(&join(root, letter)) {
            found
                .entry((Split::of(name)?, side))
                .or_insert_with(|| format!("{letter}/{name}"));
        }
    }
    if found.is_empty() {
        return None;
    }
    let splits: BTreeSet<Split> = found.keys().map(|&(split, _)| split).collect();
    let groups = splits.into_iter().map(|split| {
        // A split on one side only still names its folder, empty, on the other.
        let folder = |side, letter| {
            let name = found.get(&(split, side)).cloned();
            let name = name.unwrap_or_else(|| format!("{letter}/{}", split_name(split)));
            tree.folder(root, &name)
        };
        Group {
            split: Some(split),
            name: split_name(split).into(),
            source: PairSource::Folders {
                a: folder(Side::A, "A"),
                b: folder(Side::B, "B"),
            },
        }
    });
    Some(groups.collect())
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Val => "val",
        Split::Test => "test",
    }
}

fn split_folders(tree: &Tree, root: &str, children: &[&str]) -> Option<Plan> {
    if children.is_empty() || !children.iter().all(|n| Split::of(n).is_some()) {
        return None;
    }
    let mut splits: BTreeMap<Split, &str> = BTreeMap::new();
    for &name in children {
        splits.entry(Split::of(name)?).or_insert(name);
    }
    let has_a_and_b = |name: &str| {
        let inside = tree.children(&join(root, name));
        inside.contains(&"A") && inside.contains(&"B")
    };
    let folders = splits.values().any(|name| has_a_and_b(name));
    if !folders && splits.len() < 2 {
        return None; // one `train/` of single images is a wrapper, as in ImageFolder
    }
    let groups: Vec<Group> = splits
        .iter()
        .map(|(&split, &name)| Group {
            split: Some(split),
            name: name.to_owned(),
            source: if folders {
                PairSource::Folders {
                    a: tree.folder(root, &format!("{name}/A")),
                    b: tree.folder(root, &format!("{name}/B")),
                }
            } else {
                PairSource::SideBySide(tree.folder(root, name))
            },
        })
        .collect();
    Some(paired_plan(tree, root, groups))
}

/// Training from the `train` split (or the only group when there are no splits), held out
/// from the first other split; images outside every group's folders are set aside.
fn paired_plan(tree: &Tree, root: &str, groups: Vec<Group>) -> Plan {
    let known: Vec<String> = groups
        .iter()
        .flat_map(|g| match &g.source {
            PairSource::Folders { a, b } => vec![a.name.clone(), b.name.clone()],
            PairSource::SideBySide(folder) => vec![folder.name.clone()],
        })
        .collect();
    let splits: Vec<String> = groups
        .iter()
        .filter(|g| g.split.is_some())
        .map(|g| g.name.clone())
        .collect();
    let mut train = None;
    let mut held_out = None;
    for group in groups {
        let split = PairSplit {
            name: group.name,
            source: group.source,
        };
        match group.split {
            None | Some(Split::Train) => train = Some(split),
            Some(_) if held_out.is_none() => held_out = Some(split),
            Some(_) => {}
        }
    }
    let layout = match source(&train) {
        Some(PairSource::Folders { a, b }) => {
            let matched = match_by_name(a, b);
            ZipLayout::PairedFolders {
                splits,
                pairs: matched.pairs.len(),
                unmatched: matched.unmatched.len(),
            }
        }
        Some(PairSource::SideBySide(folder)) => ZipLayout::SideBySide {
            splits,
            images: folder.images.len(),
        },
        None => match source(&held_out) {
            Some(PairSource::Folders { .. }) => ZipLayout::PairedFolders {
                splits,
                pairs: 0,
                unmatched: 0,
            },
            _ => ZipLayout::SideBySide { splits, images: 0 },
        },
    };
    Plan {
        layout,
        beside: tree.outside(root, &known),
        roles: Roles::Paired { train, held_out },
    }
}

fn source(split: &Option<PairSplit>) -> Option<&PairSource> {
    split.as_ref().map(|s| &s.source)
}

/// Flat or class folders, as `load_zip` reads them.
fn image_folder(scan: &Scan, expect: Expect) -> Plan {
    let layout = Layout::of(scan.images.clone());
    let images = layout.images.len();
    if !layout.class_names.is_empty() {
        return Plan {
            layout: ZipLayout::Classes {
                classes: layout.class_names,
                images,
            },
            roles: Roles::Single,
            beside: Vec::new(),
        };
    }
    if expect == Expect::Pairs {
        let folder = Folder::root(scan.images.clone());
        return Plan {
            layout: ZipLayout::SideBySide {
                splits: Vec::new(),
                images,
            },
            roles: Roles::Paired {
                train: Some(PairSplit {
                    name: String::new(),
                    source: PairSource::SideBySide(folder),
                }),
                held_out: None,
            },
            beside: Vec::new(),
        };
    }
    Plan {
        layout: ZipLayout::Flat { images },
        roles: Roles::Single,
        beside: Vec::new(),
    }
}

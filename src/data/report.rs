//! What a zip gave: images per class (or per folder), entries skipped and why, entries ignored.

/// The outcome of [`super::load_zip`], for the page to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Images in the dataset.
    pub images: usize,
    /// (class name, images) in label order; empty when the dataset is unconditional.
    pub per_class: Vec<(String, usize)>,
    /// Files that were looked at and not used, each with its reason.
    pub skipped: Vec<Skipped>,
    /// Entries passed over without a look: folders, hidden files, `__MACOSX/`.
    pub ignored: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// A folder of a two-domain dataset and the images used from it: ("trainA", 1,067).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderCount {
    /// As in the zip, relative to the dataset's root: "trainA", "val".
    pub folder: String,
    pub images: usize,
}

/// Classes and skipped files named in a summary before "and N more".
const LISTED: usize = 10;

impl LoadReport {
    /// One line for a person, e.g. "10,000 images in 10 classes (0: 1,000, 1: 1,000, …);
    /// skipped 2: a.txt (not an image), b.png (corrupt: …); ignored 3 (folders, hidden files,
    /// __MACOSX)".
    pub fn summary(&self) -> String {
        let mut out = plural(self.images, "image");
        if !self.per_class.is_empty() {
            let classes: Vec<String> = self
                .per_class
                .iter()
                .map(|(name, n)| format!("{name}: {}", thousands(*n)))
                .collect();
            out += &format!(
                " in {} ({})",
                plural(self.per_class.len(), "class"),
                listing(&classes)
            );
        }
        out + &passed_over(&self.skipped, self.ignored)
    }
}

/// The end of a summary: "; skipped 2: a.txt (not an image), …; ignored 3 (folders, hidden
/// files, __MACOSX)", each part only when there is something to say.
pub(super) fn passed_over(skipped: &[Skipped], ignored: usize) -> String {
    let mut out = String::new();
    if !skipped.is_empty() {
        let items: Vec<String> = skipped
            .iter()
            .map(|s| format!("{} ({})", s.path, s.reason))
            .collect();
        out += &format!(
            "; skipped {}: {}",
            thousands(skipped.len()),
            listing(&items)
        );
    }
    if ignored > 0 {
        out += &format!(
            "; ignored {} (folders, hidden files, __MACOSX)",
            thousands(ignored)
        );
    }
    out
}

/// The first few items, comma separated, then "and N more".
pub(super) fn listing(items: &[String]) -> String {
    let mut out = items[..items.len().min(LISTED)].join(", ");
    if items.len() > LISTED {
        out += &format!(" and {} more", thousands(items.len() - LISTED));
    }
    out
}

/// "1 image", "10,000 images"; "2 classes"; "2 entries".
pub(super) fn plural(n: usize, noun: &str) -> String {
    let count = thousands(n);
    match noun {
        _ if n == 1 => format!("{count} {noun}"),
        _ if noun.ends_with('s') => format!("{count} {noun}es"),
        _ if noun.ends_with('y') => format!("{count} {}ies", &noun[..noun.len() - 1]),
        _ => format!("{count} {noun}s"),
    }
}

/// 1234567 → "1,234,567".
pub(super) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

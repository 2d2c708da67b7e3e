//! Runs one case of the corpus: the `webgan` binary in a fresh folder holding the case's files
//! and a run's checkpoint under `keep/`, then holds what came out to the rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a case must end in.
pub enum Expect {
    /// A non-zero exit whose message contains this text.
    Refused(&'static str),
    /// Exit 0, with these files (relative to the case's folder) written.
    Works(&'static [&'static str]),
    /// Either a refusal or success: inputs whose meaning is open (an overlapping zip entry read
    /// twice is the same picture twice), held only to no panic, a clean message and no loss.
    Either,
}

pub struct Case {
    pub name: String,
    pub args: Vec<String>,
    /// Files written into the case's folder before the run.
    pub files: Vec<(String, Vec<u8>)>,
    pub expect: Expect,
}

impl Case {
    pub fn new(name: impl Into<String>, args: &[&str], expect: Expect) -> Case {
        Case {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            files: vec![],
            expect,
        }
    }

    pub fn with(mut self, path: &str, bytes: Vec<u8>) -> Case {
        self.files.push((path.to_string(), bytes));
        self
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable file");
                out.insert(path.strip_prefix(dir).expect("inside").to_path_buf(), bytes);
            }
        }
    }
    out
}

/// What a person reads when the run is refused: clap's first line, or webgan's last.
fn message(stderr: &str) -> Option<&str> {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .find(|l| l.starts_with("error:"))
        .or_else(|| lines.iter().rev().find(|l| l.starts_with("webgan: ")))
        .copied()
}

/// Rust's insides that must never reach a person: struct dumps, paths, panics.
const INTERNALS: &[&str] = &[
    "::",
    "{ ",
    " }",
    "Caused by",
    "panicked",
    "Error {",
    "Some(",
    "src/",
    "RUST_BACKTRACE",
];

/// Runs `case` in `root/<index>` with `keep` (a checkpoint's bytes) at keep/checkpoint.safetensors.
/// Returns the faults found (empty: the case passed) and the message a person read, if any.
pub fn run(case: &Case, root: &Path, index: usize, keep: &[u8]) -> (Vec<String>, String) {
    let dir = root.join(format!("{index:03}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("keep")).expect("case folder");
    std::fs::write(dir.join("keep/checkpoint.safetensors"), keep).expect("keep");
    for (path, bytes) in &case.files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(path, bytes).expect("case file");
    }
    let before = snapshot(&dir);
    let output = Command::new(env!("CARGO_BIN_EXE_webgan"))
        .args(&case.args)
        .current_dir(&dir)
        .env(
            "WGPU_BACKEND",
            std::env::var("WGPU_BACKEND").unwrap_or("vulkan".into()),
        )
        .output()
        .expect("the webgan binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let after = snapshot(&dir);
    let mut faults = Vec::new();
    let code = output.status.code();
    if code.is_none() || code == Some(101) {
        faults.push(format!("crashed ({:?}): {stderr}", output.status));
        return (faults, String::new());
    }
    let kept = after.get(Path::new("keep/checkpoint.safetensors"));
    let refused = |faults: &mut Vec<String>, want: Option<&str>| {
        if output.status.success() {
            faults.push("succeeded where it should have been refused".into());
            return;
        }
        match message(&stderr) {
            None => faults.push(format!("no message: {stderr}")),
            Some(m) => {
                if let Some(bad) = INTERNALS.iter().find(|i| m.contains(*i)) {
                    faults.push(format!("message shows internals ({bad:?}): {m}"));
                }
                if m.chars().count() > 400 {
                    faults.push(format!("message longer than 400 characters: {m}"));
                }
                if let Some(w) = want {
                    if !m.contains(w) {
                        faults.push(format!("message lacks {w:?}: {m}"));
                    }
                }
            }
        }
        // Refused: nothing written, nothing changed.
        if after != before {
            let changed: Vec<_> = after
                .keys()
                .chain(before.keys())
                .filter(|k| after.get(*k) != before.get(*k))
                .collect();
            faults.push(format!("a refused run changed files: {changed:?}"));
        }
    };
    match &case.expect {
        Expect::Refused(want) => refused(&mut faults, Some(want)),
        Expect::Either if !output.status.success() => refused(&mut faults, None),
        Expect::Either => {}
        Expect::Works(files) => {
            if !output.status.success() {
                faults.push(format!("failed where it should work: {stderr}"));
            }
            for f in *files {
                if !dir.join(f).is_file() {
                    faults.push(format!("{f} was not written"));
                }
            }
        }
    }
    // A run that does not resume from keep/ leaves it as it was.
    let resumes_keep = case.args.iter().any(|a| a == "keep");
    if !resumes_keep && kept.map(Vec::as_slice) != Some(keep) {
        faults.push("keep/checkpoint.safetensors changed".into());
    }
    if faults.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let said = match output.status.success() {
        true => "(worked)".to_string(),
        false => message(&stderr).unwrap_or_default().to_string(),
    };
    (faults, said)
}

/// The most memory any child process has held so far, in bytes (Linux reports KiB).
pub fn children_max_rss() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0;
    assert!(ok, "getrusage");
    usage.ru_maxrss as u64 * 1024
}

//! A corpus of bad inputs run through the `webgan` binary as a person would run it: zips,
//! pictures, checkpoints, arguments and exports (`zips.rs`, `images.rs`, `checkpoints.rs`,
//! `arguments.rs`, `export.rs`). Every case must end without a panic, in a one-line message
//! without Rust's insides or in a real result, with nothing written where it was refused and
//! the run's own checkpoint untouched; no child process may hold 2 GB of memory (`run.rs`).

use crate::common;

mod arguments;
mod checkpoints;
mod export;
mod images;
mod run;
mod zips;

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};

pub use common::files::{noise, zip_of};

/// What a finished training run leaves in `out/`.
pub const TRAINED: &[&str] = &[
    "out/checkpoint.safetensors",
    "out/metrics.csv",
    "out/samples/latest.png",
];

/// The most memory one run may hold.
const MAX_RSS: u64 = 2 << 30;

/// A quick training run into `out`: one step of a narrow model.
pub fn train_args(out: &'static str) -> Vec<&'static str> {
    vec![
        "train",
        "--steps",
        "1",
        "--batch",
        "2",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--every",
        "0",
        "--quality-every",
        "0",
        "--out",
        out,
    ]
}

/// A `width`×`height` RGB PNG whose pixels depend on `seed`.
pub fn png_rgb(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([
            (x as u8).wrapping_mul(seed),
            (y as u8).wrapping_add(seed),
            seed,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Png)
        .expect("a PNG");
    out.into_inner()
}

/// A real run's checkpoint (conditional dcgan28 on the built-in digits, two steps), made by the
/// binary itself.
fn keep(root: &Path) -> Vec<u8> {
    let dir = root.join("keep-source");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let mut args = train_args("keep");
    args[2] = "2";
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_webgan"))
        .args(&args)
        .current_dir(&dir)
        .status()
        .expect("webgan runs");
    assert!(status.success(), "the run to keep trained");
    std::fs::read(dir.join("keep/checkpoint.safetensors")).expect("its checkpoint")
}

#[test]
fn every_bad_input_ends_cleanly_and_loses_nothing() {
    let root = std::env::temp_dir().join(format!("webgan-bad-inputs-{}", std::process::id()));
    let keep = keep(&root);
    let mut cases = zips::cases();
    cases.extend(images::cases());
    cases.extend(checkpoints::cases(&keep));
    cases.extend(arguments::cases());
    cases.extend(export::cases(&keep));
    assert!(cases.len() >= 100, "the corpus has {} cases", cases.len());

    // Two at a time: each run is mostly one process on one core.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let started = std::time::Instant::now();
                let (faults, said) = run::run(case, &root, i, &keep);
                let rss = run::children_max_rss();
                eprintln!(
                    "{i:03} {:<60} {:>5.1} s {}\n      {said}",
                    case.name,
                    started.elapsed().as_secs_f64(),
                    if faults.is_empty() { "ok" } else { "FAILED" }
                );
                let mut failures = failures.lock().expect("not poisoned");
                for f in faults {
                    failures.push(format!("{i:03} {}: {f}", case.name));
                }
                if rss > MAX_RSS {
                    failures.push(format!(
                        "{i:03} {}: a run held {} MiB (or an earlier one did)",
                        case.name,
                        rss >> 20
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().expect("not poisoned");
    let failed_cases: std::collections::BTreeSet<&str> = failures.iter().map(|f| &f[..3]).collect();
    println!(
        "bad inputs: {} passed, {} failed; largest run {} MiB",
        cases.len() - failed_cases.len(),
        failed_cases.len(),
        run::children_max_rss() >> 20
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&root);
}

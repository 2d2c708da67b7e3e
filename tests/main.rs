//! The integration tests in one binary: one link instead of one per file, and libtest runs the
//! slow files' tests beside the quick ones. One file per idea as before (`tests/<op>.rs`);
//! `cargo test --test integration conv::` runs one of them. A new file is declared here (or,
//! needing a device of its own, as a `[[test]]` in Cargo.toml), which
//! `every_test_file_is_declared` checks.

mod common;

mod activation;
mod attention;
mod augment;
mod bad_inputs;
mod batch_norm;
mod bench;
mod checkpoint;
mod cli;
mod condition;
mod conv;
mod copies;
mod cyclegan;
mod data;
mod data_at_most;
mod data_pairs;
mod digits;
mod display;
mod dropout;
mod frechet;
mod graph;
mod i2i_presets;
mod image_pool;
mod info_loss;
mod instance_norm;
mod jitter;
mod join;
mod learn;
mod learn_pix2pix;
mod loss;
mod modulate;
mod onnx_export;
mod optim;
mod penalty;
mod pix2pix;
mod pixel_loss;
mod pixel_shuffle;
mod quality;
mod random;
mod reflection_pad;
mod sagan;
mod shaders;
mod share;
mod softmax;
mod spectral_norm;
mod tensor;
mod train;
mod truncation;
mod upsample;

/// Cargo.toml turns off test discovery (`autotests = false`), so a file in tests/ that is
/// neither declared above nor a `[[test]]` target of its own would silently never run.
#[test]
fn every_test_file_is_declared() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/main.rs");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let module = match (path.extension().and_then(|e| e.to_str()), path.is_dir()) {
            (Some("rs"), false) if name != "main" => name,
            (None, true) if name != "common" && name != "browser" => name,
            _ => continue,
        };
        let own_target = format!("path = \"tests/{module}.rs\"");
        if !main.contains(&format!("\nmod {module};\n")) && !manifest.contains(&own_target) {
            missing.push(path.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "not declared in tests/main.rs: {missing:?}"
    );
}

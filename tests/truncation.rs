//! The truncation trick: z stays within ±ψ, values already inside are the plain draw's, each
//! value's redraws do not depend on how many are drawn, and a smaller ψ narrows the spread of
//! `webgan sample`'s images.

use std::path::Path;
use std::process::Command;

use webgan::checkpoint::Checkpoint;
use webgan::reference::random;
use webgan::train::sample::{check_truncation, truncated, MIN_TRUNCATION};

#[test]
fn truncated_draws_stay_inside_and_keep_what_was_inside() {
    for psi in [MIN_TRUNCATION, 0.3, 1.0, 2.5] {
        let z = truncated(7, 9, 4001, psi);
        let plain = random::normal(7, 9, 0, 4001);
        assert!(z.iter().all(|v| v.abs() <= psi), "ψ {psi}");
        let kept = z.iter().zip(&plain).filter(|(a, b)| a == b).count();
        let inside = plain.iter().filter(|v| v.abs() <= psi).count();
        assert_eq!(
            kept, inside,
            "ψ {psi}: values inside are kept, the rest redrawn"
        );
        // Prefix-stable: the first values are the same whatever the count.
        assert_eq!(truncated(7, 9, 37, psi), z[..37].to_vec());
        // Redrawn values land all over the interval, not at its edges.
        let redrawn: Vec<f32> = z
            .iter()
            .zip(&plain)
            .filter(|(a, b)| a != b)
            .map(|p| *p.0)
            .collect();
        if redrawn.len() > 100 {
            let mean_abs = redrawn.iter().map(|v| v.abs()).sum::<f32>() / redrawn.len() as f32;
            assert!(mean_abs < 0.7 * psi, "ψ {psi}: mean |z| {mean_abs}");
        }
    }
}

#[test]
fn truncation_refuses_what_it_cannot_draw() {
    for psi in [0.0, -1.0, f32::NAN, f32::INFINITY, 0.01] {
        let e = check_truncation(psi).expect_err("refused").to_string();
        assert!(e.contains("--truncation must be"), "{e}");
    }
    check_truncation(0.7).expect("accepted");
}

fn webgan(dir: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_webgan"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("webgan runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A fresh folder for a test, and a small dcgan28 trained `steps` steps into its `run/`
/// with `extra` flags.
fn trained(what: &str, steps: &str, extra: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("webgan-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let mut args = vec![
        "train", "--ngf", "4", "--ndf", "4", "--batch", "8", "--steps", steps,
    ];
    args.extend(["--every", "0", "--quality-every", "0", "--out", "run"]);
    args.extend(extra);
    webgan(&dir, &args);
    dir
}

/// The mean over pixels of the images' standard deviation across samples.
fn spread(dir: &Path, truncation: Option<&str>) -> f64 {
    let mut args = vec![
        "sample",
        "--checkpoint",
        "run/checkpoint.safetensors",
        "--n",
        "48",
    ];
    args.extend(["--out", "s", "--tensors", "t.safetensors"]);
    if let Some(psi) = truncation {
        args.extend(["--truncation", psi]);
    }
    webgan(dir, &args);
    let t = Checkpoint::from_bytes(&std::fs::read(dir.join("t.safetensors")).expect("written"))
        .expect("a safetensors file");
    let images = &t.tensors["images"];
    let (n, len) = (images.shape[0], images.data.len() / images.shape[0]);
    let mut total = 0.0;
    for p in 0..len {
        let values: Vec<f64> = (0..n).map(|i| images.data[i * len + p] as f64).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        total += (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    }
    total / len as f64
}

#[test]
fn a_smaller_psi_narrows_the_samples() {
    let dir = trained("truncation", "5", &[]);
    let (all, one, half) = (
        spread(&dir, None),
        spread(&dir, Some("1")),
        spread(&dir, Some("0.3")),
    );
    assert!(one < 0.8 * all, "ψ 1: {one} against {all} untruncated");
    assert!(half < 0.6 * one, "ψ 0.3: {half} against {one} at ψ 1");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run trained on uniform noise (`--prior uniform`) is sampled from that noise, not from a
/// normal one G never saw, and refuses the truncation trick in a sentence.
#[test]
fn a_uniform_prior_is_sampled_uniformly_and_refuses_truncation() {
    let dir = trained("uniform", "2", &["--prior", "uniform"]);
    webgan(
        &dir,
        &[
            "sample",
            "--checkpoint",
            "run/checkpoint.safetensors",
            "--n",
            "32",
            "--out",
            "s",
            "--tensors",
            "t.safetensors",
        ],
    );
    let t = Checkpoint::from_bytes(&std::fs::read(dir.join("t.safetensors")).expect("written"))
        .expect("a safetensors file");
    let z = &t.tensors["z"].data;
    let mean_abs = z.iter().map(|v| v.abs()).sum::<f32>() / z.len() as f32;
    // Uniform in (−1, 1): |z| ≤ 1 and E|z| = 0.5 (a normal draw: 0.80, with values past 1).
    assert!(z.iter().all(|v| v.abs() < 1.0), "z beyond ±1");
    assert!((mean_abs - 0.5).abs() < 0.05, "mean |z| {mean_abs}");
    for command in ["sample", "interpolate"] {
        let o = Command::new(env!("CARGO_BIN_EXE_webgan"))
            .args([command, "--checkpoint", "run/checkpoint.safetensors"])
            .args(["--truncation", "0.5", "--out", "u.png"])
            .current_dir(&dir)
            .output()
            .expect("webgan runs");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{command}: truncation accepted");
        assert!(e.contains("drawn uniformly"), "{command}: {e}");
        assert!(!dir.join("u.png").exists(), "{command} wrote its output");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

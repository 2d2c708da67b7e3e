//! The shareable generator page's pure parts: half floats, the generator-only checkpoint (it
//! samples what the whole one samples) and the page filled in from its template.

use crate::common;

use std::sync::Arc;

use common::*;
use webgan::checkpoint::{half, Checkpoint, Tensor};
use webgan::model::presets::{ModelConfig, Preset};
use webgan::share::page::{base64, snippet_paths};
use webgan::share::{fill, generator_only, PageParts};
use webgan::train::sample::Sampler;
use webgan::train::{GpuDataset, TrainConfig, Trainer};

#[test]
fn every_half_survives_the_round_trip_through_f32() {
    for h in 0..=u16::MAX {
        let v = half::to_f32(h);
        if v.is_nan() {
            assert!(half::from_f32(v) & 0x7c00 == 0x7c00 && half::from_f32(v) & 0x3ff != 0);
            continue;
        }
        assert_eq!(half::from_f32(v), h, "half {h:#06x} = {v}");
    }
}

#[test]
fn floats_round_to_the_nearest_half_with_ties_to_even() {
    let ulp = 2f32.powi(-10);
    assert_eq!(half::to_f32(half::from_f32(1.0 + ulp / 2.0)), 1.0);
    assert_eq!(
        half::to_f32(half::from_f32(1.0 + 1.5 * ulp)),
        1.0 + 2.0 * ulp
    );
    assert_eq!(half::to_f32(half::from_f32(1.0 + 0.6 * ulp)), 1.0 + ulp);
    assert_eq!(half::to_f32(half::from_f32(65504.0)), 65504.0);
    assert_eq!(half::to_f32(half::from_f32(70000.0)), f32::INFINITY);
    assert_eq!(half::to_f32(half::from_f32(-1e-9)), -0.0);
    // The smallest subnormal half, 2⁻²⁴, and a value rounding up to it.
    assert_eq!(half::from_f32(2f32.powi(-24)), 1);
    assert_eq!(half::from_f32(0.6 * 2f32.powi(-24)), 1);
    let mut rng = Rng::new(3);
    for _ in 0..100_000 {
        let v = rng.uniform(-4.0, 4.0) as f32 * 10f32.powi(rng.below(6) as i32 - 4);
        let back = half::to_f32(half::from_f32(v));
        // Half a unit in the last place of an 11-bit significand, or of the subnormal step.
        let bound = (v.abs() * 2f32.powi(-11)).max(2f32.powi(-25));
        assert!((back - v).abs() <= bound, "{v} came back as {back}");
    }
}

#[test]
fn a_half_checkpoint_reads_back_within_rounding_and_refuses_what_a_half_cannot_hold() {
    let mut ck = Checkpoint::new();
    let data: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) * 0.0123).collect();
    ck.tensors
        .insert("w".into(), Tensor::new(vec![8, 8], data.clone()).unwrap());
    ck.metadata.insert("format".into(), "webgan-1".into());
    let bytes = ck.to_bytes_half().unwrap();
    assert!(bytes.len() < ck.to_bytes().unwrap().len() - 100);
    let back = Checkpoint::from_bytes(&bytes).unwrap();
    for (a, b) in data.iter().zip(&back.tensors["w"].data) {
        assert!((a - b).abs() <= a.abs() * 2f32.powi(-11), "{a} vs {b}");
    }
    ck.tensors
        .insert("big".into(), Tensor::new(vec![1], vec![1e5]).unwrap());
    let e = ck.to_bytes_half().unwrap_err().to_string();
    assert!(e.contains("`big`") && e.contains("16-bit"), "{e}");
}

/// A small conditional model of `preset` trained a few steps, with or without a moving average
/// of G.
fn trained(preset: Preset, ema: Option<f32>) -> Trainer {
    let gpu = Arc::new(webgan::Gpu::new_blocking().expect("GPU tests need an adapter"));
    let model = ModelConfig {
        nz: 16,
        ngf: 8,
        ndf: 8,
        classes: 2,
        ..ModelConfig::new(preset)
    };
    let side = preset.image_size() as usize;
    let row = model.channels as usize * side * side;
    let pixels: Vec<u8> = (0..16 * row).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<u32> = (0..16).map(|i| i % 2).collect();
    let data = GpuDataset::upload_labelled(&gpu, &pixels, row, &labels, 2).unwrap();
    let config = TrainConfig {
        model,
        batch: 8,
        ema,
        ..TrainConfig::new(preset)
    };
    let mut t = Trainer::new(gpu, config, data).unwrap();
    t.train(3).unwrap();
    t
}

/// The images G of `bytes` draws from the run's fixed noise, one class per image.
fn samples(gpu: &webgan::Gpu, bytes: &[u8]) -> Vec<f32> {
    let (g, config) = Trainer::load_generator(gpu, bytes).unwrap();
    let z = webgan::train::sample::fixed_noise(&config, 4);
    let sampler = Sampler::new(gpu, &g, &config, &z, &[0, 1, 0, 1]).unwrap();
    pollster::block_on(sampler.images(gpu)).unwrap()
}

/// The generator-only file of a run of `preset` holds G's tensors alone, and samples what the
/// whole checkpoint samples: exactly from its F32 floats, closely from its F16 ones.
fn alone_samples_what_the_whole_samples(preset: Preset, ema: Option<f32>) -> Checkpoint {
    let t = trained(preset, ema);
    let whole = pollster::block_on(t.save()).unwrap();
    let kept = if ema.is_some() { "netG_ema." } else { "netG." };
    let f32_file = generator_only(&whole, false).unwrap();
    // What `export --format html` names it: the preset, not the trainer's family ("dcgan").
    assert_eq!(f32_file.model, format!("conditional {}", preset.name()));
    let ck = Checkpoint::from_bytes(&f32_file.bytes).unwrap();
    let names: Vec<&String> = ck.tensors.keys().chain(ck.integers.keys()).collect();
    assert!(names.iter().all(|n| n.starts_with(kept)), "{names:?}");
    assert!(ck.tensors.keys().any(|n| n.ends_with("running_mean")));
    assert!(f32_file.bytes.len() * 2 < whole.len());

    let expected = samples(&t.gpu, &whole);
    assert_eq!(
        samples(&t.gpu, &f32_file.bytes),
        expected,
        "{preset:?}, ema {ema:?}"
    );
    let half_file = generator_only(&whole, true).unwrap();
    assert!(half_file.bytes.len() * 3 < f32_file.bytes.len() * 2);
    let from_half = samples(&t.gpu, &half_file.bytes);
    let worst = expected
        .iter()
        .zip(&from_half)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    // Images in [−1, 1]; weights rounded to 11 significant bits.
    assert!(
        worst < 0.02,
        "{preset:?}: f16 weights move a pixel by {worst}"
    );
    ck
}

#[test]
fn the_generator_alone_samples_what_the_whole_checkpoint_samples() {
    for ema in [None, Some(0.9)] {
        alone_samples_what_the_whole_samples(Preset::Dcgan28, ema);
    }
}

#[test]
fn a_sagan_generator_alone_keeps_spectral_norms_u_and_v() {
    // G runs in eval mode, σ from the stored u and v: without them it would not load.
    let ck = alone_samples_what_the_whole_samples(Preset::Sagan32, Some(0.9));
    for state in ["weight_orig", "weight_u", "weight_v", "gamma"] {
        assert!(
            ck.tensors.keys().any(|n| n.ends_with(state)),
            "no {state} in {:?}",
            ck.tensors.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_checkpoint_without_its_generator_is_refused_in_a_sentence() {
    let t = trained(Preset::Dcgan28, None);
    let mut ck = Checkpoint::from_bytes(&pollster::block_on(t.save()).unwrap()).unwrap();
    ck.tensors.retain(|k, _| !k.starts_with("netG."));
    ck.integers.retain(|k, _| !k.starts_with("netG."));
    let e = generator_only(&ck.to_bytes().unwrap(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no generator"), "{e}");
}

#[test]
fn base64_is_rfc_4648s() {
    for (plain, coded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), coded);
    }
    assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
}

#[test]
fn the_page_template_fills_in_once_with_every_part() {
    let generator = webgan::share::GeneratorFile {
        family: "dcgan".into(),
        model: "conditional dcgan28".into(),
        networks: vec!["netG"],
        bytes: b"weights".to_vec(),
    };
    let glue = "import * as import1 from \"./snippets/webgan-1/inline0.js\"\nimport * as import2 from \"./snippets/webgan-1/inline0.js\"\nconst x = 1;\n";
    assert_eq!(snippet_paths(glue), ["snippets/webgan-1/inline0.js"]);
    let parts = PageParts {
        html: include_str!("../www/share/generator.html"),
        script: include_str!("../www/share/generator.js"),
        css: include_str!("../www/share/generator.css"),
        glue,
        snippets: vec![("snippets/webgan-1/inline0.js".into(), "{{wasm}}".into())],
        wasm: b"\0asm",
    };
    let page = fill(&parts, &generator, true).unwrap();
    assert!(!page.contains("{{"), "a placeholder is left");
    assert!(page.contains(&base64(b"weights")) && page.contains(&base64(b"\0asm")));
    assert!(page.contains("data-half=\"true\""));
    assert!(page.contains("data-family=\"dcgan\""));
    assert_eq!(page.matches("<script").count(), 5);

    let broken = PageParts {
        script: "x = '</SCRIPT>'",
        ..parts
    };
    let e = fill(&broken, &generator, false).unwrap_err().to_string();
    assert!(e.contains("generator.js") && e.contains("</script"), "{e}");
}

//! Prints where one training step's time goes, per dispatch, for a preset at a batch size:
//! `cargo run --release --example profile_step -- dcgan28 64 [ngf] [classes]`.

use std::sync::Arc;

use webgan::model::presets::Preset;
use webgan::train::{GpuDataset, TrainConfig, Trainer};

fn main() -> webgan::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let preset = Preset::parse(args.get(1).map_or("dcgan28", |s| s.as_str()))?;
    let batch = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let width = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let classes = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let gpu = Arc::new(webgan::Gpu::new_blocking()?);
    let mut config = TrainConfig {
        batch,
        ..TrainConfig::new(preset)
    };
    config.model.ngf = width;
    config.model.ndf = width;
    config.model.classes = classes;
    let row = config.model.image().len();
    let pixels = vec![128u8; 64 * row];
    let dataset = if classes > 0 {
        GpuDataset::upload_labelled(&gpu, &pixels, row, &vec![0; 64], classes)?
    } else {
        GpuDataset::upload(&gpu, &pixels, row)?
    };
    let trainer = Trainer::new(gpu.clone(), config, dataset)?;
    let profile = webgan::bench::profile_step(&trainer);
    let total: f64 = profile.iter().map(|p| p.2).sum();
    println!(
        "adapter: {}; {} dispatches, {total:.1} ms in all",
        gpu.adapter_name(),
        profile.len()
    );
    let mut sorted = profile.clone();
    sorted.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (phase, kernel, ms) in sorted.iter().take(25) {
        println!("{ms:8.2} ms  {phase:<28} {kernel}");
    }
    Ok(())
}

//! Files the CLI writes: PNG grids, metrics.csv rows, checkpoints written atomically.

use std::io::Write;
use std::path::Path;

use webgan::train::Stats;
use webgan::{Error, Result};

pub fn io(e: std::io::Error) -> Error {
    Error::Invalid(format!("writing failed: {e}"))
}

pub struct Metrics {
    pub file: std::fs::File,
}

impl Metrics {
    pub fn append(
        &mut self,
        s: &Stats,
        seconds: f64,
        images_per_s: f64,
        frechet: Option<f64>,
    ) -> Result<()> {
        let frechet = frechet.map_or(String::new(), |d| format!("{d:.4}"));
        writeln!(
            self.file,
            "{},{seconds:.2},{},{},{},{},{},{},{},{images_per_s:.1},{frechet}",
            s.step,
            s.d_loss,
            s.g_loss,
            s.d_real,
            s.d_fake_before,
            s.d_fake_after,
            s.accuracy_real,
            s.accuracy_fake
        )
        .map_err(io)
    }
}

pub fn write_png(path: &Path, (width, height, rgba): &(u32, u32, Vec<u8>)) -> Result<()> {
    image::save_buffer(path, rgba, *width, *height, image::ExtendedColorType::Rgba8)
        .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))
}

/// Writes to a temporary file and renames it, so a crash never leaves half a checkpoint.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

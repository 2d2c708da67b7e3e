//! Files the CLI writes: PNG grids, metrics.csv rows, checkpoints written atomically.

use std::path::Path;

use webgan::{Error, Result};

pub fn io(e: std::io::Error) -> Error {
    Error::Invalid(format!("writing failed: {}", reason(&e)))
}

/// An I/O error in words, without the OS's error number.
pub fn reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "it does not exist".into(),
        PermissionDenied => "permission denied".into(),
        IsADirectory => "it is a folder, not a file".into(),
        NotADirectory => "a part of the path is a file, not a folder".into(),
        StorageFull => "the disk is full".into(),
        _ => {
            let text = e.to_string();
            match text.rfind(" (os error") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

/// The bytes of the file at `path`, or a sentence saying why they cannot be had.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {}", path.display(), reason(&e))))
}

pub fn write_png(path: &Path, (width, height, rgba): &(u32, u32, Vec<u8>)) -> Result<()> {
    image::save_buffer(path, rgba, *width, *height, image::ExtendedColorType::Rgba8)
        .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))
}

/// One generated image, exactly as the model made it: `size`×`size`, gray for a one-channel
/// model and RGB otherwise, so other tools (FID scripts, datasets) can read it as it is.
pub fn write_image(path: &Path, image: &[f32], channels: usize, size: usize) -> Result<()> {
    let colour = if channels == 1 {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let bytes = webgan::train::sample::interleaved(image, channels, size);
    image::save_buffer(path, &bytes, size as u32, size as u32, colour)
        .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))
}

/// A sentence refusing `path` given to `flag` for a file when it is a folder, before any work.
pub fn refuse_folder(flag: &str, path: Option<&Path>) -> Result<()> {
    match path {
        Some(p) if p.is_dir() => Err(Error::Invalid(format!(
            "{flag} {} is a folder: give a file name, e.g. out.safetensors",
            p.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes to a temporary file and renames it, so a crash never leaves half a checkpoint.
/// A failed write removes its temporary file too, so nothing is left behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

/// A DCGAN checkpoint's configuration, or a sentence naming the command that takes the
/// checkpoint's family instead.
pub fn dcgan_config(bytes: &[u8]) -> Result<webgan::train::TrainConfig> {
    let family = webgan::train::checkpoint_family(bytes)?;
    if family != "dcgan" {
        return Err(Error::Invalid(format!(
            "this is a {family} checkpoint, which translates images rather than drawing them from noise: use `webgan translate`"
        )));
    }
    Ok(webgan::train::Trainer::checkpoint_config(bytes)?.1)
}

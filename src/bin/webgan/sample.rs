//! `webgan sample` and `webgan interpolate`: images from a checkpoint's generator.
//!
//! Every count a person types is checked against what its output can hold before anything is
//! allocated, and G runs on at most [`CHUNK`] images at a time, so memory stays bounded however
//! many images are asked for.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use webgan::checkpoint::Checkpoint;
use webgan::train::codes::{grid_latents, latents, CodeChoice, Layout};
use webgan::train::sample::{
    check_truncation, check_truncation_fits, fixed_noise, noise, slerp, truncated, Grid, Sampler,
};
use webgan::train::{TrainConfig, Trainer};
use webgan::{reference, streams, Error, Gpu, Result};

use crate::output;

/// The widest and tallest grid PNG written, in pixels (256 MiB of RGBA at most).
pub const MAX_GRID_SIDE: usize = 8192;
/// The most images written to a folder in one call.
pub const MAX_FOLDER_IMAGES: u32 = 100_000;
/// Images generated per GPU run.
const CHUNK: usize = 256;

#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct SampleArgs {
    /// A checkpoint written by `webgan train` or the page.
    #[arg(long)]
    checkpoint: PathBuf,
    /// How many images (default 64, or as many as the --noise file holds).
    #[arg(long)]
    n: Option<u32>,
    /// Only this class (conditional models); default: a row per class.
    #[arg(long)]
    class: Option<u32>,
    /// Read z from a safetensors file (tensor `z`, shape [n, nz] or [n, nz, 1, 1]), e.g. to
    /// compare with another implementation on the same noise.
    #[arg(long)]
    noise: Option<PathBuf>,
    /// Noise seed (default: the run's fixed sample noise).
    #[arg(long)]
    seed: Option<u64>,
    /// A .png file for a grid, or a folder for one PNG per image (exactly the model's image:
    /// gray or RGB, at its size).
    #[arg(long)]
    out: PathBuf,
    /// The truncation trick (BigGAN): z's values outside ±ψ are redrawn, trading variety for
    /// typical images (smaller ψ: narrower; from 0.05).
    #[arg(long)]
    truncation: Option<f32>,
    /// Also write z ([n, nz]; InfoGAN's with its codes after the noise), the classes ([n],
    /// conditional models) and the images as f32 ([n, c, h, w] in [−1, 1]) to this
    /// safetensors file, e.g. to compare with PyTorch.
    #[arg(long)]
    tensors: Option<PathBuf>,
    /// InfoGAN: fix codes, e.g. "k=3" (the categorical code's value), "c1=0.5" (a continuous
    /// code, −2 to 2), or both: "k=3,c1=0.5"; the others are drawn (default: a row per value
    /// of k). A bare "c1" sweeps c1 from −1 to 1 along each row.
    #[arg(long)]
    code: Option<String>,
}

/// The most images `--tensors` holds.
const MAX_TENSOR_IMAGES: u32 = 4096;

#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct InterpolateArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// Images along each walk.
    #[arg(long, default_value_t = 10)]
    steps: u32,
    /// Walks, one per row.
    #[arg(long, default_value_t = 4)]
    rows: u32,
    /// Only this class (conditional models); default: row r walks within class r.
    #[arg(long)]
    class: Option<u32>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The truncation trick at ψ for each walk's ends (as `sample --truncation`).
    #[arg(long)]
    truncation: Option<f32>,
    /// InfoGAN: "c1" walks along continuous code c1 from −1 to 1 instead of the noise, a row
    /// per value of the categorical code; "k=3" or "c2=0.5" fix codes (as `sample --code`).
    #[arg(long)]
    code: Option<String>,
    #[arg(long)]
    out: PathBuf,
}

/// InfoGAN's codes as `--code` fixes them (all drawn without it); None for other models,
/// which refuse `--code`.
fn code_choice(config: &TrainConfig, code: Option<&str>) -> Result<Option<CodeChoice>> {
    let codes = config.model.codes;
    match code {
        Some(text) => CodeChoice::parse(text, codes).map(Some),
        None if codes.is_none() => Ok(None),
        None => Ok(Some(CodeChoice::drawn(codes))),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    crate::output::read(path)
}

/// One class per image: `class` for all, else rows of `columns` per class.
fn labels(config: &TrainConfig, n: u32, columns: u32, class: Option<u32>) -> Result<Vec<u32>> {
    let classes = config.model.classes;
    match (classes, class) {
        (0, Some(_)) if config.model.codes.categorical > 0 => Err(Error::Invalid(
            "--class needs a conditional model; InfoGAN's categorical code is chosen with --code k=…".into(),
        )),
        (0, Some(_)) => Err(Error::Invalid(
            "--class needs a conditional model; this one has no classes".into(),
        )),
        (0, None) => Ok(vec![]),
        (k, Some(c)) if c >= k => Err(Error::Invalid(format!(
            "class {c} does not exist: the model has classes 0 to {}",
            k - 1
        ))),
        (_, Some(c)) => Ok(vec![c; n as usize]),
        (k, None) => Ok((0..n).map(|i| (i / columns.max(1)) % k).collect()),
    }
}

/// The latent vectors in a noise file, and how many there are.
fn noise_from_file(path: &Path, nz: u32) -> Result<(u32, Vec<f32>)> {
    let ck = Checkpoint::from_bytes(&read(path)?)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let z = ck
        .tensors
        .get("z")
        .ok_or_else(|| Error::Invalid(format!("{} has no tensor `z`", path.display())))?;
    let n = z.shape.first().copied().unwrap_or(0);
    let ok = n > 0 && z.shape[1..].iter().product::<usize>() == nz as usize;
    if !ok {
        return Err(Error::Invalid(format!(
            "`z` in {} has shape {:?}; this model needs [n, {nz}] (or [n, {nz}, 1, 1])",
            path.display(),
            z.shape
        )));
    }
    if n > MAX_FOLDER_IMAGES as usize {
        return Err(Error::Invalid(format!(
            "`z` in {} holds {n} vectors; at most {MAX_FOLDER_IMAGES} images are generated at once",
            path.display()
        )));
    }
    if let Some(bad) = z.data.iter().find(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "`z` in {} holds {bad}: noise must be finite numbers",
            path.display()
        )));
    }
    Ok((n as u32, z.data.clone()))
}

/// The most images of `size` pixels a grid `columns` wide can hold within [`MAX_GRID_SIDE`].
fn grid_cells(size: usize) -> usize {
    (MAX_GRID_SIDE - webgan::train::sample::GRID_GAP) / (size + webgan::train::sample::GRID_GAP)
}

/// Runs G on `z` ([n, nz]) and `labels` ([n] or none) at most [`CHUNK`] images at a time,
/// handing each image ([channels, size, size] in [−1, 1]) to `each` with its index.
fn render(
    gpu: &Gpu,
    checkpoint: &[u8],
    z: &[f32],
    labels: &[u32],
    mut each: impl FnMut(usize, &[f32]) -> Result<()>,
) -> Result<()> {
    let config = crate::output::dcgan_config(checkpoint)?;
    let nz = config.model.latent_len() as usize;
    let n = z.len() / nz;
    let chunk = n.min(CHUNK);
    let padded = |v: &[u32], start: usize, end: usize| -> Vec<u32> {
        let mut out = v[start..end].to_vec();
        out.resize(chunk, 0);
        out
    };
    let first_labels = if labels.is_empty() {
        vec![]
    } else {
        padded(labels, 0, chunk)
    };
    let what = format!("{}'s generator", config.model.preset.name());
    let sampler = pollster::block_on(gpu.scoped(&what, || {
        let (g, config) = Trainer::load_generator(gpu, checkpoint)?;
        Sampler::new(gpu, &g, &config, &z[..chunk * nz], &first_labels)
    }))?;
    let len = config.model.image().len();
    let bar = (n > CHUNK).then(|| {
        ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} images ETA {eta}")
                .expect("a valid template"),
        )
    });
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        // Eval-mode batch norm treats images apart, so the zero padding changes no other image.
        let mut zc = z[start * nz..end * nz].to_vec();
        zc.resize(chunk * nz, 0.0);
        sampler.set_noise(gpu, &zc);
        if !labels.is_empty() {
            sampler.set_labels(gpu, &padded(labels, start, end));
        }
        let images = pollster::block_on(sampler.images(gpu))?;
        for i in start..end {
            each(i, &images[(i - start) * len..][..len])?;
        }
        if let Some(b) = &bar {
            b.set_position(end as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(())
}

pub fn sample(args: SampleArgs) -> Result<()> {
    let bytes = read(&args.checkpoint)?;
    let config = crate::output::dcgan_config(&bytes)?;
    let nz = config.model.nz;
    let (c, size) = (
        config.model.channels as usize,
        config.model.preset.image_size() as usize,
    );
    let choice = code_choice(&config, args.code.as_deref())?;
    let from_file = args
        .noise
        .as_deref()
        .map(|p| noise_from_file(p, nz))
        .transpose()?;
    let n = match (&from_file, args.n) {
        (Some((m, _)), Some(n)) if *m != n => {
            return Err(Error::Invalid(format!(
                "--n {n} asks for {n} images but the noise file holds {m} vectors: leave --n out to use them all"
            )))
        }
        (Some((m, _)), _) => *m,
        (None, Some(n)) => n,
        // InfoGAN: a row of 8 per value of its categorical code, as the training grid.
        (None, None) => match config.model.codes.categorical {
            0 => 64,
            k => 8 * k,
        },
    };
    let grid = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let most = if grid {
        grid_cells(size).pow(2).min(MAX_FOLDER_IMAGES as usize) as u32
    } else {
        MAX_FOLDER_IMAGES
    };
    if n == 0 || n > most {
        let room = if grid {
            format!(
                "a grid PNG holds 1 to {most} images of {size}×{size} ({MAX_GRID_SIDE}×{MAX_GRID_SIDE} pixels at most); for more, give a folder as --out (up to {MAX_FOLDER_IMAGES})"
            )
        } else {
            format!("a folder takes 1 to {MAX_FOLDER_IMAGES} images in one call")
        };
        return Err(Error::Invalid(format!("--n {n}: {room}")));
    }
    if !grid && args.out.is_file() {
        return Err(Error::Invalid(format!(
            "{} is a file: give a folder for one PNG per image, or a .png name for a grid",
            args.out.display()
        )));
    }
    if args.tensors.is_some() && n > MAX_TENSOR_IMAGES {
        return Err(Error::Invalid(format!(
            "--tensors holds at most {MAX_TENSOR_IMAGES} images, not {n}: ask for fewer with --n"
        )));
    }
    output::refuse_folder("--tensors", args.tensors.as_deref())?;
    if let Some(psi) = args.truncation {
        check_truncation(psi)?;
        check_truncation_fits(&config)?;
        if args.noise.is_some() {
            return Err(Error::Invalid(
                "--truncation draws z itself; a --noise file's z is used as it is: give one or the other".into(),
            ));
        }
    }
    let len = n as usize * nz as usize;
    let z = match (from_file, args.seed, args.truncation) {
        (Some((_, z)), _, _) => z,
        (None, seed, Some(psi)) => {
            truncated(seed.unwrap_or(config.seed), streams::FIXED_NOISE, len, psi)
        }
        (None, Some(seed), None) => noise(&config, seed, streams::FIXED_NOISE, n),
        (None, None, None) if choice.is_none() => fixed_noise(&config, n),
        (None, None, None) => noise(&config, config.seed, streams::FIXED_NOISE, n),
    };
    let k = config.model.codes.categorical;
    let columns = match &choice {
        // A row per value of the categorical code.
        Some(c) if k > 0 && c.categorical.is_none() => n.div_ceil(k),
        _ => (n as f64).sqrt().ceil() as u32,
    };
    // InfoGAN: the codes after the noise; a row per categorical value unless one is fixed.
    let z = match &choice {
        Some(choice) => {
            let seed = args.seed.unwrap_or(config.seed);
            grid_latents(&config.model, &z, columns, choice, seed)
        }
        None => z,
    };
    let labels = labels(&config, n, columns, args.class)?;
    let gpu = crate::open_gpu()?;
    let mut kept = Vec::new();
    let mut keep = |image: &[f32]| {
        if args.tensors.is_some() {
            kept.extend_from_slice(image);
        }
    };
    if grid {
        let mut sheet = Grid::new(n as usize, c, size, columns as usize);
        render(&gpu, &bytes, &z, &labels, |i, image| {
            keep(image);
            sheet.place(i, image);
            Ok(())
        })?;
        output::write_png(&args.out, &sheet.rgba())?;
        eprintln!("wrote a grid of {n} images to {}", args.out.display());
    } else {
        std::fs::create_dir_all(&args.out).map_err(output::io)?;
        render(&gpu, &bytes, &z, &labels, |i, image| {
            keep(image);
            output::write_image(&args.out.join(format!("{i:05}.png")), image, c, size)
        })?;
        let kind = if c == 1 { "gray" } else { "RGB" };
        eprintln!(
            "wrote {n} images ({size}×{size} {kind} PNGs) to {}",
            args.out.display()
        );
    }
    if let Some(path) = &args.tensors {
        let n = n as usize;
        let mut file = Checkpoint::new();
        let latent = config.model.latent_len() as usize;
        let z = webgan::checkpoint::Tensor::new(vec![n, latent], z)?;
        file.tensors.insert("z".into(), z);
        let images = webgan::checkpoint::Tensor::new(vec![n, c, size, size], kept)?;
        file.tensors.insert("images".into(), images);
        if !labels.is_empty() {
            let classes = labels.iter().map(|&l| i64::from(l)).collect();
            let classes = webgan::checkpoint::IntTensor::new(vec![n], classes)?;
            file.integers.insert("classes".into(), classes);
        }
        output::write_atomically(path, &file.to_bytes()?)?;
        eprintln!(
            "wrote z, the images{} as floats to {}",
            if labels.is_empty() {
                ""
            } else {
                " and their classes"
            },
            path.display()
        );
    }
    Ok(())
}

pub fn interpolate(args: InterpolateArgs) -> Result<()> {
    let bytes = read(&args.checkpoint)?;
    let config = crate::output::dcgan_config(&bytes)?;
    let size = config.model.preset.image_size() as usize;
    let most = grid_cells(size) as u32;
    if !(2..=most).contains(&args.steps) || !(1..=most).contains(&args.rows) {
        return Err(Error::Invalid(format!(
            "--steps must lie in 2..={most} and --rows in 1..={most}: the strip is one PNG of at most {MAX_GRID_SIDE}×{MAX_GRID_SIDE} pixels, {size}×{size} an image"
        )));
    }
    let choice = code_choice(&config, args.code.as_deref())?;
    if let Some(psi) = args.truncation {
        check_truncation(psi)?;
        check_truncation_fits(&config)?;
    }
    let sweep = choice.as_ref().is_some_and(|c| c.sweep.is_some());
    let nz = config.model.nz as usize;
    let mut z = Vec::with_capacity((args.rows * args.steps) as usize * nz);
    for row in 0..args.rows {
        let ends = match args.truncation {
            Some(psi) => truncated(args.seed, streams::walk(row), 2 * nz, psi),
            None if config.prior == webgan::train::Prior::Uniform => {
                let ends = noise(&config, args.seed, streams::walk(row), 2);
                // A uniform prior's walk goes straight between its ends: a great circle
                // would leave the cube G was trained on.
                for s in 0..args.steps {
                    let t = if sweep {
                        0.0
                    } else {
                        s as f32 / (args.steps - 1) as f32
                    };
                    z.extend((0..nz).map(|i| (1.0 - t) * ends[i] + t * ends[nz + i]));
                }
                continue;
            }
            None => reference::random::normal(args.seed, streams::walk(row), 0, 2 * nz),
        };
        for s in 0..args.steps {
            z.extend(slerp(
                &ends[..nz],
                &ends[nz..],
                s as f32 / (args.steps - 1) as f32,
            ));
        }
    }
    let z = match &choice {
        Some(choice) => {
            let draw = (args.seed, streams::walk(args.rows), 1);
            let layout = Layout::Walk { steps: args.steps };
            latents(&config.model, &z, layout, choice, draw)
        }
        None => z,
    };
    let labels = labels(&config, args.rows * args.steps, args.steps, args.class)?;
    let gpu = crate::open_gpu()?;
    let mut sheet = Grid::new(
        (args.rows * args.steps) as usize,
        config.model.channels as usize,
        size,
        args.steps as usize,
    );
    render(&gpu, &bytes, &z, &labels, |i, image| {
        sheet.place(i, image);
        Ok(())
    })?;
    output::write_png(&args.out, &sheet.rgba())?;
    eprintln!(
        "wrote {} walks of {} steps to {}",
        args.rows,
        args.steps,
        args.out.display()
    );
    Ok(())
}

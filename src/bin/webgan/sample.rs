//! `webgan sample` and `webgan interpolate`: images from a checkpoint's generator.

use std::path::{Path, PathBuf};

use webgan::checkpoint::Checkpoint;
use webgan::train::sample::{fixed_noise, grid_rgba, slerp, Sampler};
use webgan::train::{TrainConfig, Trainer};
use webgan::{reference, Error, Gpu, Result};

use crate::output;

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A checkpoint written by `webgan train` or the page.
    #[arg(long)]
    checkpoint: PathBuf,
    /// How many images.
    #[arg(long, default_value_t = 64)]
    n: u32,
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
    /// A .png file for a grid, or a folder for one PNG per image.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
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
    #[arg(long)]
    out: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))
}

/// One class per image: `class` for all, else rows of `columns` per class.
fn labels(config: &TrainConfig, n: u32, columns: u32, class: Option<u32>) -> Result<Vec<u32>> {
    let classes = config.model.classes;
    match (classes, class) {
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

fn noise_from_file(path: &Path, n: u32, nz: u32) -> Result<Vec<f32>> {
    let ck = Checkpoint::from_bytes(&read(path)?)?;
    let z = ck
        .tensors
        .get("z")
        .ok_or_else(|| Error::Invalid(format!("{} has no tensor `z`", path.display())))?;
    let ok = z.shape.first() == Some(&(n as usize))
        && z.shape[1..].iter().product::<usize>() == nz as usize;
    if !ok {
        return Err(Error::Invalid(format!("`z` in {} has shape {:?}; this model needs [{n}, {nz}] (or [{n}, {nz}, 1, 1]); set --n to match", path.display(), z.shape)));
    }
    Ok(z.data.clone())
}

fn render(
    gpu: &Gpu,
    ck_bytes: &[u8],
    z: &[f32],
    labels: &[u32],
) -> Result<(TrainConfig, Vec<f32>)> {
    let (g, config) = Trainer::load_generator(gpu, ck_bytes)?;
    let sampler = Sampler::new(gpu, &g, &config, z, labels)?;
    Ok((config, pollster::block_on(sampler.images(gpu))?))
}

pub fn sample(gpu: &Gpu, args: SampleArgs) -> Result<()> {
    if args.n == 0 {
        return Err(Error::Invalid("--n must be at least 1".into()));
    }
    let bytes = read(&args.checkpoint)?;
    let (_, config) = Trainer::checkpoint_config(&bytes)?;
    let nz = config.model.nz;
    let z = match (&args.noise, args.seed) {
        (Some(path), _) => noise_from_file(path, args.n, nz)?,
        (None, Some(seed)) => reference::random::normal(seed, 9, 0, (args.n * nz) as usize),
        (None, None) => fixed_noise(&config, args.n),
    };
    let columns = (args.n as f64).sqrt().ceil() as u32;
    let labels = labels(&config, args.n, columns, args.class)?;
    let (config, images) = render(gpu, &bytes, &z, &labels)?;
    let (c, size) = (
        config.model.channels as usize,
        config.model.preset.image_size() as usize,
    );
    if args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        output::write_png(
            &args.out,
            &grid_rgba(&images, args.n as usize, c, size, columns as usize),
        )?;
        eprintln!(
            "wrote a grid of {} images to {}",
            args.n,
            args.out.display()
        );
    } else {
        std::fs::create_dir_all(&args.out).map_err(output::io)?;
        for i in 0..args.n as usize {
            let one = &images[i * c * size * size..][..c * size * size];
            output::write_png(
                &args.out.join(format!("{i:05}.png")),
                &grid_rgba(one, 1, c, size, 1),
            )?;
        }
        eprintln!("wrote {} images to {}", args.n, args.out.display());
    }
    Ok(())
}

pub fn interpolate(gpu: &Gpu, args: InterpolateArgs) -> Result<()> {
    if args.steps < 2 || args.rows == 0 {
        return Err(Error::Invalid(
            "--steps must be at least 2 and --rows at least 1".into(),
        ));
    }
    let bytes = read(&args.checkpoint)?;
    let (_, config) = Trainer::checkpoint_config(&bytes)?;
    let nz = config.model.nz as usize;
    let mut z = Vec::new();
    for row in 0..args.rows {
        let ends = reference::random::normal(args.seed, 20 + row, 0, 2 * nz);
        for s in 0..args.steps {
            z.extend(slerp(
                &ends[..nz],
                &ends[nz..],
                s as f32 / (args.steps - 1) as f32,
            ));
        }
    }
    let labels = labels(&config, args.rows * args.steps, args.steps, args.class)?;
    let (config, images) = render(gpu, &bytes, &z, &labels)?;
    let grid = grid_rgba(
        &images,
        (args.rows * args.steps) as usize,
        config.model.channels as usize,
        config.model.preset.image_size() as usize,
        args.steps as usize,
    );
    output::write_png(&args.out, &grid)?;
    eprintln!(
        "wrote {} walks of {} steps to {}",
        args.rows,
        args.steps,
        args.out.display()
    );
    Ok(())
}

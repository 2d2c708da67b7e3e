//! `webgan translate`: an image-to-image checkpoint's generator on every image of a zip (or on
//! one picture), one translated image out per image in, at the model's size.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::data::{Dataset, ImageSpec, LoadLimits, ZipLayout};
use webgan::graph::program::Net;
use webgan::train::recipes::cyclegan::CycleGan;
use webgan::train::recipes::pix2pix::Pix2Pix;
use webgan::train::translate::Translator;
use webgan::train::Trainer;
use webgan::{Error, Result};

use crate::output;

#[derive(clap::Args)]
pub struct TranslateArgs {
    /// A CycleGAN or pix2pix checkpoint written by `webgan train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// A zip of images (flat or in folders; of a trainA/trainB zip, the held-out testA/ or
    /// testB/ images when there are some, else the training ones; of a zip of pairs, the A
    /// images, held-out ones first), or one picture.
    #[arg(long)]
    data: PathBuf,
    /// Where the translations go, one PNG per image in.
    #[arg(long, default_value = "webgan-translated")]
    out: PathBuf,
    /// AtoB (G_A, domain A's images into B's) or BtoA (G_B).
    #[arg(long, default_value = "AtoB")]
    direction: String,
    /// Also write the inputs and translations as f32 tensors `input` and `output` ([n, c, h, w],
    /// in [−1, 1]) to this safetensors file, e.g. to compare with PyTorch on the same weights.
    #[arg(long)]
    tensors: Option<PathBuf>,
}

/// The most images `--tensors` holds (a 256-pixel RGB image is 768 KiB of f32, twice over).
const MAX_TENSOR_IMAGES: usize = 1024;

/// Images at a time on the GPU.
const CHUNK: usize = 16;

/// The images to translate, at the generator's input size and channels.
fn images(args: &TranslateArgs, spec: ImageSpec, a_to_b: bool) -> Result<Dataset> {
    let bytes = output::read(&args.data)?;
    let limits = LoadLimits::default();
    let zipped = bytes.starts_with(b"PK");
    if !zipped {
        let name = args.data.display().to_string();
        return webgan::data::load_picture(&name, &bytes, spec, &limits);
    }
    let (held_out, train) = match webgan::data::layout_of(&bytes)? {
        ZipLayout::Unpaired { .. } => {
            let (d, _) = webgan::data::load_unpaired(&bytes, spec, spec, &limits, &mut |_, _| {})?;
            if a_to_b {
                (d.held_out_a, d.a)
            } else {
                (d.held_out_b, d.b)
            }
        }
        ZipLayout::PairedFolders { .. } | ZipLayout::SideBySide { .. } => {
            // The A side of each pair: the inputs.
            let (d, _) = webgan::data::load_pairs(&bytes, spec, &limits, &mut |_, _| {})?;
            (d.held_out_a, d.a)
        }
        _ => {
            let (d, report) = webgan::data::load_zip(&bytes, spec, &mut |_, _| {})?;
            eprintln!("data: {}", report.summary());
            return Ok(d);
        }
    };
    if held_out.is_some() {
        Ok(held_out.filter(|h| h.count() > 0).unwrap_or(train))
    } else {
        Ok(train)
    }
}

pub fn translate(args: TranslateArgs) -> Result<()> {
    let a_to_b = match args.direction.as_str() {
        "AtoB" => true,
        "BtoA" => false,
        other => {
            return Err(Error::Invalid(format!(
                "unknown direction '{other}': choose AtoB or BtoA"
            )))
        }
    };
    output::refuse_folder("--tensors", args.tensors.as_deref())?;
    let bytes = output::read(&args.checkpoint)?;
    let family = webgan::train::checkpoint_family(&bytes)?;
    let (ck, graph, name, size, channels) = match family.as_str() {
        "cyclegan" => {
            let (ck, run) = Trainer::<CycleGan>::config_of(&bytes)?;
            let nets = run.nets()?;
            if a_to_b {
                (ck, nets.g_a, "netG_A", run.size, run.input_nc)
            } else {
                (ck, nets.g_b, "netG_B", run.size, run.output_nc)
            }
        }
        "pix2pix" => {
            if !a_to_b {
                return Err(Error::Invalid(
                    "a pix2pix generator translates A into B only: --direction BtoA needs a CycleGAN checkpoint".into(),
                ));
            }
            let (ck, run) = Trainer::<Pix2Pix>::config_of(&bytes)?;
            (ck, run.nets()?.0, "netG", run.size, run.input_nc)
        }
        _ => {
            return Err(Error::Invalid(format!(
                "{} holds a {family} run, which makes images from noise: `webgan sample` draws them; translate takes a CycleGAN or pix2pix checkpoint",
                args.checkpoint.display()
            )))
        }
    };
    let dataset = images(&args, ImageSpec { size, channels }, a_to_b)?;
    if args.tensors.is_some() && dataset.count() > MAX_TENSOR_IMAGES {
        return Err(Error::Invalid(format!(
            "--tensors holds at most {MAX_TENSOR_IMAGES} images, and {} has {}: translate fewer",
            args.data.display(),
            dataset.count()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", args.out.display())))?;
    let gpu = crate::open_gpu()?;
    let g = Net::new(&gpu, graph, 0);
    webgan::train::load_weights(&gpu, &ck, &g, name)?;
    let out_channels = g.graph.output().c as usize;
    let count = dataset.count();
    let bar = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("translating {bar:30} {pos}/{len} images")
            .expect("a valid template"),
    );
    let row = dataset.row_len();
    let size = size as usize;
    let mut done = 0;
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for chunk in dataset.pixels.chunks(CHUNK * row) {
        let n = chunk.len() / row;
        let t = Translator::new(&gpu, &g, n as u32, None)?;
        let scaled: Vec<f32> = chunk.iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
        t.set_images(&gpu, &scaled)?;
        let translated = pollster::block_on(Translator::run_all(&gpu, &[&t]))?.remove(0);
        if args.tensors.is_some() {
            inputs.extend_from_slice(&scaled);
            outputs.extend_from_slice(&translated);
        }
        for (i, image) in translated.chunks(out_channels * size * size).enumerate() {
            let path = args.out.join(format!("{:05}.png", done + i + 1));
            output::write_image(&path, image, out_channels, size)?;
        }
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    if let Some(path) = &args.tensors {
        let shape = |c: usize| vec![count, c, size, size];
        let mut tensors = webgan::checkpoint::Checkpoint::new();
        let input = webgan::checkpoint::Tensor::new(shape(channels as usize), inputs)?;
        let output_t = webgan::checkpoint::Tensor::new(shape(out_channels), outputs)?;
        tensors.tensors.insert("input".into(), input);
        tensors.tensors.insert("output".into(), output_t);
        output::write_atomically(path, &tensors.to_bytes()?)?;
    }
    eprintln!(
        "translated {count} image{} {} with {name}: {}",
        if count == 1 { "" } else { "s" },
        if a_to_b { "A → B" } else { "B → A" },
        args.out.display()
    );
    Ok(())
}

//! The `webgan` command line as a person uses it: small datasets train end to end and choose
//! their preset, sampled images are exactly the model's, Ctrl-C keeps the run, a diverged run
//! says where to go back to and can go back with a lower learning rate. (Bad inputs:
//! tests/bad_inputs/.)

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("webgan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    dir
}

fn webgan(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webgan"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("webgan runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A flat zip of `n` colour pictures of `width`×`height`.
fn photos(n: usize, width: u32, height: u32) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..n {
        let image = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x * 3 + i as u32) as u8, (y * 5) as u8, (i * 40) as u8])
        });
        let mut png = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image)
            .write_to(&mut png, ImageFormat::Png)
            .expect("a PNG");
        zip.start_file(format!("photo{i:03}.png"), SimpleFileOptions::default())
            .expect("an entry");
        zip.write_all(&png.into_inner()).expect("written");
    }
    zip.finish().expect("a zip").into_inner()
}

const TINY: &[&str] = &["--batch", "4", "--ngf", "4", "--ndf", "4"];

fn train(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train"];
    args.extend(TINY);
    args.extend(extra);
    webgan(dir, &args)
}

#[test]
fn five_and_150_image_zips_train_to_a_checkpoint_with_the_preset_that_fits() {
    let dir = folder("small");
    std::fs::write(dir.join("five.zip"), photos(5, 40, 40)).expect("written");
    std::fs::write(dir.join("photos.zip"), photos(150, 80, 64)).expect("written");
    for (zip, preset) in [("five.zip", "dcgan32"), ("photos.zip", "dcgan64")] {
        let out = format!("run-{zip}");
        let o = train(&dir, &["--data", zip, "--steps", "3", "--out", &out]);
        let e = stderr(&o);
        assert!(o.status.success(), "{zip}: {e}");
        assert!(e.contains(&format!("→ {preset}")), "{zip}: {e}");
        assert!(e.contains("quality: not measured"), "{zip}: {e}");
        let ck = std::fs::read(dir.join(&out).join("checkpoint.safetensors")).expect("written");
        let (_, config) = webgan::train::Trainer::checkpoint_config(&ck).expect("a checkpoint");
        assert_eq!(config.model.preset.name(), preset);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sampled_images_are_exactly_the_models_and_a_noise_file_sets_their_number() {
    let dir = folder("sample");
    let o = train(
        &dir,
        &["--steps", "2", "--quality-every", "0", "--out", "run"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ck = "run/checkpoint.safetensors";
    let o = webgan(
        &dir,
        &["sample", "--checkpoint", ck, "--n", "3", "--out", "each"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 0..3 {
        let image = image::open(dir.join(format!("each/{i:05}.png"))).expect("a PNG");
        assert_eq!((image.width(), image.height()), (28, 28));
        assert_eq!(image.color(), image::ColorType::L8, "gray for a gray model");
    }
    let mut z = webgan::checkpoint::Checkpoint::new();
    z.tensors.insert(
        "z".into(),
        webgan::checkpoint::Tensor::new(vec![5, 100], vec![0.3; 500]).expect("a tensor"),
    );
    std::fs::write(dir.join("z.safetensors"), z.to_bytes().expect("bytes")).expect("written");
    let o = webgan(
        &dir,
        &[
            "sample",
            "--checkpoint",
            ck,
            "--noise",
            "z.safetensors",
            "--out",
            "z.png",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Five images, three to a row with 2-pixel gaps: 3 × 30 + 2 by 2 × 30 + 2.
    let grid = image::open(dir.join("z.png")).expect("a PNG");
    assert_eq!((grid.width(), grid.height()), (92, 62));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A zip of gray 28×28 pictures in `classes` folders of `n`: a bar at a class's own height.
fn bars(classes: usize, n: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for c in 0..classes {
        for i in 0..n {
            let image = ImageBuffer::from_fn(28, 28, |x, y| {
                let on = (y as usize / 4) == c && (x as usize + i) % 28 > 4;
                image::Luma([if on { 255u8 } else { 0 }])
            });
            let mut png = Cursor::new(Vec::new());
            DynamicImage::ImageLuma8(image)
                .write_to(&mut png, ImageFormat::Png)
                .expect("a PNG");
            zip.start_file(format!("bar{c}/{i:03}.png"), SimpleFileOptions::default())
                .expect("an entry");
            zip.write_all(&png.into_inner()).expect("written");
        }
    }
    zip.finish().expect("a zip").into_inner()
}

/// InfoGAN end to end: `--family infogan` trains infogan28 on a zip of class folders without
/// their labels; its grid has a row per code value; `--code` fixes a code's value in the
/// sampled latents and sweeps a continuous one; `eval` reports the categorical code's purity.
#[test]
fn infogan_trains_samples_by_code_sweeps_and_reports_its_purity() {
    let dir = folder("infogan");
    std::fs::write(dir.join("bars.zip"), bars(3, 6)).expect("written");
    let o = train(
        &dir,
        &[
            "--family",
            "infogan",
            "--data",
            "bars.zip",
            "--steps",
            "2",
            "--quality-every",
            "0",
            "--out",
            "run",
        ],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("without the class labels"), "{e}");
    assert!(e.contains("codes: one of 10 values, 2 continuous"), "{e}");
    let ck = "run/checkpoint.safetensors";
    // The training grid: 10 rows of 8 at 28 pixels with 2-pixel gaps.
    let grid = image::open(dir.join("run/samples/latest.png")).expect("a PNG");
    assert_eq!((grid.width(), grid.height()), (8 * 30 + 2, 10 * 30 + 2));
    let o = webgan(
        &dir,
        &[
            "sample",
            "--checkpoint",
            ck,
            "--n",
            "4",
            "--code",
            "k=7,c2=-1.5",
            "--out",
            "k7.png",
            "--tensors",
            "k7.safetensors",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let file = webgan::checkpoint::Checkpoint::from_bytes(
        &std::fs::read(dir.join("k7.safetensors")).expect("written"),
    )
    .expect("safetensors");
    let z = &file.tensors["z"];
    assert_eq!(z.shape, vec![4, 62 + 10 + 2]);
    for latent in z.data.chunks(74) {
        let onehot = &latent[62..72];
        assert_eq!(onehot.iter().sum::<f32>(), 1.0);
        assert_eq!(onehot[7], 1.0, "k=7 in every latent");
        assert!(latent[72].abs() < 1.0, "c1 drawn in (−1, 1)");
        assert_eq!(latent[73], -1.5, "c2 as fixed");
    }
    let o = webgan(
        &dir,
        &[
            "interpolate",
            "--checkpoint",
            ck,
            "--code",
            "c1",
            "--steps",
            "5",
            "--rows",
            "2",
            "--out",
            "c1.png",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = webgan(&dir, &["eval", "--checkpoint", ck, "--data", "bars.zip"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.contains("Purity: "), "{out}");
    assert!(out.contains("k=9→"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_stops_with_a_checkpoint_that_resumes() {
    let dir = folder("interrupt");
    let mut args = vec!["train"];
    args.extend(TINY);
    args.extend([
        "--steps",
        "1000000",
        "--every",
        "0",
        "--checkpoint-every",
        "0",
    ]);
    args.extend(["--quality-every", "0", "--out", "run"]);
    let child = Command::new(env!("CARGO_BIN_EXE_webgan"))
        .args(&args)
        .current_dir(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("webgan starts");
    // metrics.csv exists once the model is built and training has begun.
    let started = std::time::Instant::now();
    while !dir.join("run/metrics.csv").exists() {
        assert!(started.elapsed().as_secs() < 120, "training never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    // SAFETY: kill sends a signal to our own child, whose pid we hold.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().expect("webgan ends");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{e}");
    assert!(e.contains("stopped at step"), "{e}");
    let ck = std::fs::read(dir.join("run/checkpoint.safetensors")).expect("a checkpoint");
    let (ck, _) = webgan::train::Trainer::checkpoint_config(&ck).expect("it reads");
    let step = ck.get_int("state.step", &[]).expect("a step")[0];
    assert!(step > 0, "it trained before it stopped");
    let to = (step + 2).to_string();
    let o = train(
        &dir,
        &[
            "--resume",
            "run/checkpoint.safetensors",
            "--steps",
            &to,
            "--out",
            "run",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_diverged_run_names_its_last_checkpoint_keeps_it_and_resumes_at_a_lower_rate() {
    let dir = folder("diverge");
    let o = train(
        &dir,
        &["--steps", "2", "--quality-every", "0", "--out", "run"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ck = dir.join("run/checkpoint.safetensors");
    let before = std::fs::read(&ck).expect("written");
    let o = train(
        &dir,
        &[
            "--resume",
            "run/checkpoint.safetensors",
            "--lr-d",
            "1e30",
            "--lr-g",
            "1e30",
            "--steps",
            "40",
            "--every",
            "1",
            "--quality-every",
            "0",
            "--out",
            "run",
        ],
    );
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    let last = e.lines().last().expect("a message");
    assert!(
        last.starts_with("webgan: training diverged by step")
            && last.contains("the last checkpoint, at step 2, is run/checkpoint.safetensors"),
        "{last}"
    );
    assert_eq!(
        std::fs::read(&ck).expect("kept"),
        before,
        "the checkpoint is untouched"
    );
    let o = train(
        &dir,
        &[
            "--resume",
            "run/checkpoint.safetensors",
            "--lr-d",
            "1e-5",
            "--steps",
            "4",
            "--out",
            "run",
        ],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("D's learning rate 0.0002 → 0.00001"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An unpaired zip: `n` pictures in each of trainA/ and trainB/, and 2 in each of testA/ and
/// testB/, red squares against blue ones.
fn two_domains(n: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (folder, count, colour) in [
        ("trainA", n, [200, 30, 30]),
        ("trainB", n, [30, 30, 200]),
        ("testA", 2, [200, 30, 30]),
        ("testB", 2, [30, 30, 200]),
    ] {
        for i in 0..count {
            let image = ImageBuffer::from_fn(24, 24, |x, y| {
                let inside = (x as usize + i) % 24 < 12 && y > 6;
                Rgb(if inside { colour } else { [230, 230, 230] })
            });
            let mut png = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(image)
                .write_to(&mut png, ImageFormat::Png)
                .expect("a PNG");
            zip.start_file(format!("{folder}/{i:03}.png"), SimpleFileOptions::default())
                .expect("an entry");
            zip.write_all(&png.into_inner()).expect("written");
        }
    }
    zip.finish().expect("a zip").into_inner()
}

#[test]
fn an_unpaired_zip_trains_cyclegan_resumes_and_translates() {
    let dir = folder("cyclegan");
    std::fs::write(dir.join("shapes.zip"), two_domains(6)).expect("written");
    let tiny = [
        "--size",
        "16",
        "--ngf",
        "2",
        "--ndf",
        "2",
        "--n-blocks",
        "1",
        "--n-layers-d",
        "1",
        "--every",
        "2",
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--data", "shapes.zip"];
        args.extend(tiny);
        args.extend(extra);
        webgan(&dir, &args)
    };
    let o = run(&["--steps", "4", "--out", "run"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("→ CycleGAN"), "the family follows the zip: {e}");
    assert!(
        e.contains("trainA: 6 images, trainB: 6 images, 18×18"),
        "{e}"
    );
    assert!(
        e.contains("random 16×16 crop of the 18×18 images, flipped"),
        "{e}"
    );
    assert!(
        e.contains("100 epochs of 6 steps"),
        "the reference's schedule: {e}"
    );
    let metrics = std::fs::read_to_string(dir.join("run/metrics.csv")).expect("metrics");
    let mut lines = metrics.lines();
    assert_eq!(
        lines.next(),
        Some("step,seconds,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B,images_per_s,frechet")
    );
    assert_eq!(lines.count(), 2, "{metrics}");
    // Two held-out examples per domain, three columns: real, translated, back.
    let grid = image::open(dir.join("run/samples/latest.png")).expect("a grid");
    assert_eq!((grid.width(), grid.height()), (3 * 18 + 2, 4 * 18 + 2));

    let o = run(&[
        "--steps",
        "6",
        "--out",
        "run",
        "--resume",
        "run/checkpoint.safetensors",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics = std::fs::read_to_string(dir.join("run/metrics.csv")).expect("metrics");
    assert!(
        metrics.lines().last().unwrap_or("").starts_with("6,"),
        "{metrics}"
    );
    // Resuming takes the checkpoint's settings, whatever the defaults of the flags not typed;
    // a typed one that would change the networks is refused.
    let resume = [
        "train",
        "--data",
        "shapes.zip",
        "--out",
        "run",
        "--resume",
        "run/checkpoint.safetensors",
    ];
    let o = webgan(
        &dir,
        &[&resume[..], &["--steps", "7", "--every", "1"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = webgan(
        &dir,
        &[&resume[..], &["--steps", "9", "--ngf", "3"]].concat(),
    );
    assert!(
        stderr(&o).contains("--ngf cannot change when resuming"),
        "{}",
        stderr(&o)
    );

    let o = webgan(
        &dir,
        &[
            "translate",
            "--checkpoint",
            "run/checkpoint.safetensors",
            "--data",
            "shapes.zip",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 1..=2 {
        let image = image::open(dir.join(format!("out/{i:05}.png"))).expect("a translation");
        assert_eq!((image.width(), image.height()), (16, 16));
    }
    assert!(
        !dir.join("out/00003.png").exists(),
        "the held-out testA images alone"
    );

    // Flags and commands of the other family are refused in a sentence.
    let o = run(&["--steps", "4", "--out", "other", "--k", "2"]);
    assert!(
        stderr(&o).contains("--k is a dcgan option"),
        "{}",
        stderr(&o)
    );
    let o = webgan(
        &dir,
        &[
            "sample",
            "--checkpoint",
            "run/checkpoint.safetensors",
            "--out",
            "s",
        ],
    );
    assert!(
        stderr(&o).contains("use `webgan translate`"),
        "{}",
        stderr(&o)
    );
    let o = webgan(&dir, &["train", "--pool-size", "3", "--out", "digits"]);
    assert!(
        stderr(&o).contains("--pool-size is a cyclegan option"),
        "{}",
        stderr(&o)
    );
}

/// `n` pairs of 64×32 pictures side by side (A: an outline, B: filled) in train/, and 2 in
/// val/: the layout of the public pix2pix datasets.
fn side_by_side_pairs(n: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (split, count) in [("train", n), ("val", 2)] {
        for i in 0..count {
            let image = ImageBuffer::from_fn(64, 32, |x, y| {
                let (h, v) = ((x % 32) as i32 - 16, y as i32 - 16);
                let d = h * h + v * v;
                let r = 6 + i as i32;
                Rgb(match (x < 32, d < r * r, (d - r * r).abs() < 2 * r) {
                    (true, _, true) => [0, 0, 0],
                    (true, _, false) => [255, 255, 255],
                    (false, true, _) => [220, 120, 20],
                    (false, false, _) => [240, 240, 255],
                })
            });
            let mut png = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(image)
                .write_to(&mut png, ImageFormat::Png)
                .expect("a PNG");
            zip.start_file(format!("{split}/{i:03}.png"), SimpleFileOptions::default())
                .expect("an entry");
            zip.write_all(&png.into_inner()).expect("written");
        }
    }
    zip.finish().expect("a zip").into_inner()
}

#[test]
fn a_zip_of_pairs_trains_pix2pix_and_translates() {
    let dir = folder("pix2pix");
    std::fs::write(dir.join("pairs.zip"), side_by_side_pairs(5)).expect("written");
    let o = webgan(
        &dir,
        &[
            "train",
            "--data",
            "pairs.zip",
            "--ngf",
            "2",
            "--ndf",
            "2",
            "--n-layers-d",
            "1",
            "--steps",
            "3",
            "--every",
            "3",
            "--out",
            "run",
        ],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("→ pix2pix"), "the family follows the zip: {e}");
    assert!(
        e.contains("5 pairs (side by side) from train/, 36×36"),
        "{e}"
    );
    assert!(e.contains("U-Net of 5 levels"), "{e}");
    let metrics = std::fs::read_to_string(dir.join("run/metrics.csv")).expect("metrics");
    assert!(
        metrics.starts_with("step,seconds,G_GAN,G_L1,D_real,D_fake,images_per_s,frechet\n3,"),
        "{metrics}"
    );
    // Two held-out pairs: input | output | target.
    let grid = image::open(dir.join("run/samples/latest.png")).expect("a grid");
    assert_eq!((grid.width(), grid.height()), (3 * 34 + 2, 2 * 34 + 2));
    let o = webgan(
        &dir,
        &[
            "translate",
            "--checkpoint",
            "run/checkpoint.safetensors",
            "--data",
            "pairs.zip",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("out/00002.png").exists() && !dir.join("out/00003.png").exists());
    let o = webgan(
        &dir,
        &[
            "translate",
            "--checkpoint",
            "run/checkpoint.safetensors",
            "--data",
            "pairs.zip",
            "--direction",
            "BtoA",
        ],
    );
    assert!(stderr(&o).contains("A into B only"), "{}", stderr(&o));
    let o = webgan(
        &dir,
        &[
            "train",
            "--data",
            "pairs.zip",
            "--pool-size",
            "5",
            "--out",
            "x",
        ],
    );
    assert!(
        stderr(&o).contains("--pool-size is a cyclegan option, and pix2pix has no use for it"),
        "{}",
        stderr(&o)
    );
}

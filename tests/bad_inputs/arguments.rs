//! Every number a person can type, at zero, negative, NaN and huge; unknown names; paths that
//! are missing or of the wrong kind.

use super::run::{Case, Expect};
use super::{train_args, TRAINED};

/// The quick run with `flag` set to `value` (in place, where the quick run sets it already).
fn train(flag: &str, value: &str, expect: Expect) -> Case {
    let mut args = train_args("out");
    if let Some(i) = args.iter().position(|a| *a == flag) {
        args.drain(i..i + 2);
    }
    args.extend([flag, value]);
    Case::new(format!("train {flag} {value}"), &args, expect)
}

fn sample(extra: &[&str], expect: Expect) -> Case {
    let mut args = vec!["sample", "--checkpoint", "keep/checkpoint.safetensors"];
    args.extend(extra);
    Case::new(format!("sample {}", extra.join(" ")), &args, expect)
}

fn export(extra: &[&str], expect: Expect) -> Case {
    let mut args = vec!["export", "--checkpoint", "keep/checkpoint.safetensors"];
    args.extend(extra);
    Case::new(format!("export {}", extra.join(" ")), &args, expect)
}

fn interpolate(extra: &[&str], expect: Expect) -> Case {
    let mut args = vec![
        "interpolate",
        "--checkpoint",
        "keep/checkpoint.safetensors",
        "--out",
        "w.png",
    ];
    args.extend(extra);
    Case::new(format!("interpolate {}", extra.join(" ")), &args, expect)
}

/// A noise file: tensor `z` of `shape` filled with `value`.
fn noise(shape: &[usize], value: f32) -> Vec<u8> {
    let mut ck = webgan::checkpoint::Checkpoint::new();
    let n = shape.iter().product();
    ck.tensors.insert(
        "z".into(),
        webgan::checkpoint::Tensor::new(shape.to_vec(), vec![value; n]).expect("a tensor"),
    );
    ck.to_bytes().expect("writes")
}

pub fn cases() -> Vec<Case> {
    let any = || Expect::Refused("");
    let mut cases = vec![];
    for (flag, values) in [
        (
            "--steps",
            &["0", "-1", "1e3", "99999999999999999999999"][..],
        ),
        ("--batch", &["0", "1", "-2", "5000", "4096"]),
        ("--k", &["0", "-1", "101", "4294967296"]),
        ("--lr-d", &["NaN", "-1", "inf", "-inf", "x"]),
        ("--lr-g", &["NaN", "-0.1", "1e39"]),
        ("--beta1", &["1", "-0.1", "NaN", "1.5"]),
        ("--beta2", &["1", "NaN", "-1"]),
        ("--label-smoothing", &["0.5", "-0.1", "NaN", "inf"]),
        ("--clip", &["0", "-1", "NaN", "inf"]),
        ("--lambda-gp", &["-1", "NaN", "inf"]),
        ("--r1", &["0", "-0.5", "NaN", "inf"]),
        ("--ema", &["0", "1", "1.5", "-0.5", "NaN", "inf"]),
        ("--augment", &["foo", "color,color", ",", "colour"]),
        ("--nz", &["0", "5000", "-1"]),
        ("--ngf", &["0", "2000"]),
        ("--ndf", &["0", "1025"]),
        ("--loss", &["nope", ""]),
        ("--optimizer", &["adamw"]),
        ("--prior", &["cauchy"]),
        ("--preset", &["dcgan999", "DCGAN28"]),
        ("--seed", &["-1", "x"]),
        ("--every", &["-1"]),
        ("--checkpoint-every", &["-5"]),
        ("--quality-every", &["NaN"]),
        ("--data", &["missing.zip", "keep"]),
        ("--resume", &["missing.safetensors"]),
    ] {
        for v in values {
            cases.push(train(flag, v, any()));
        }
    }
    cases.extend([
        train("--momentum", "NaN", any()).tap_args(&["--optimizer", "sgd"]),
        train("--momentum", "-1", any()).tap_args(&["--optimizer", "sgd"]),
        train("--ngf", "1024", Expect::Refused("too large")).tap_args(&["--preset", "dcgan64"]),
        train("--batch", "2000", Expect::Refused("too large")).tap_args(&["--preset", "dcgan64"]),
        train("--every", "0", Expect::Works(TRAINED)),
        train("--checkpoint-every", "0", Expect::Works(TRAINED)),
        train("--quality-every", "0", Expect::Works(TRAINED)),
        train("--k", "3", Expect::Works(TRAINED)),
        train("--r1", "1", Expect::Refused("R1 penalises")).tap_args(&["--loss", "wgan"]),
        train("--preset", "sagan32", Expect::Refused("at least 8")),
        train(
            "--loss",
            "wgan-gp",
            Expect::Refused("cannot take a gradient penalty"),
        )
        .tap_args(&["--preset", "sagan32"]),
        train("--loss", "wgan-gp", Expect::Works(TRAINED)),
        train("--preset", "infogan28", Expect::Works(TRAINED)),
        train("--family", "infogan", Expect::Works(TRAINED)),
        train("--categorical", "1", Expect::Refused("from 2 to 100"))
            .tap_args(&["--preset", "infogan28"]),
        train("--categorical", "4096", Expect::Refused("from 2 to 100"))
            .tap_args(&["--preset", "infogan28"]),
        train("--continuous", "17", Expect::Refused("at most 16"))
            .tap_args(&["--preset", "infogan28"]),
        train("--continuous", "0", Expect::Refused("at least one code")).tap_args(&[
            "--preset",
            "infogan28",
            "--categorical",
            "0",
        ]),
        train("--info-reg-coeff", "NaN", Expect::Refused("a number ≥ 0"))
            .tap_args(&["--preset", "infogan28"]),
        train("--info-reg-coeff", "-1", Expect::Refused("a number ≥ 0"))
            .tap_args(&["--preset", "infogan28"]),
        train("--categorical", "5", Expect::Refused("InfoGAN's")),
        train(
            "--r1",
            "1",
            Expect::Refused("cannot take a gradient penalty"),
        )
        .tap_args(&["--preset", "infogan28"]),
        train(
            "--preset",
            "dcgan32",
            Expect::Refused("InfoGAN's model is infogan28"),
        )
        .tap_args(&["--family", "infogan"]),
        sample(
            &["--out", "s.png", "--code", "k=1"],
            Expect::Refused("needs an InfoGAN model"),
        ),
        train("--r1", "10", Expect::Works(TRAINED)),
        train("--r1-every", "16", Expect::Works(TRAINED)).tap_args(&["--r1", "10"]),
        train("--r1-every", "0", Expect::Refused("from 1 to 1000")).tap_args(&["--r1", "10"]),
        train(
            "--r1-every",
            "16",
            Expect::Refused("give its weight with --r1"),
        ),
        train("--ema", "0.999", Expect::Works(TRAINED)),
        train(
            "--augment",
            "color,translation,cutout",
            Expect::Works(TRAINED),
        ),
        train("--augment", "cutout, translation", Expect::Works(TRAINED)),
        train("--augment", "none", Expect::Works(TRAINED)),
        Case::new(
            "train --out is a file",
            &train_args("afile"),
            Expect::Refused("cannot create"),
        )
        .with("afile", b"a file".to_vec()),
        Case::new(
            "train --out holds another run's checkpoint",
            &train_args("keep"),
            Expect::Refused("already holds a run's checkpoint"),
        ),
        Case::new(
            "train --resume past --steps",
            &[
                "train",
                "--resume",
                "keep/checkpoint.safetensors",
                "--steps",
                "2",
                "--out",
                "keep",
            ],
            Expect::Refused("already"),
        ),
        Case::new(
            "train --resume with another preset",
            &[
                "train",
                "--resume",
                "keep/checkpoint.safetensors",
                "--steps",
                "9",
                "--preset",
                "dcgan64",
                "--out",
                "keep",
            ],
            Expect::Refused("dcgan28"),
        ),
        Case::new(
            "train --resume a conditional run on a flat zip",
            &[
                "train",
                "--resume",
                "keep/checkpoint.safetensors",
                "--steps",
                "9",
                "--data",
                "flat.zip",
                "--out",
                "keep",
            ],
            Expect::Refused("conditional on 10 classes"),
        )
        .with(
            "flat.zip",
            super::zip_of(&[("a.png", super::png_rgb(8, 8, 1))]),
        ),
        Case::new(
            "eval on 1 image",
            &[
                "eval",
                "--checkpoint",
                "keep/checkpoint.safetensors",
                "--data",
                "flat.zip",
            ],
            Expect::Refused("at least 2 training images"),
        )
        .with(
            "flat.zip",
            super::zip_of(&[("a.png", super::png_rgb(8, 8, 1))]),
        ),
        Case::new(
            "eval --nearest a folder",
            &[
                "eval",
                "--checkpoint",
                "keep/checkpoint.safetensors",
                "--nearest",
                "keep",
            ],
            Expect::Refused("is a folder"),
        ),
        sample(&["--n", "0", "--out", "s.png"], any()),
        sample(&["--n", "-1", "--out", "s.png"], any()),
        sample(
            &["--n", "100000000", "--out", "s.png"],
            Expect::Refused("a grid PNG holds"),
        ),
        sample(
            &["--n", "100001", "--out", "dir"],
            Expect::Refused("100000"),
        ),
        sample(&["--n", "4294967296", "--out", "dir"], any()),
        sample(
            &["--class", "10", "--out", "s.png"],
            Expect::Refused("does not exist"),
        ),
        sample(&["--class", "-1", "--out", "s.png"], any()),
        sample(
            &["--noise", "missing.safetensors", "--out", "s.png"],
            Expect::Refused("cannot read"),
        ),
        sample(
            &["--n", "3", "--out", "keep/checkpoint.safetensors"],
            Expect::Refused("is a file"),
        ),
        sample(
            &["--n", "3", "--out", "dir"],
            Expect::Works(&["dir/00000.png", "dir/00002.png"]),
        ),
        sample(
            &["--truncation", "0", "--out", "s.png"],
            Expect::Refused("--truncation must be"),
        ),
        sample(
            &["--truncation", "NaN", "--out", "s.png"],
            Expect::Refused("--truncation must be"),
        ),
        sample(&["--truncation", "-1", "--out", "s.png"], any()),
        sample(
            &[
                "--truncation",
                "0.5",
                "--noise",
                "z.safetensors",
                "--out",
                "s.png",
            ],
            Expect::Refused("give one or the other"),
        )
        .with("z.safetensors", noise(&[3, 100], 0.5)),
        sample(
            &["--truncation", "0.5", "--n", "4", "--out", "t.png"],
            Expect::Works(&["t.png"]),
        ),
        interpolate(
            &["--truncation", "inf"],
            Expect::Refused("--truncation must be"),
        ),
        export(
            &["--format", "html", "--out", "keep"],
            Expect::Refused("--out keep is a folder"),
        ),
        export(
            &["--format", "pdf", "--out", "page.pdf"],
            Expect::Refused("invalid value 'pdf' for '--format"),
        ),
        export(
            &["--format", "html", "--out", "page.html", "--pkg", "nowhere"],
            Expect::Refused("build the page first with ./build.sh build"),
        ),
        export(
            &[
                "--format",
                "html",
                "--out",
                "page.html",
                "--direction",
                "up",
            ],
            Expect::Refused("unknown direction 'up'"),
        ),
        Case::new(
            "export-dataset --out a folder",
            &["export-dataset", "--out", "keep"],
            Expect::Refused("is a folder"),
        ),
        Case::new(
            "export-dataset --like a dcgan28 run --preset dcgan64",
            &[
                "export-dataset",
                "--like",
                "keep/checkpoint.safetensors",
                "--preset",
                "dcgan64",
                "--out",
                "d.safetensors",
            ],
            Expect::Refused("--like holds a dcgan28 run"),
        ),
        Case::new(
            "export-dataset --like a missing file",
            &[
                "export-dataset",
                "--like",
                "missing.safetensors",
                "--out",
                "d.safetensors",
            ],
            Expect::Refused("cannot read"),
        ),
        Case::new(
            "export-dataset of the digits",
            &["export-dataset", "--out", "d.safetensors"],
            Expect::Works(&["d.safetensors"]),
        ),
        sample(
            &["--n", "3", "--out", "dir", "--tensors", "t.safetensors"],
            Expect::Works(&["dir/00000.png", "t.safetensors"]),
        ),
        sample(
            &["--n", "5000", "--out", "dir", "--tensors", "t.safetensors"],
            Expect::Refused("--tensors holds at most 4096"),
        ),
        sample(
            &["--n", "3", "--out", "dir", "--tensors", "keep"],
            Expect::Refused("is a folder"),
        ),
        sample(
            &["--noise", "z.safetensors", "--out", "s.png"],
            Expect::Refused("finite"),
        )
        .with("z.safetensors", noise(&[3, 100], f32::NAN)),
        sample(
            &["--noise", "z.safetensors", "--out", "s.png"],
            Expect::Refused("[n, 100]"),
        )
        .with("z.safetensors", noise(&[3, 7], 0.5)),
        sample(&["--noise", "z.safetensors", "--out", "s.png"], any())
            .with("z.safetensors", noise(&[0, 100], 0.5)),
        sample(
            &["--noise", "z.safetensors", "--n", "5", "--out", "s.png"],
            Expect::Refused("holds 3 vectors"),
        )
        .with("z.safetensors", noise(&[3, 100], 0.5)),
        sample(
            &["--noise", "z.safetensors", "--out", "s.png"],
            Expect::Works(&["s.png"]),
        )
        .with("z.safetensors", noise(&[3, 100, 1, 1], 0.5)),
        interpolate(&["--steps", "0"], any()),
        interpolate(&["--steps", "1"], any()),
        interpolate(
            &["--steps", "100000"],
            Expect::Refused("--steps must lie in"),
        ),
        interpolate(&["--rows", "0"], any()),
        interpolate(&["--rows", "1000000"], any()),
        interpolate(&["--class", "10"], Expect::Refused("does not exist")),
    ]);
    for args in [
        &[
            "bench",
            "kernels",
            "--presets",
            "dcgan28",
            "--batch",
            "1000000",
        ][..],
        &[
            "bench",
            "kernels",
            "--presets",
            "dcgan64",
            "--batch",
            "4096",
        ],
        &["bench", "kernels", "--presets", "dcgan28", "--batch", "0"],
        &[
            "bench",
            "kernels",
            "--presets",
            "dcgan28",
            "--min-seconds",
            "NaN",
        ],
        &["bench", "kernels", "--presets", "dcgan32"],
        &["bench", "train", "--presets", "dcgan28", "--steps", "0"],
        &[
            "bench",
            "train",
            "--presets",
            "dcgan64",
            "--batch",
            "100000",
        ],
        &["bench", "step", "--reps", "0"],
        &["bench", "step", "--preset", "matmul"],
        &[
            "bench",
            "train",
            "--presets",
            "sagan32",
            "--classes",
            "100000",
        ],
    ] {
        cases.push(Case::new(args.join(" "), args, any()));
    }
    cases
}

trait Tap {
    /// The case with more arguments, placed before the flag under test.
    fn tap_args(self, extra: &[&str]) -> Case;
}

impl Tap for Case {
    fn tap_args(mut self, extra: &[&str]) -> Case {
        let at = self.args.len() - 2;
        for (i, a) in extra.iter().enumerate() {
            self.args.insert(at + i, a.to_string());
        }
        self
    }
}

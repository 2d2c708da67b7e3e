//! `webgan export`: a checkpoint without a generator, an unknown format, an output path that
//! is a folder, and flags that do not fit the format or the family. Each is one sentence, and
//! nothing is written.

use webgan::checkpoint::Checkpoint;

use super::run::{Case, Expect};

fn export(name: &str, checkpoint: &str, extra: &[&str], expect: Expect) -> Case {
    let mut args = vec!["export", "--checkpoint", checkpoint];
    args.extend(extra);
    Case::new(format!("export: {name}"), &args, expect)
}

pub fn cases(keep: &[u8]) -> Vec<Case> {
    const KEEP: &str = "keep/checkpoint.safetensors";
    let onnx = ["--format", "onnx", "--out", "G.onnx"];
    let mut no_generator = Checkpoint::from_bytes(keep).expect("keep reads");
    no_generator.tensors.retain(|k, _| !k.starts_with("netG"));
    no_generator.integers.retain(|k, _| !k.starts_with("netG"));
    vec![
        export("a real checkpoint", KEEP, &onnx, Expect::Works(&["G.onnx"])),
        export(
            "a checkpoint without a generator",
            "bare.safetensors",
            &onnx,
            Expect::Refused("holds no generator"),
        )
        .with("bare.safetensors", no_generator.to_bytes().expect("writes")),
        export(
            "an unknown format",
            KEEP,
            &["--format", "pdf", "--out", "G.pdf"],
            Expect::Refused("invalid value 'pdf'"),
        ),
        export(
            "an output that is a folder",
            KEEP,
            &onnx,
            Expect::Refused("is a folder"),
        )
        .with("G.onnx/inside.txt", vec![1]),
        export(
            "--half for onnx",
            KEEP,
            &["--format", "onnx", "--out", "G.onnx", "--half"],
            Expect::Refused("--half applies to --format html"),
        ),
        export(
            "BtoA of a DCGAN",
            KEEP,
            &["--format", "onnx", "--out", "G.onnx", "--direction", "BtoA"],
            Expect::Refused("needs a CycleGAN checkpoint"),
        ),
        export(
            "an unknown direction",
            KEEP,
            &["--format", "onnx", "--out", "G.onnx", "--direction", "up"],
            Expect::Refused("unknown direction"),
        ),
    ]
}

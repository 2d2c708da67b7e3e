//! Checkpoints: truncated, with wrong dtypes, shapes and offsets, missing and extra tensors,
//! NaN weights, broken configurations, and files that are no checkpoint at all. Each is given
//! to `sample` and to `train --resume` (which must leave the run's own checkpoint as it was).

use serde_json::{json, Map, Value};
use webgan::checkpoint::{Checkpoint, Tensor};

use super::run::{Case, Expect};

/// (header, data) of a safetensors file.
fn split(bytes: &[u8]) -> (Map<String, Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).expect("a JSON header");
    (header, bytes[8 + n..].to_vec())
}

fn join(header: &Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(header).expect("JSON");
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(data);
    out
}

/// `keep` with one tensor's header entry changed by `edit`.
fn with_entry(keep: &[u8], name: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let (mut header, data) = split(keep);
    edit(header[name].as_object_mut().expect("a tensor entry"));
    join(&header, &data)
}

/// `keep` changed through the crate's own reader and writer: a well-formed file whose content
/// is wrong.
fn with(keep: &[u8], edit: impl FnOnce(&mut Checkpoint)) -> Vec<u8> {
    let mut ck = Checkpoint::from_bytes(keep).expect("keep reads");
    edit(&mut ck);
    ck.to_bytes().expect("writes")
}

fn with_config(keep: &[u8], key: &str, value: Value) -> Vec<u8> {
    with(keep, |ck| {
        let mut config: Map<String, Value> =
            serde_json::from_str(&ck.metadata["config"]).expect("config JSON");
        config.insert(key.into(), value);
        ck.metadata
            .insert("config".into(), Value::Object(config).to_string());
    })
}

const WEIGHT: &str = "netG.main.0.weight";

pub fn cases(keep: &[u8]) -> Vec<Case> {
    let any = || Expect::Refused("");
    let checkpoint = || Expect::Refused("checkpoint");
    let nan = |name: &'static str, v: f32| {
        with(keep, move |ck| {
            ck.tensors.get_mut(name).expect("held").data[0] = v;
        })
    };
    let mut files: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty file", vec![], checkpoint()),
        ("4 bytes", vec![1, 2, 3, 4], checkpoint()),
        (
            "header length u64::MAX",
            u64::MAX.to_le_bytes().to_vec(),
            checkpoint(),
        ),
        (
            "header length 1e9",
            1_000_000_000u64
                .to_le_bytes()
                .iter()
                .chain(b"{}")
                .copied()
                .collect(),
            checkpoint(),
        ),
        (
            "header not JSON",
            [8u64.to_le_bytes().to_vec(), b"not json".to_vec()].concat(),
            checkpoint(),
        ),
        (
            "header a JSON array",
            [8u64.to_le_bytes().to_vec(), b"[1, 2] ".to_vec(), vec![b' ']].concat(),
            checkpoint(),
        ),
        ("cut to 50%", keep[..keep.len() / 2].to_vec(), checkpoint()),
        (
            "cut to 99%",
            keep[..keep.len() * 99 / 100].to_vec(),
            checkpoint(),
        ),
        (
            "one byte short",
            keep[..keep.len() - 1].to_vec(),
            checkpoint(),
        ),
        ("one byte long", [keep, &[0]].concat(), checkpoint()),
        ("a PNG", super::png_rgb(8, 8, 1), checkpoint()),
        (
            "a zip",
            super::zip_of(&[("a.png", super::png_rgb(8, 8, 1))]),
            checkpoint(),
        ),
        (
            "no format",
            with(keep, |ck| {
                ck.metadata.remove("format");
            }),
            Expect::Refused("not a webgan checkpoint"),
        ),
        (
            "another format",
            with(keep, |ck| {
                ck.metadata.insert("format".into(), "webgan-99".into());
            }),
            checkpoint(),
        ),
        (
            "no configuration",
            with(keep, |ck| {
                ck.metadata.remove("config");
            }),
            checkpoint(),
        ),
        (
            "configuration not JSON",
            with(keep, |ck| {
                ck.metadata.insert("config".into(), "{nope".into());
            }),
            checkpoint(),
        ),
        (
            "no tensors at all",
            with(keep, |ck| {
                ck.tensors.clear();
                ck.integers.clear();
            }),
            Expect::Refused("no tensor"),
        ),
        (
            "a missing weight",
            with(keep, |ck| {
                ck.tensors.remove(WEIGHT);
            }),
            Expect::Refused("no tensor"),
        ),
        (
            "a weight of the wrong shape",
            with(keep, |ck| {
                ck.tensors.insert(
                    WEIGHT.into(),
                    Tensor::new(vec![3, 3], vec![0.0; 9]).expect("9"),
                );
            }),
            checkpoint(),
        ),
        (
            "NaN in a weight",
            nan(WEIGHT, f32::NAN),
            Expect::Refused("NaN"),
        ),
        (
            "infinity in a weight",
            nan(WEIGHT, f32::INFINITY),
            Expect::Refused("NaN or infinite"),
        ),
        (
            "NaN in a running variance",
            nan("netG.main.1.running_var", f32::NAN),
            Expect::Refused("NaN"),
        ),
    ];
    for dtype in ["F16", "BF16", "I8", "F64", "BOOL", "U8", "Q4"] {
        files.push((
            dtype,
            with_entry(keep, WEIGHT, |e| {
                e.insert("dtype".into(), json!(dtype));
            }),
            checkpoint(),
        ));
    }
    files.push((
        "shape overflowing",
        with_entry(keep, WEIGHT, |e| {
            e.insert("shape".into(), json!([1u64 << 40, 1u64 << 40]));
        }),
        checkpoint(),
    ));
    files.push((
        "negative shape",
        with_entry(keep, WEIGHT, |e| {
            e.insert("shape".into(), json!([-1, 4]));
        }),
        checkpoint(),
    ));
    files.push((
        "offsets past the end",
        with_entry(keep, WEIGHT, |e| {
            e.insert("data_offsets".into(), json!([0, 1u64 << 40]));
        }),
        checkpoint(),
    ));
    files.push((
        "offsets reversed",
        with_entry(keep, WEIGHT, |e| {
            e.insert("data_offsets".into(), json!([64, 0]));
        }),
        checkpoint(),
    ));
    for (key, value) in [
        ("batch", json!(0)),
        ("batch", json!(1_000_000)),
        ("ngf", json!(100_000)),
        ("nz", json!(0)),
        ("preset", json!("dcgan999")),
        ("classes", json!(5000)),
        ("d_optimizer", json!("fast")),
        ("label_smoothing", json!(7.0)),
        ("loss", json!("nope")),
    ] {
        files.push((key, with_config(keep, key, value), any()));
    }
    let mut cases = Vec::new();
    for (name, bytes, expect) in files {
        let refused = matches!(expect, Expect::Refused(_));
        let resumed_expect = match &expect {
            Expect::Refused(w) => Expect::Refused(w),
            _ => Expect::Either,
        };
        cases.push(
            Case::new(
                format!("checkpoint: {name}, sampled"),
                &[
                    "sample",
                    "--checkpoint",
                    "bad.safetensors",
                    "--n",
                    "4",
                    "--out",
                    "s.png",
                ],
                expect,
            )
            .with("bad.safetensors", bytes.clone()),
        );
        if refused {
            cases.push(
                Case::new(
                    format!("checkpoint: {name}, resumed"),
                    &[
                        "train",
                        "--resume",
                        "bad.safetensors",
                        "--steps",
                        "100",
                        "--out",
                        "fresh",
                    ],
                    resumed_expect,
                )
                .with("bad.safetensors", bytes),
            );
        }
    }
    cases.push(
        Case::new(
            "checkpoint: an extra tensor, sampled",
            &[
                "sample",
                "--checkpoint",
                "extra.safetensors",
                "--n",
                "4",
                "--out",
                "s.png",
            ],
            Expect::Works(&["s.png"]),
        )
        .with(
            "extra.safetensors",
            with(keep, |ck| {
                ck.tensors.insert(
                    "netG.extra".into(),
                    Tensor::new(vec![2], vec![1.0, 2.0]).expect("2"),
                );
            }),
        ),
    );
    cases.push(
        Case::new(
            "checkpoint: missing optimizer state, resumed",
            &[
                "train",
                "--resume",
                "bad.safetensors",
                "--steps",
                "100",
                "--out",
                "fresh",
            ],
            Expect::Refused("no tensor"),
        )
        .with(
            "bad.safetensors",
            with(keep, |ck| {
                ck.tensors.retain(|k, _| !k.starts_with("optim.netD"));
            }),
        ),
    );
    // The generator page: a checkpoint without G, or with NaN in G, is refused before anything
    // of the page is read or written.
    let export = |name: &str, expect: Expect, bytes: Vec<u8>| {
        let args = [
            "export",
            "--checkpoint",
            "bad.safetensors",
            "--format",
            "html",
            "--out",
            "page.html",
        ];
        Case::new(
            format!("checkpoint: {name}, exported as a page"),
            &args,
            expect,
        )
        .with("bad.safetensors", bytes)
    };
    cases.push(export(
        "no generator",
        Expect::Refused("has no generator"),
        with(keep, |ck| {
            ck.tensors.retain(|k, _| !k.starts_with("netG."));
            ck.integers.retain(|k, _| !k.starts_with("netG."));
        }),
    ));
    cases.push(export(
        "NaN in G",
        Expect::Refused("NaN"),
        with(keep, |ck| {
            let (_, g) = ck
                .tensors
                .iter_mut()
                .find(|(k, t)| k.starts_with("netG.") && t.data.len() > 1)
                .expect("a tensor of G");
            g.data[1] = f32::NAN;
        }),
    ));
    cases.push(export(
        "not a checkpoint",
        Expect::Refused("bad.safetensors"),
        b"<html>not a checkpoint</html>".to_vec(),
    ));
    cases.push(Case::new(
        "checkpoint: a folder",
        &["sample", "--checkpoint", "keep", "--out", "s.png"],
        Expect::Refused("cannot read"),
    ));
    cases.push(Case::new(
        "checkpoint: no such file",
        &[
            "sample",
            "--checkpoint",
            "nope.safetensors",
            "--out",
            "s.png",
        ],
        Expect::Refused("cannot read"),
    ));
    cases
}

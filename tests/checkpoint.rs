//! Checkpoints as safetensors: our writer against our reader, our reader against a file made by
//! the Python `safetensors` library, and every malformed file the reader must refuse.

use std::collections::BTreeMap;

use webgan::checkpoint::{Checkpoint, IntTensor, Tensor, MAX_HEADER_BYTES};
use webgan::Error;

/// Made by safetensors 0.8.0 (numpy 2.4.6):
/// ```python
/// import numpy as np
/// from safetensors.numpy import save
/// b = save({
///     "weight": np.array([[1.0, -2.0, 0.5], [3.25, 0.0, -0.125]], dtype=np.float32),
///     "bias": np.array([0.1], dtype=np.float32),
///     "step": np.array(7, dtype=np.int64),
///     "seen": np.array([1, 4000000000], dtype=np.uint32),
/// }, metadata={"format": "np", "config": '{"z": 100}'})
/// print(b.hex())
/// ```
/// It lays the data out by dtype alignment (step, bias, weight, seen), not by name.
const PYTHON_FILE: &str = "\
2001000000000000\
7b225f5f6d657461646174615f5f223a7b22636f6e666967223a227b5c227a5c223a203130307d222c22666f726d\
6174223a226e70227d2c2273746570223a7b226474797065223a22493634222c227368617065223a5b5d2c226461\
74615f6f666673657473223a5b302c385d7d2c2262696173223a7b226474797065223a22463332222c2273686170\
65223a5b315d2c22646174615f6f666673657473223a5b382c31325d7d2c22776569676874223a7b226474797065\
223a22463332222c227368617065223a5b322c335d2c22646174615f6f666673657473223a5b31322c33365d7d2c\
227365656e223a7b226474797065223a22553332222c227368617065223a5b325d2c22646174615f6f6666736574\
73223a5b33362c34345d7d7d\
0700000000000000cdcccc3d0000803f000000c00000003f0000504000000000000000be0100000000286bee";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("fixture is hex"))
        .collect()
}

/// A file from a header written out by hand and raw data bytes.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The reader must refuse `bytes` with a checkpoint error whose message holds every phrase.
fn rejects(bytes: &[u8], phrases: &[&str]) {
    match Checkpoint::from_bytes(bytes) {
        Err(Error::Checkpoint(message)) => {
            for phrase in phrases {
                assert!(message.contains(phrase), "`{message}` lacks `{phrase}`");
            }
        }
        Err(other) => panic!("expected a checkpoint error, got {other}"),
        Ok(c) => panic!("accepted a bad file: {c:?}"),
    }
}

fn tensor(shape: &[usize], seed: f32) -> Tensor {
    let n = shape.iter().product::<usize>();
    let data = (0..n).map(|i| seed + i as f32 * 0.25 - 3.0).collect();
    Tensor::new(shape.to_vec(), data).expect("data fits the shape")
}

fn sample() -> Checkpoint {
    let mut c = Checkpoint::new();
    c.tensors
        .insert("g.conv1.weight".into(), tensor(&[3, 1, 5, 5], 1.0));
    c.tensors.insert("g.conv1.bias".into(), tensor(&[3], 2.0));
    c.tensors
        .insert("d.dense.weight".into(), tensor(&[1, 7], -1.0));
    c.tensors.insert("scalar".into(), tensor(&[], 0.5));
    c.tensors.insert("empty".into(), tensor(&[2, 0, 3], 0.0));
    c.tensors.insert(
        "extremes".into(),
        Tensor::new(vec![4], vec![f32::MIN, f32::MAX, -0.0, f32::INFINITY]).expect("4 values"),
    );
    c.integers.insert(
        "step".into(),
        IntTensor::new(vec![], vec![1 << 40]).expect("scalar"),
    );
    c
}

#[test]
fn round_trip_without_metadata() {
    let c = sample();
    let bytes = c.to_bytes().expect("a valid checkpoint");
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    assert_eq!(header_len % 8, 0, "the header is padded to a multiple of 8");
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + header_len]).expect("the header is JSON");
    assert!(
        header.get("__metadata__").is_none(),
        "no metadata, no `__metadata__`"
    );
    // I64 first, then F32: every tensor starts aligned to its element size.
    assert_eq!(header["step"]["data_offsets"][0], 0);
    for (name, entry) in header.as_object().expect("an object") {
        let size = if entry["dtype"] == "I64" { 8 } else { 4 };
        let begin = entry["data_offsets"][0].as_u64().expect("an offset");
        assert_eq!(
            (8 + header_len as u64 + begin) % size,
            0,
            "`{name}` is misaligned"
        );
    }
    assert_eq!(Checkpoint::from_bytes(&bytes).expect("our own file"), c);
}

#[test]
fn round_trip_with_metadata() {
    let mut c = sample();
    let config = r#"{"model": "dcgan", "nz": 100, "quote": "\"", "lines": "a\nb", "µ": "∂"}"#;
    c.metadata.insert("config".into(), config.into());
    c.metadata.insert("format".into(), "webgan".into());
    c.metadata.insert(String::new(), String::new());
    let back = Checkpoint::from_bytes(&c.to_bytes().expect("valid")).expect("our own file");
    assert_eq!(back, c);
    assert_eq!(back.metadata["config"], config);
}

#[test]
fn round_trip_of_nothing() {
    let c = Checkpoint::new();
    let bytes = c.to_bytes().expect("valid");
    assert_eq!(bytes.len(), 16, "8 bytes of length, `{{}}` padded to 8");
    assert_eq!(Checkpoint::from_bytes(&bytes).expect("our own file"), c);
}

#[test]
fn reads_a_file_written_by_python() {
    let c = Checkpoint::from_bytes(&hex(PYTHON_FILE)).expect("a valid safetensors file");
    assert_eq!(
        c.get("weight", &[2, 3]).expect("weight"),
        [1.0, -2.0, 0.5, 3.25, 0.0, -0.125]
    );
    assert_eq!(c.get("bias", &[1]).expect("bias"), [0.1]);
    assert_eq!(c.get_int("step", &[]).expect("step"), [7]);
    assert_eq!(c.get_int("seen", &[2]).expect("seen"), [1, 4_000_000_000]);
    let metadata: BTreeMap<String, String> = [("format", "np"), ("config", r#"{"z": 100}"#)]
        .map(|(k, v)| (k.into(), v.into()))
        .into();
    assert_eq!(c.metadata, metadata);
}

#[test]
fn get_says_what_was_expected_and_found() {
    let c = sample();
    let message = |r: webgan::Result<_>| match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    };
    let m = message(c.get("g.conv1.bias", &[4]).map(|_| ()));
    assert!(m.contains("[3]") && m.contains("expected [4]"), "{m}");
    let m = message(c.get("nope", &[1]).map(|_| ()));
    // A few of the names held, never the whole listing (a model has dozens).
    assert!(
        m.contains("no tensor `nope`") && m.contains("such as d.dense.weight, empty"),
        "{m}"
    );
    assert!(!m.contains("g.conv1.weight"), "{m}");
    let m = message(c.get("step", &[]).map(|_| ()));
    assert!(
        m.contains("holds integers where floats are expected"),
        "{m}"
    );
    let m = message(c.get_int("scalar", &[]).map(|_| ()));
    assert!(m.contains("holds floats"), "{m}");
}

#[test]
fn writer_refuses_what_it_could_not_read_back() {
    let mut c = Checkpoint::new();
    c.tensors.insert(
        "w".into(),
        Tensor {
            shape: vec![2, 2],
            data: vec![1.0; 3],
        },
    );
    assert!(c
        .to_bytes()
        .is_err_and(|e| e.to_string().contains("[2, 2] (4 elements) but 3 values")));
    let mut c = Checkpoint::new();
    c.tensors.insert("__metadata__".into(), tensor(&[1], 0.0));
    assert!(c
        .to_bytes()
        .is_err_and(|e| e.to_string().contains("reserved")));
    let mut c = Checkpoint::new();
    c.tensors.insert("t".into(), tensor(&[1], 0.0));
    c.integers.insert(
        "t".into(),
        IntTensor::new(vec![1], vec![1]).expect("1 value"),
    );
    assert!(c.to_bytes().is_err_and(|e| e.to_string().contains("both")));
    assert!(Tensor::new(vec![usize::MAX, 2], vec![]).is_err());
}

#[test]
fn rejects_a_short_file() {
    for len in 0..8 {
        rejects(&vec![0; len], &[&format!("{len} bytes"), "too short"]);
    }
}

#[test]
fn rejects_a_header_length_beyond_the_file_or_absurd() {
    let mut bytes = file("{}", &[]);
    bytes[0] = 3;
    rejects(&bytes, &["says 3 bytes", "only 2 follow", "truncated"]);
    let mut bytes = 100_000_001u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    rejects(
        &bytes,
        &[
            "100000001",
            &MAX_HEADER_BYTES.to_string(),
            "not a safetensors file",
        ],
    );
    rejects(&u64::MAX.to_le_bytes(), &["18446744073709551615"]);
}

#[test]
fn rejects_a_header_that_is_not_a_json_object() {
    rejects(&file("{\"a\": ", &[]), &["not valid JSON", "EOF"]);
    rejects(&file("", &[]), &["not valid JSON"]);
    rejects(
        &file("{\"a\":{}} trailing", &[]),
        &["not valid JSON", "trailing"],
    );
    rejects(&file("\u{fffd}", &[]), &["not valid JSON"]);
    rejects(&file("[1, 2]", &[]), &["a JSON array, not an object"]);
    let bad_utf8 = [
        8, 0, 0, 0, 0, 0, 0, 0, b'{', b'"', 0xff, b'"', b':', b'1', b'}', b' ',
    ];
    rejects(&bad_utf8, &["not valid JSON"]);
}

#[test]
fn rejects_bad_metadata() {
    rejects(
        &file(r#"{"__metadata__": {"step": 100}}"#, &[]),
        &["metadata `step`", "number, not a string"],
    );
    rejects(
        &file(r#"{"__metadata__": {"c": {"nz": 1}}}"#, &[]),
        &["metadata `c`", "object, not a string"],
    );
    rejects(
        &file(r#"{"__metadata__": ["x"]}"#, &[]),
        &["`__metadata__` is a JSON array"],
    );
}

#[test]
fn rejects_a_malformed_tensor_entry() {
    let four = [0u8; 4];
    rejects(
        &file(r#"{"a": 3}"#, &four),
        &["tensor `a`", "number, not an object"],
    );
    rejects(
        &file(r#"{"a": {"dtype": "F32", "shape": [1]}}"#, &four),
        &["tensor `a` has no `data_offsets`"],
    );
    let extra = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}}"#;
    rejects(&file(extra, &four), &["unknown field `x`"]);
    let negative = r#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#;
    rejects(
        &file(negative, &four),
        &["shape must be an array of non-negative integers", "[-1]"],
    );
    let float = r#"{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#;
    rejects(&file(float, &four), &["shape must be"]);
    let three = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}"#;
    rejects(&file(three, &four), &["data_offsets must be [begin, end]"]);
    let reversed = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#;
    rejects(&file(reversed, &four), &["[4, 0]", "begin after end"]);
}

#[test]
fn rejects_an_unknown_dtype() {
    for dtype in ["BF16", "F64", "I32", "U8", "f32", "BOOL"] {
        let header =
            format!(r#"{{"a": {{"dtype": "{dtype}", "shape": [1], "data_offsets": [0, 4]}}}}"#);
        rejects(
            &file(&header, &[0; 4]),
            &[&format!("dtype {dtype}"), "reads F32, F16, U32 and I64"],
        );
    }
    rejects(
        &file(
            r#"{"a": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}}"#,
            &[0; 4],
        ),
        &["dtype is a JSON number"],
    );
}

#[test]
fn rejects_a_shape_that_does_not_match_its_bytes() {
    let short = r#"{"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}"#;
    rejects(
        &file(short, &[0; 20]),
        &[
            "tensor `a` of shape [2, 3] needs 24 bytes of F32",
            "span 20",
        ],
    );
    let wide = r#"{"a": {"dtype": "I64", "shape": [3], "data_offsets": [0, 12]}}"#;
    rejects(&file(wide, &[0; 12]), &["needs 24 bytes of I64"]);
    // 2^32 * 2^32 overflows u64 and (on wasm32) usize: counted with checked multiplication.
    let huge =
        r#"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}"#;
    rejects(
        &file(huge, &[]),
        &["needs more bytes than fit in memory of F32"],
    );
    let huge = r#"{"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}}"#;
    rejects(
        &file(huge, &[]),
        &["needs more bytes than fit in memory of F32"],
    );
    // A zero dimension makes any other dimension harmless.
    let zero = r#"{"a": {"dtype": "F32", "shape": [0, 4294967295], "data_offsets": [0, 0]}}"#;
    let c = Checkpoint::from_bytes(&file(zero, &[])).expect("an empty tensor");
    assert_eq!(c.get("a", &[0, 4294967295]).expect("a"), [] as [f32; 0]);
}

#[test]
fn rejects_offsets_out_of_range() {
    let header = r#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#;
    rejects(
        &file(header, &[0; 8]),
        &["tensor `a`", "[4, 12]", "data section is 8 bytes"],
    );
    let far = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551611, 18446744073709551615]}}"#;
    rejects(&file(far, &[0; 4]), &["tensor `a`"]);
}

#[test]
fn rejects_overlapping_tensors() {
    let header = r#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#;
    rejects(
        &file(header, &[0; 12]),
        &[
            "tensor `b` starts at byte 4 inside `a`, which ends at 8",
            "overlap",
        ],
    );
    let same = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#;
    rejects(&file(same, &[0; 4]), &["overlap"]);
}

#[test]
fn rejects_gaps() {
    let middle = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#;
    rejects(
        &file(middle, &[0; 12]),
        &["bytes 4..8 between `a` and tensor `b` belong to no tensor"],
    );
    let start = r#"{"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#;
    rejects(
        &file(start, &[0; 8]),
        &["bytes 0..4 between the start of the data and tensor `b`"],
    );
    let end = r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#;
    rejects(
        &file(end, &[0; 6]),
        &["bytes 4..6, the end of the data section, belong to no tensor"],
    );
    rejects(&file("{}", &[0; 1]), &["bytes 0..1"]);
}

#[test]
fn never_panics_on_a_damaged_file() {
    let good = hex(PYTHON_FILE);
    for len in 0..good.len() {
        assert!(
            Checkpoint::from_bytes(&good[..len]).is_err(),
            "accepted {len} of {} bytes",
            good.len()
        );
    }
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            let _ = Checkpoint::from_bytes(&bad);
        }
    }
}

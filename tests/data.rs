//! The dataset: the WGDS binary format, subset and merge.

use webgan::data::{Dataset, ImageSpec};

/// Deterministic bytes (xorshift).
fn noise(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

// ---- the WGDS format ------------------------------------------------------------------------

fn digits() -> Dataset {
    let spec = ImageSpec::gray(2);
    let pixels = (0..5 * 4).map(|i| i as u8).collect();
    let names = vec!["zero".to_string(), "one".to_string(), "二".to_string()];
    Dataset::conditional(spec, pixels, vec![0, 1, 2, 1, 0], names).unwrap()
}

#[test]
fn encode_writes_the_documented_layout_and_decodes_back() {
    let data = digits();
    let bytes = data.encode();
    let mut want = b"WGDS".to_vec();
    for v in [1u32, 5, 1, 2, 2, 3, 4] {
        want.extend_from_slice(&v.to_le_bytes());
    }
    want.extend_from_slice(b"zero");
    want.extend_from_slice(&3u32.to_le_bytes());
    want.extend_from_slice(b"one");
    want.extend_from_slice(&3u32.to_le_bytes());
    want.extend_from_slice("二".as_bytes());
    for l in [0u32, 1, 2, 1, 0] {
        want.extend_from_slice(&l.to_le_bytes());
    }
    want.extend(0u8..20);
    assert_eq!(bytes, want);
    assert_eq!(Dataset::decode(&bytes).unwrap(), data);

    let plain = Dataset::unconditional(ImageSpec::rgb(3), (0..54).collect()).unwrap();
    let bytes = plain.encode();
    assert_eq!(bytes.len(), 4 + 24 + 54, "no names, no labels");
    assert_eq!(Dataset::decode(&bytes).unwrap(), plain);
}

#[test]
fn decode_rejects_every_malformed_file() {
    let good = digits().encode();
    for cut in 0..good.len() {
        let message = Dataset::decode(&good[..cut]).unwrap_err().to_string();
        assert!(
            message.contains("truncated") || message.contains("WGDS"),
            "{cut}: {message}"
        );
    }
    let with = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        Dataset::decode(&b).unwrap_err().to_string()
    };
    assert!(with(0, b"WGDZ").contains("does not start with WGDS"));
    assert!(with(4, &2u32.to_le_bytes()).contains("version 2 is not supported"));
    assert!(with(8, &0u32.to_le_bytes()).contains("no images"));
    assert!(with(8, &u32::MAX.to_le_bytes()).contains("truncated"));
    assert!(with(12, &2u32.to_le_bytes()).contains("1 channel (gray) or 3 (RGB), not 2"));
    assert!(with(16, &3u32.to_le_bytes()).contains("only square images"));
    assert!(with(16, &[0, 0, 1, 0, 0, 0, 1, 0]).contains("between 1 and 1024"));
    assert!(with(24, &u32::MAX.to_le_bytes()).contains("truncated"));
    assert!(with(28, &u32::MAX.to_le_bytes()).contains("truncated"));
    // Names: "zero" at 32..36, "one" at 40..43, "二" at 47..50; labels from 50.
    assert!(with(40, "二".as_bytes()).contains("\"二\" appears twice"));
    assert!(with(47, &[0xff, 0xfe, 0xfd]).contains("not UTF-8"));
    assert!(with(50, &3u32.to_le_bytes()).contains("image 0 has label 3, but there are only 3"));
    let mut long = good.clone();
    long.push(0);
    assert!(Dataset::decode(&long)
        .unwrap_err()
        .to_string()
        .contains("1 bytes follow"));
    for seed in 0..200 {
        let mut b = good.clone();
        let n = noise(3, seed + 1);
        let at = n[0] as usize % b.len();
        b[at] ^= n[1] | 1;
        let _ = Dataset::decode(&b); // must return, whatever it returns
    }
}

#[test]
fn subset_and_merge() {
    let data = digits();
    let small = data.subset(1);
    assert_eq!(small.labels, [0, 1, 2]);
    assert_eq!(small.pixels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(small.class_names, data.class_names);

    let other = Dataset::conditional(
        ImageSpec::gray(2),
        vec![9; 8],
        vec![0, 1],
        vec!["a".into(), "one".into()],
    );
    let merged = data.merge(&other.unwrap()).unwrap();
    assert_eq!(merged.class_names, ["a", "one", "zero", "二"]);
    assert_eq!(merged.labels, [2, 1, 3, 1, 2, 0, 1]);
    assert_eq!(merged.count(), 7);
    assert!(data
        .merge(&Dataset::unconditional(ImageSpec::gray(2), vec![0; 4]).unwrap())
        .is_err());
    assert!(data
        .merge(&Dataset::unconditional(ImageSpec::gray(3), vec![0; 9]).unwrap())
        .is_err());
    assert!(
        Dataset::conditional(ImageSpec::gray(2), vec![0; 8], vec![0], vec!["a".into()]).is_err()
    );
    assert!(Dataset::unconditional(ImageSpec::gray(2), vec![0; 7]).is_err());
}

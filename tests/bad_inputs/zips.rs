//! Zips a person might drop or a hostile one might craft: empty, random, truncated, bombs,
//! lying sizes, overlapping entries, encryption, unsupported methods, traversal names.

use std::io::{Cursor, Read, Write};

use zip::ZipWriter;

use super::common::files::options;
use super::run::{Case, Expect};
use super::{png_rgb, train_args, zip_of, TRAINED};

/// Offsets of every occurrence of `signature`.
fn find(bytes: &[u8], signature: &[u8]) -> Vec<usize> {
    bytes
        .windows(signature.len())
        .enumerate()
        .filter(|(_, w)| *w == signature)
        .map(|(i, _)| i)
        .collect()
}

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";

/// Writes `value` (little-endian, `width` bytes) at `field` of every header with `signature`.
fn patch(bytes: &mut [u8], signature: &[u8], field: usize, width: usize, value: u64) {
    for at in find(bytes, signature) {
        bytes[at + field..at + field + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }
}

/// A zip of one good image and one entry that inflates to `mib` MiB of zeros.
fn bomb(entries: usize, mib: u64) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("ok.png", options()).expect("entry");
    zip.write_all(&png_rgb(8, 8, 1)).expect("write");
    for i in 0..entries {
        zip.start_file(format!("bomb{i}.png"), options().compression_level(Some(9)))
            .expect("entry");
        std::io::copy(&mut std::io::repeat(0).take(mib << 20), &mut zip).expect("zeros");
    }
    zip.finish().expect("finish").into_inner()
}

fn data_case(name: &str, zip: Vec<u8>, expect: Expect) -> Case {
    let mut args = train_args("out");
    args.extend(["--data", "data.zip"]);
    Case::new(format!("zip: {name}"), &args, expect).with("data.zip", zip)
}

pub fn cases() -> Vec<Case> {
    let refused = || Expect::Refused("cannot load the dataset");
    let good = zip_of(&[("a.png", png_rgb(8, 8, 1)), ("b.png", png_rgb(8, 8, 2))]);
    let mut cases = vec![
        data_case("empty file", vec![], Expect::Refused("empty")),
        data_case("random bytes", super::noise(4096, 7), refused()),
        data_case("no entries", zip_of(&[]), Expect::Refused("holds no files")),
        data_case(
            "only a text file",
            zip_of(&[("notes.txt", b"hello".to_vec())]),
            refused(),
        ),
        data_case(
            "only folders",
            zip_of(&[("a/", vec![]), ("a/b/", vec![])]),
            refused(),
        ),
        data_case(
            "a zip inside",
            zip_of(&[("inner.zip", good.clone())]),
            refused(),
        ),
        data_case(
            "a bomb beside one image",
            bomb(1, 100),
            Expect::Works(TRAINED),
        ),
        data_case(
            "bombs past the total limit",
            bomb(40, 60),
            Expect::Refused("expands to more than"),
        ),
        data_case("good", good.clone(), Expect::Works(TRAINED)),
    ];
    for (label, keep) in [("10%", 10), ("50%", 50), ("90%", 90), ("all but 1 byte", 0)] {
        let cut = if keep == 0 {
            good.len() - 1
        } else {
            good.len() * keep / 100
        };
        cases.push(data_case(
            &format!("truncated to {label}"),
            good[..cut].to_vec(),
            Expect::Refused("not a readable zip"),
        ));
    }
    // Sizes in the central directory that lie: tiny for a large entry, huge for a small one.
    let big = zip_of(&[("big.png", vec![0; 80 << 20])]);
    let mut lie_small = big.clone();
    patch(&mut lie_small, CENTRAL, 24, 4, 10);
    patch(&mut lie_small, LOCAL, 22, 4, 10);
    cases.push(data_case("stated size too small", lie_small, refused()));
    let mut lie_large = good.clone();
    patch(&mut lie_large, CENTRAL, 24, 4, 0xffff_fff0);
    cases.push(data_case(
        "stated size too large",
        lie_large,
        Expect::Either,
    ));
    let mut lie_compressed = good.clone();
    patch(&mut lie_compressed, CENTRAL, 20, 4, 0x7fff_ffff);
    cases.push(data_case(
        "stated compressed size past the end",
        lie_compressed,
        Expect::Either,
    ));
    // Two directory entries pointing at the same local header.
    let mut overlap = good.clone();
    let centrals = find(&overlap, CENTRAL);
    let first = u32::from_le_bytes(overlap[centrals[0] + 42..][..4].try_into().expect("4"));
    overlap[centrals[1] + 42..][..4].copy_from_slice(&first.to_le_bytes());
    cases.push(data_case("overlapping entries", overlap, Expect::Either));
    let mut offset_past_end = good.clone();
    patch(&mut offset_past_end, CENTRAL, 42, 4, 0x00ff_ffff);
    cases.push(data_case(
        "an entry past the end",
        offset_past_end,
        refused(),
    ));
    let mut encrypted = good.clone();
    patch(&mut encrypted, CENTRAL, 8, 2, 1);
    patch(&mut encrypted, LOCAL, 6, 2, 1);
    cases.push(data_case(
        "encrypted entries",
        encrypted,
        Expect::Refused("encrypted"),
    ));
    for (method, name) in [
        (12, "bzip2"),
        (14, "lzma"),
        (93, "zstd"),
        (99, "aes"),
        (77, "unknown"),
    ] {
        let mut z = good.clone();
        patch(&mut z, CENTRAL, 10, 2, method);
        patch(&mut z, LOCAL, 8, 2, method);
        cases.push(data_case(&format!("{name} compression"), z, refused()));
    }
    for name in [
        "../../evil.png",
        "/abs/evil.png",
        "C:\\evil.png",
        "a/../../evil.png",
        "./evil.png",
    ] {
        let z = zip_of(&[(name, png_rgb(8, 8, 3)), ("b.png", png_rgb(8, 8, 4))]);
        cases.push(data_case(
            &format!("name {name}"),
            z,
            Expect::Works(TRAINED),
        ));
    }
    // The writer refuses a name twice: rename the second entry in place.
    let mut twice = zip_of(&[("a.png", png_rgb(8, 8, 1)), ("b.png", png_rgb(8, 8, 2))]);
    for at in find(&twice, b"b.png") {
        twice[at] = b'a';
    }
    cases.push(data_case("the same name twice", twice, Expect::Either));
    cases.push(data_case(
        "one good image and one corrupt",
        zip_of(&[
            ("a.png", png_rgb(8, 8, 1)),
            ("b.png", b"\x89PNG\r\n\x1a\nnope".to_vec()),
        ]),
        Expect::Works(TRAINED),
    ));
    cases.push(data_case(
        "a class folder of corrupt images only",
        zip_of(&[
            ("cats/a.png", png_rgb(8, 8, 1)),
            ("dogs/b.png", b"not a png".to_vec()),
        ]),
        Expect::Works(TRAINED),
    ));
    cases
}

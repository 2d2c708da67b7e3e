//! The dataset loader: zips and images built here in memory, no binary fixtures.

use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, Luma, LumaA, Rgb, Rgba};
use webgan::data::{load_zip, load_zip_with_limits, Dataset, ImageSpec, LoadLimits, LoadReport};
use webgan::Error;
use zip::ZipWriter;

use crate::common;
use common::files::{crc32, noise, options, zip_of};

// ---- builders -------------------------------------------------------------------------------

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodable image");
    out.into_inner()
}

fn png(image: &DynamicImage) -> Vec<u8> {
    encode(image, ImageFormat::Png)
}

/// GIF's encoder takes RGB(A) only and builds the palette itself.
fn gif(image: &DynamicImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.to_rgb8()), ImageFormat::Gif)
}

fn gray(width: u32, height: u32, value: u8) -> DynamicImage {
    DynamicImage::ImageLuma8(image::GrayImage::from_pixel(width, height, Luma([value])))
}

fn load(zip: &[u8], spec: ImageSpec) -> webgan::Result<(Dataset, LoadReport)> {
    load_zip(zip, spec, &mut |_, _| {})
}

fn load_ok(zip: &[u8], spec: ImageSpec) -> (Dataset, LoadReport) {
    load(zip, spec).unwrap_or_else(|e| panic!("expected a dataset, got: {e}"))
}

fn load_err(zip: &[u8]) -> String {
    match load(zip, ImageSpec::gray(8)) {
        Ok((_, report)) => panic!("expected an error, got: {}", report.summary()),
        Err(e @ Error::Dataset(_)) => e.to_string(),
        Err(e) => panic!("expected Error::Dataset, got {e:?}"),
    }
}

fn reason_for<'a>(report: &'a LoadReport, path: &str) -> &'a str {
    let found = report.skipped.iter().find(|s| s.path == path);
    &found
        .unwrap_or_else(|| panic!("{path} not skipped: {}", report.summary()))
        .reason
}

// ---- layouts --------------------------------------------------------------------------------

#[test]
fn flat_zip_is_unconditional() {
    let zip = zip_of(&[
        ("a.png", png(&gray(10, 10, 0))),
        ("b.png", png(&gray(12, 9, 200))),
    ]);
    let (data, report) = load_ok(&zip, ImageSpec::gray(8));
    assert_eq!(data.count(), 2);
    assert!(!data.is_conditional());
    assert!(data.labels.is_empty() && data.images_per_class().is_empty());
    assert_eq!(data.pixels.len(), 2 * 64);
    assert_eq!(data.image(0).unwrap(), &[0u8; 64][..], "a.png comes first");
    assert_eq!(data.image(1).unwrap(), &[200u8; 64][..]);
    assert_eq!((report.images, report.ignored), (2, 0));
    assert!(report.per_class.is_empty() && report.skipped.is_empty());
    assert_eq!(report.summary(), "2 images");
}

#[test]
fn class_folders_are_sorted_classes() {
    let zip = zip_of(&[
        ("dogs/1.png", png(&gray(8, 8, 20))),
        ("cats/b.png", png(&gray(8, 8, 11))),
        ("cats/a.jpg", encode(&gray(8, 8, 10), ImageFormat::Jpeg)),
        ("birds/x/deep.png", png(&gray(8, 8, 30))),
    ]);
    let (data, report) = load_ok(&zip, ImageSpec::gray(8));
    assert_eq!(data.class_names, ["birds", "cats", "dogs"]);
    assert_eq!(data.labels, [0, 1, 1, 2]);
    assert_eq!(data.images_per_class(), [1, 2, 1]);
    assert_eq!(data.class_name(1), Some("cats"));
    assert_eq!(data.class_name(3), None);
    assert_eq!(
        data.image(0).unwrap()[0],
        30,
        "birds/x/deep.png belongs to birds"
    );
    assert!(
        data.image(1).unwrap()[0].abs_diff(10) <= 2,
        "cats/a.jpg before cats/b.png"
    );
    assert_eq!(data.image(2).unwrap()[0], 11);
    assert_eq!(
        report.summary(),
        "4 images in 3 classes (birds: 1, cats: 2, dogs: 1)"
    );
}

#[test]
fn a_common_root_folder_is_stripped() {
    let classes = zip_of(&[
        ("mydata/", vec![]),
        ("mydata/b/1.png", png(&gray(8, 8, 1))),
        ("mydata/a/1.png", png(&gray(8, 8, 2))),
        ("mydata/a/2.png", png(&gray(8, 8, 3))),
    ]);
    let (data, report) = load_ok(&classes, ImageSpec::gray(4));
    assert_eq!(data.class_names, ["a", "b"]);
    assert_eq!(data.images_per_class(), [2, 1]);
    assert_eq!(report.ignored, 1, "the folder entry");

    let flat = zip_of(&[
        ("outer/inner/1.png", png(&gray(8, 8, 1))),
        ("outer/inner/2.png", png(&gray(8, 8, 2))),
    ]);
    let (data, _) = load_ok(&flat, ImageSpec::gray(4));
    assert!(
        !data.is_conditional(),
        "one folder wrapping every image is no class"
    );
    assert_eq!(data.count(), 2);
}

#[test]
fn macos_metadata_hidden_files_and_folders_are_ignored() {
    let zip = zip_of(&[
        ("set/", vec![]),
        ("set/cats/", vec![]),
        ("set/cats/1.png", png(&gray(8, 8, 1))),
        ("set/dogs/1.png", png(&gray(8, 8, 2))),
        ("set/cats/.DS_Store", vec![0; 10]),
        ("__MACOSX/set/cats/._1.png", vec![0; 10]),
        ("set/.hidden/1.png", png(&gray(8, 8, 3))),
        ("./set/dogs/.2.png", png(&gray(8, 8, 4))),
    ]);
    let (data, report) = load_ok(&zip, ImageSpec::gray(4));
    assert_eq!(data.class_names, ["cats", "dogs"]);
    assert_eq!(data.count(), 2);
    assert_eq!(report.ignored, 6);
    assert!(report.skipped.is_empty(), "{}", report.summary());
    assert!(report
        .summary()
        .ends_with("; ignored 6 (folders, hidden files, __MACOSX)"));
}

#[test]
fn text_files_and_top_level_images_beside_classes_are_skipped() {
    let zip = zip_of(&[
        ("cats/1.png", png(&gray(8, 8, 1))),
        ("cats/notes.txt", b"hello".to_vec()),
        ("dogs/1.png", png(&gray(8, 8, 2))),
        ("stray.png", png(&gray(8, 8, 3))),
    ]);
    let (data, report) = load_ok(&zip, ImageSpec::gray(4));
    assert_eq!(data.count(), 2);
    assert_eq!(reason_for(&report, "cats/notes.txt"), "not an image");
    assert!(reason_for(&report, "stray.png").contains("top level"));
    assert_eq!(report.skipped.len(), 2);
    let summary = report.summary();
    assert!(summary.starts_with("2 images in 2 classes (cats: 1, dogs: 1); skipped 2: "));
    assert!(
        summary.contains("cats/notes.txt (not an image)"),
        "{summary}"
    );
}

#[test]
fn corrupt_images_are_skipped_with_their_reason() {
    let good = png(&gray(16, 16, 9));
    let zip = zip_of(&[
        ("a/ok.png", good.clone()),
        ("a/garbage.png", b"\x89PNG\r\n\x1a\nnot really".to_vec()),
        ("a/half.png", good[..good.len() / 2].to_vec()),
        ("a/fake.jpg", noise(500, 7)),
        ("b/broken.gif", b"GIF89a".to_vec()),
    ]);
    let (data, report) = load_ok(&zip, ImageSpec::gray(8));
    assert_eq!(data.count(), 1);
    assert_eq!(
        data.class_names,
        ["a"],
        "class b lost its only image and is dropped"
    );
    assert_eq!(report.skipped.len(), 4, "{}", report.summary());
    for path in ["a/garbage.png", "a/half.png", "a/fake.jpg", "b/broken.gif"] {
        let reason = reason_for(&report, path);
        assert!(
            reason.starts_with("corrupt") || reason.starts_with("unsupported"),
            "{reason}"
        );
    }
}

// ---- errors ---------------------------------------------------------------------------------

#[test]
fn unreadable_zips_are_errors() {
    let valid = zip_of(&[
        ("a.png", png(&gray(8, 8, 1))),
        ("b.png", png(&gray(8, 8, 2))),
    ]);
    for cut in [valid.len() / 2, valid.len() - 10, 3] {
        let message = load_err(&valid[..cut]);
        assert!(message.contains("not a readable zip"), "{cut}: {message}");
    }
    assert!(load_err(&noise(4096, 1)).contains("not a readable zip"));
    assert!(load_err(&[]).contains("empty"));
    assert!(load_err(&zip_of(&[])).contains("the zip is empty"));
}

#[test]
fn a_zip_without_images_says_what_it_holds() {
    let zip = zip_of(&[
        ("notes.txt", b"x".to_vec()),
        ("data.csv", b"1,2".to_vec()),
        ("docs/", vec![]),
    ]);
    let message = load_err(&zip);
    assert!(
        message.contains("holds 2 files but none is an image (PNG, JPEG, GIF, BMP, WebP)"),
        "{message}"
    );
    assert!(message.contains("notes.txt") && message.contains("data.csv"));

    let only_hidden = zip_of(&[("__MACOSX/._a.png", vec![1]), (".DS_Store", vec![1])]);
    let message = load_err(&only_hidden);
    assert!(message.ends_with("no files, only 2 entries (folders, hidden files or __MACOSX)"));

    let all_corrupt = zip_of(&[("a.png", vec![1, 2, 3]), ("b.png", vec![4])]);
    let message = load_err(&all_corrupt);
    assert!(
        message.contains("none of the 2 images could be used: a.png (corrupt"),
        "{message}"
    );
}

#[test]
fn a_bad_spec_is_refused() {
    let zip = zip_of(&[("a.png", png(&gray(8, 8, 1)))]);
    for spec in [
        ImageSpec {
            size: 8,
            channels: 2,
        },
        ImageSpec::gray(0),
        ImageSpec::rgb(4096),
    ] {
        assert!(
            matches!(load(&zip, spec), Err(Error::Invalid(_))),
            "{spec:?}"
        );
    }
}

#[test]
fn arbitrary_damage_never_panics() {
    let zip = zip_of(&[
        ("a/1.png", png(&gray(12, 12, 1))),
        ("a/2.gif", gif(&gray(12, 12, 2))),
        ("b/3.bmp", encode(&gray(12, 12, 3), ImageFormat::Bmp)),
    ]);
    let flips = noise(600, 99);
    let mut loaded = 0;
    for (i, pair) in flips.chunks(3).enumerate() {
        let mut damaged = zip.clone();
        let at = (u16::from_le_bytes([pair[0], pair[1]]) as usize * 7 + i) % damaged.len();
        damaged[at] ^= pair[2] | 1;
        if let Ok((data, _)) = load(&damaged, ImageSpec::rgb(8)) {
            assert_eq!(data.pixels.len(), data.count() * 3 * 64);
            loaded += 1;
        }
    }
    assert!(
        loaded > 0,
        "most single-byte damage leaves some image readable"
    );
}

// ---- abuse ----------------------------------------------------------------------------------

#[test]
fn an_absurd_image_size_is_refused_from_the_header() {
    let mut huge = png(&gray(1, 1, 0));
    // IHDR data sits at bytes 16..29 (width, height, ...), its CRC at 29..33.
    huge[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    let zip = zip_of(&[("huge.png", huge), ("ok.png", png(&gray(8, 8, 5)))]);
    let start = Instant::now();
    let (data, report) = load_ok(&zip, ImageSpec::gray(8));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(data.count(), 1);
    let reason = reason_for(&report, "huge.png");
    assert!(
        reason.contains("20000×20000") && reason.contains("8192"),
        "{reason}"
    );
}

/// A zip of `ok.png` and `bomb.png`: 200 MiB of zeros deflated to a few hundred KiB.
fn bomb_zip() -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("ok.png", options()).unwrap();
    zip.write_all(&png(&gray(8, 8, 5))).unwrap();
    zip.start_file("bomb.png", options().compression_level(Some(9)))
        .unwrap();
    std::io::copy(&mut std::io::repeat(0).take(200 << 20), &mut zip).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_quickly() {
    let zip = bomb_zip();
    assert!(
        zip.len() < 1 << 20,
        "the bomb is small: {} bytes",
        zip.len()
    );
    let start = Instant::now();
    let (data, report) = load_ok(&zip, ImageSpec::gray(8));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(data.count(), 1);
    assert!(reason_for(&report, "bomb.png").starts_with("too large: 200 MiB"));

    // The same bomb stating 1,000 bytes in both its headers. The zip crate inflates to the
    // stream's end, not to the stated size, so only the loader's `take` stops the read at the
    // cap: with 1 MiB per entry and 16 MiB in all, reading it whole would exceed the total.
    let mut liar = zip.clone();
    let mut patched = 0;
    for at in 0..liar.len() - 4 {
        let field = match &liar[at..at + 4] {
            [0x50, 0x4b, 0x03, 0x04] => at + 22, // local header: uncompressed size
            [0x50, 0x4b, 0x01, 0x02] => at + 24, // central directory: uncompressed size
            _ => continue,
        };
        if liar[field..field + 4] == (200u32 << 20).to_le_bytes() {
            liar[field..field + 4].copy_from_slice(&1000u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let limits = LoadLimits {
        max_entry_bytes: 1 << 20,
        max_total_bytes: 16 << 20,
        ..LoadLimits::default()
    };
    let start = Instant::now();
    let (data, report) = load_zip_with_limits(&liar, ImageSpec::gray(8), &limits, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("the liar is skipped, not read whole: {e}"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(data.count(), 1);
    let reason = reason_for(&report, "bomb.png");
    assert_eq!(reason, "too large: more than 1 MiB uncompressed");
}

#[test]
fn limits_on_entries_total_size_and_dataset_size_are_errors() {
    let zip = zip_of(&[
        ("a.png", png(&gray(64, 64, 1))),
        ("b.png", png(&gray(64, 64, 2))),
        ("c.png", png(&gray(64, 64, 3))),
    ]);
    let spec = ImageSpec::gray(8);
    let run = |limits: LoadLimits| load_zip_with_limits(&zip, spec, &limits, &mut |_, _| {});
    assert!(run(LoadLimits::default()).is_ok());
    let entries = LoadLimits {
        max_entries: 2,
        ..LoadLimits::default()
    };
    assert!(run(entries)
        .unwrap_err()
        .to_string()
        .contains("3 entries, more than the limit of 2"));
    let total = LoadLimits {
        max_total_bytes: 200,
        ..LoadLimits::default()
    };
    assert!(run(total)
        .unwrap_err()
        .to_string()
        .contains("the zip expands to more than"));
    let dataset = LoadLimits {
        max_dataset_bytes: 100,
        ..LoadLimits::default()
    };
    assert!(run(dataset)
        .unwrap_err()
        .to_string()
        .contains("choose a smaller size"));
    let entry = LoadLimits {
        max_entry_bytes: 50,
        ..LoadLimits::default()
    };
    let message = run(entry).unwrap_err().to_string();
    assert!(
        message.contains("none of the 3 images could be used: a.png (too large"),
        "{message}"
    );
    let side = LoadLimits {
        max_image_side: 32,
        ..LoadLimits::default()
    };
    assert!(run(side)
        .unwrap_err()
        .to_string()
        .contains("64×64 pixels, the limit is 32×32"));
}

// ---- pixels ---------------------------------------------------------------------------------

#[test]
fn every_format_and_colour_mode_comes_out_at_the_spec() {
    let rgb = DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
        Rgb([(x * 6) as u8, (y * 8) as u8, 128])
    }));
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(20, 20, |x, _| {
        Rgba([0, 0, 0, if x < 10 { 0 } else { 255 }])
    }));
    let gray_alpha =
        DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_pixel(9, 9, LumaA([0, 0])));
    let deep = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(17, 17, Luma([32_896u16])));
    let deep_rgb =
        DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(5, 7, Rgb([65_535u16; 3])));
    let paletted = gif(&gray(33, 21, 77)); // GIF is always paletted
    let zip = zip_of(&[
        ("1-gray.png", png(&gray(50, 30, 60))),
        ("2-rgb.jpg", encode(&rgb, ImageFormat::Jpeg)),
        ("3-rgba.png", png(&rgba)),
        ("4-gray-alpha.png", png(&gray_alpha)),
        ("5-deep.png", png(&deep)),
        ("6-deep-rgb.png", png(&deep_rgb)),
        ("7-paletted.gif", paletted),
        ("8-rgb.bmp", encode(&rgb, ImageFormat::Bmp)),
        ("9-rgba.webp", encode(&rgba, ImageFormat::WebP)),
    ]);
    for spec in [ImageSpec::gray(28), ImageSpec::rgb(32), ImageSpec::rgb(3)] {
        let (data, report) = load_ok(&zip, spec);
        assert!(report.skipped.is_empty(), "{}", report.summary());
        assert_eq!(data.count(), 9);
        assert_eq!(data.pixels.len(), 9 * spec.row_len());
        let row = |i: usize| data.image(i).unwrap();
        assert!(row(0).iter().all(|&v| v == 60), "gray stays exact");
        assert!(
            row(3).iter().all(|&v| v == 255),
            "transparent black is flattened onto white"
        );
        assert!(
            row(4).iter().all(|&v| v == 128),
            "16-bit 32896/65535 rounds to 128"
        );
        assert!(row(5).iter().all(|&v| v == 255));
        assert!(row(6).iter().all(|&v| v.abs_diff(77) <= 1), "paletted GIF");
    }
}

#[test]
fn alpha_is_flattened_onto_white_before_resizing() {
    // Left half fully transparent red, right half opaque black.
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(4, 4, |x, _| {
        if x < 2 {
            Rgba([255, 0, 0, 0])
        } else {
            Rgba([0, 0, 0, 255])
        }
    }));
    let (data, _) = load_ok(&zip_of(&[("a.png", png(&rgba))]), ImageSpec::rgb(4));
    let plane = |c: usize| &data.pixels[c * 16..(c + 1) * 16];
    for c in 0..3 {
        for y in 0..4 {
            assert_eq!(
                &plane(c)[y * 4..y * 4 + 4],
                &[255, 255, 0, 0],
                "channel {c} row {y}"
            );
        }
    }
}

#[test]
fn rows_are_planar_rgb() {
    let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2, 2, |x, y| {
        Rgb([
            if x == 0 { 255 } else { 0 },
            10 * y as u8,
            if x == 1 { 200 } else { 0 },
        ])
    }));
    let (data, _) = load_ok(&zip_of(&[("a.png", png(&image))]), ImageSpec::rgb(2));
    assert_eq!(data.pixels, [255, 0, 255, 0, 0, 0, 10, 10, 0, 200, 0, 200]);
}

#[test]
fn the_centre_square_is_cropped_before_resizing() {
    // Wide: the left and right quarters black, the centre half white; tall: the same on end.
    let wide = image::GrayImage::from_fn(40, 20, |x, _| {
        Luma([if (10..30).contains(&x) { 255 } else { 0 }])
    });
    let tall = image::GrayImage::from_fn(20, 40, |_, y| {
        Luma([if (10..30).contains(&y) { 255 } else { 0 }])
    });
    let inverse = image::GrayImage::from_fn(41, 20, |x, _| {
        Luma([if (10..31).contains(&x) { 0 } else { 255 }])
    });
    let zip = zip_of(&[
        ("1.png", png(&DynamicImage::ImageLuma8(wide))),
        ("2.png", png(&DynamicImage::ImageLuma8(tall))),
        ("3.png", png(&DynamicImage::ImageLuma8(inverse))),
    ]);
    for size in [20, 7, 32] {
        let (data, _) = load_ok(&zip, ImageSpec::gray(size));
        assert!(
            data.image(0).unwrap().iter().all(|&v| v == 255),
            "wide at {size}"
        );
        assert!(
            data.image(1).unwrap().iter().all(|&v| v == 255),
            "tall at {size}"
        );
        assert!(
            data.image(2).unwrap().iter().all(|&v| v == 0),
            "odd width at {size}"
        );
    }
}

#[test]
fn progress_counts_every_image() {
    let zip = zip_of(&[
        ("a.png", png(&gray(8, 8, 1))),
        ("b.png", vec![1, 2]),
        ("c.txt", vec![]),
        ("d.png", png(&gray(8, 8, 1))),
    ]);
    let mut calls = Vec::new();
    load_zip(&zip, ImageSpec::gray(4), &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(calls, [(0, 3), (1, 3), (2, 3), (3, 3)]);
}

#[test]
fn summary_reads_well_at_scale() {
    let report = LoadReport {
        images: 10_000,
        per_class: (0..12).map(|k| (k.to_string(), 1_000 - k)).collect(),
        skipped: vec![webgan::data::Skipped {
            path: "a.txt".into(),
            reason: "not an image".into(),
        }],
        ignored: 1,
    };
    assert_eq!(
        report.summary(),
        "10,000 images in 12 classes (0: 1,000, 1: 999, 2: 998, 3: 997, 4: 996, 5: 995, 6: 994, \
         7: 993, 8: 992, 9: 991 and 2 more); skipped 1: a.txt (not an image); \
         ignored 1 (folders, hidden files, __MACOSX)"
    );
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

#[test]
fn converted_datasets_keep_labels_and_content_at_the_new_size() {
    // Two 4×4 gray images: all white, and black with a white right half; two classes.
    let mut pixels = vec![255u8; 16];
    pixels.extend((0..16).map(|i| if i % 4 >= 2 { 255 } else { 0 }));
    let gray = Dataset::conditional(
        ImageSpec::gray(4),
        pixels,
        vec![1, 0],
        vec!["a".into(), "b".into()],
    )
    .unwrap();
    let rgb = gray.converted(ImageSpec::rgb(8)).unwrap();
    assert_eq!(
        (rgb.spec, rgb.count(), rgb.labels.clone()),
        (ImageSpec::rgb(8), 2, vec![1, 0])
    );
    let first = rgb.image(0).unwrap();
    assert!(first.iter().all(|&v| v == 255), "white stays white");
    let second = rgb.image(1).unwrap();
    for c in 0..3 {
        let plane = &second[c * 64..(c + 1) * 64];
        // Left columns dark, right columns bright, in every channel alike.
        assert!(
            plane[8 * 3] < 40 && plane[8 * 3 + 7] > 215,
            "channel {c}: {plane:?}"
        );
        assert_eq!(plane, &second[..64], "gray to RGB copies the plane");
    }
    let back = rgb.converted(ImageSpec::gray(4)).unwrap();
    assert_eq!(back.image(0).unwrap(), &[255u8; 16][..]);
    assert_eq!(gray.converted(gray.spec).unwrap(), gray);
}

#[test]
fn a_survey_picks_the_preset_that_fits() {
    use webgan::data::survey;
    use webgan::model::presets::Preset;
    let rgb = |side: u32, gray_pixels: bool| {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(side, side + 7, |x, y| {
            let v = ((x * 7 + y * 3) % 256) as u8;
            if gray_pixels {
                Rgb([v, v, v])
            } else {
                Rgb([v, 255 - v, v / 2])
            }
        }))
    };
    // Gray digits-sized images in two classes, with a text file beside them.
    let small: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("{}/{i}.png", ["a", "b"][i % 2]),
                png(&gray(28, 30, 9)),
            )
        })
        .collect();
    let mut entries: Vec<(&str, Vec<u8>)> =
        small.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    entries.push(("a/readme.txt", b"hello".to_vec()));
    let s = survey(&zip_of(&entries), 16).expect("a readable zip");
    assert_eq!((s.images, s.classes, s.looked_at), (6, 2, 6));
    assert!(s.gray);
    assert_eq!(s.largest_side, 28);
    assert_eq!(s.preset(), Preset::Dcgan28);

    // Colour stored as RGB with equal channels is still gray; 40 pixels is CIFAR-sized.
    let s = survey(&zip_of(&[("x.png", png(&rgb(40, true)))]), 16).unwrap();
    assert!(s.gray);
    assert_eq!(s.preset(), Preset::Dcgan32);
    let s = survey(&zip_of(&[("x.png", png(&rgb(20, false)))]), 16).unwrap();
    assert!(!s.gray);
    assert_eq!(s.preset(), Preset::Dcgan32);
    let s = survey(&zip_of(&[("x.png", png(&rgb(100, false)))]), 16).unwrap();
    assert_eq!(
        (s.classes, s.largest_side, s.preset()),
        (0, 100, Preset::Dcgan64)
    );

    // Only two of many images are decoded when asked for two; a corrupt one is passed over.
    let many: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("{i:02}.png"), png(&gray(10, 10, 1))))
        .collect();
    let mut entries: Vec<(&str, Vec<u8>)> =
        many.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    entries[0].1 = b"not a png".to_vec();
    let s = survey(&zip_of(&entries), 2).unwrap();
    assert_eq!((s.images, s.looked_at), (40, 1));

    // Unreadable zips get load_zip's errors.
    assert!(survey(b"", 4).is_err());
    assert!(survey(&zip_of(&[("a.txt", b"x".to_vec())]), 4).is_err());
}

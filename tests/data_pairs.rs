//! Two-domain datasets: pairs (pix2pix: side by side, or A/ and B/ folders matched by name)
//! and unpaired domains (CycleGAN: trainA/, trainB/), their detection by names alone, and the
//! single-domain zips that must load as before. Zips and images are built here in memory.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Luma, Rgb};
use webgan::data::{
    layout_expecting, layout_of, load_pairs, load_pairs_at_most, load_unpaired,
    load_unpaired_at_most, load_zip, Dataset, Expect, FolderCount, ImageSpec, LoadLimits, Pairs,
    PairsReport, Unpaired, UnpairedReport, ZipLayout, HELD_OUT,
};
use webgan::Error;

use crate::common;
use common::files::zip_of;

// ---- builders -------------------------------------------------------------------------------

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodable image");
    out.into_inner()
}

fn png(image: &DynamicImage) -> Vec<u8> {
    encode(image, ImageFormat::Png)
}

fn jpeg(image: &DynamicImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.to_rgb8()), ImageFormat::Jpeg)
}

fn gray(width: u32, height: u32, value: u8) -> DynamicImage {
    DynamicImage::ImageLuma8(image::GrayImage::from_pixel(width, height, Luma([value])))
}

/// A pair side by side: `left` fills the left `half` columns, `right` the rest.
fn side_by_side(half: u32, height: u32, left: [u8; 3], right: [u8; 3]) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(2 * half, height, |x, _| {
        Rgb(if x < half { left } else { right })
    }))
}

/// A zip of entries whose names were built at run time.
fn zip_owned(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.clone()))
        .collect();
    zip_of(&borrowed)
}

fn pairs(zip: &[u8], spec: ImageSpec) -> webgan::Result<(Pairs, PairsReport)> {
    load_pairs(zip, spec, &LoadLimits::default(), &mut |_, _| {})
}

fn pairs_ok(zip: &[u8], spec: ImageSpec) -> (Pairs, PairsReport) {
    pairs(zip, spec).unwrap_or_else(|e| panic!("expected pairs, got: {e}"))
}

fn unpaired(zip: &[u8], a: ImageSpec, b: ImageSpec) -> webgan::Result<(Unpaired, UnpairedReport)> {
    load_unpaired(zip, a, b, &LoadLimits::default(), &mut |_, _| {})
}

fn unpaired_ok(zip: &[u8], a: ImageSpec, b: ImageSpec) -> (Unpaired, UnpairedReport) {
    unpaired(zip, a, b).unwrap_or_else(|e| panic!("expected two domains, got: {e}"))
}

/// The message of an `Error::Dataset`, panicking on success or another kind of error.
fn dataset_error<T>(result: webgan::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e @ Error::Dataset(_)) => e.to_string(),
        Err(e) => panic!("expected Error::Dataset, got {e:?}"),
    }
}

/// Every value of image `i`'s channel `c`.
fn plane(data: &Dataset, i: usize, c: usize) -> &[u8] {
    let side = (data.spec.size * data.spec.size) as usize;
    &data.image(i).expect("an image")[c * side..(c + 1) * side]
}

fn reason_for<'a>(skipped: &'a [webgan::data::Skipped], path: &str) -> &'a str {
    let found = skipped.iter().find(|s| s.path == path);
    &found.unwrap_or_else(|| panic!("{path} not skipped")).reason
}

const RED: [u8; 3] = [200, 10, 30];
const BLUE: [u8; 3] = [50, 100, 150];

// ---- side by side ---------------------------------------------------------------------------

#[test]
fn side_by_side_images_are_cut_into_their_halves() {
    let zip = zip_of(&[
        ("facades/train/1.png", png(&side_by_side(4, 4, RED, BLUE))),
        (
            "facades/train/2.jpg",
            jpeg(&side_by_side(16, 16, BLUE, RED)),
        ),
        ("facades/val/3.png", png(&side_by_side(4, 4, BLUE, BLUE))),
        ("facades/test/4.png", png(&side_by_side(4, 4, RED, RED))),
    ]);
    let (p, report) = pairs_ok(&zip, ImageSpec::rgb(4));
    assert_eq!((p.count(), p.a.count(), p.b.count()), (2, 2, 2));
    assert!(!p.a.is_conditional() && !p.b.is_conditional());
    for c in 0..3 {
        assert!(
            plane(&p.a, 0, c).iter().all(|&v| v == RED[c]),
            "A is the left half"
        );
        assert!(
            plane(&p.b, 0, c).iter().all(|&v| v == BLUE[c]),
            "B is the right half"
        );
        // JPEG: the halves meet on a block edge (16 columns, one subsampled chroma block), so
        // each colour comes back within a few steps.
        let near = |got: &[u8], want: u8| got.iter().all(|&v| v.abs_diff(want) <= 3);
        assert!(near(plane(&p.a, 1, c), BLUE[c]), "{:?}", plane(&p.a, 1, c));
        assert!(near(plane(&p.b, 1, c), RED[c]), "{:?}", plane(&p.b, 1, c));
    }
    let held_a = p.held_out_a.as_ref().expect("val/ is held out");
    let held_b = p.held_out_b.as_ref().expect("val/ is held out");
    assert_eq!((held_a.count(), held_b.count()), (1, 1));
    assert!(plane(held_a, 0, 0).iter().all(|&v| v == BLUE[0]));
    assert!(report.side_by_side);
    assert_eq!(report.split.as_deref(), Some("train"));
    assert_eq!(
        report.held_out,
        Some(FolderCount {
            folder: "val".into(),
            images: 1
        }),
        "val/ is preferred to test/"
    );
    assert!(report.skipped.is_empty(), "{}", report.summary());
    assert_eq!(
        report.summary(),
        "2 pairs (side by side) from train/, 4×4 after resizing; 1 held out from val/"
    );
}

#[test]
fn each_half_is_centre_cropped_and_resized_like_any_image() {
    // 44×20, within 10% of 2:1: A is 22×20 with a black column each side of a white centre
    // 20×20; B is gray. At 2×2, A's centre crop is all white.
    let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(44, 20, |x, _| {
        Luma([match x {
            0 | 21 => 0,
            1..=20 => 255,
            _ => 90,
        }])
    }));
    let zip = zip_of(&[("train/1.png", png(&image)), ("val/1.png", png(&image))]);
    let (p, _) = pairs_ok(&zip, ImageSpec::gray(2));
    assert_eq!(p.a.image(0).unwrap(), &[255u8; 4][..]);
    assert_eq!(p.b.image(0).unwrap(), &[90u8; 4][..]);
}

#[test]
fn an_odd_width_gives_b_the_extra_column() {
    // 9×4: A is columns 0..4 (value 10), B columns 4..9 (value 200), as AlignedDataset cuts.
    let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(9, 4, |x, _| {
        Luma([if x < 4 { 10 } else { 200 }])
    }));
    let zip = zip_of(&[("train/1.png", png(&image)), ("test/1.png", png(&image))]);
    let (p, _) = pairs_ok(&zip, ImageSpec::gray(4));
    assert!(p.a.image(0).unwrap().iter().all(|&v| v == 10));
    assert!(p.b.image(0).unwrap().iter().all(|&v| v == 200));
}

#[test]
fn a_flat_zip_is_side_by_side_only_when_pairs_are_expected() {
    let zip = zip_of(&[
        ("maps/1.png", png(&side_by_side(4, 4, RED, BLUE))),
        ("maps/2.png", png(&side_by_side(5, 5, BLUE, RED))),
    ]);
    assert_eq!(layout_of(&zip).unwrap(), ZipLayout::Flat { images: 2 });
    let expected = layout_expecting(&zip, Expect::Pairs).unwrap();
    assert_eq!(
        expected,
        ZipLayout::SideBySide {
            splits: vec![],
            images: 2
        }
    );
    assert_eq!(expected.suggest(), "pix2pix");
    let (p, report) = pairs_ok(&zip, ImageSpec::rgb(4));
    assert_eq!(p.count(), 2);
    assert!(p.held_out_a.is_none() && p.held_out_b.is_none());
    assert_eq!(report.split, None);
    assert_eq!(
        report.summary(),
        "2 pairs (side by side), 4×4 after resizing"
    );
    // The same zip still loads as single images.
    let (single, _) = load_zip(&zip, ImageSpec::rgb(4), &mut |_, _| {}).unwrap();
    assert_eq!((single.count(), single.is_conditional()), (2, false));
}

#[test]
fn an_image_not_twice_as_wide_as_high_is_an_error_naming_it() {
    let flat = zip_of(&[
        ("1.png", png(&side_by_side(4, 4, RED, BLUE))),
        ("2.png", png(&gray(6, 6, 1))),
        ("3.png", png(&side_by_side(4, 4, RED, BLUE))),
    ]);
    let message = dataset_error(pairs(&flat, ImageSpec::rgb(4)));
    assert!(message.contains("2.png is 6×6 pixels"), "{message}");
    assert!(message.contains("about twice as wide as high"), "{message}");

    let splits = zip_of(&[
        ("train/1.png", png(&gray(8, 8, 1))),
        ("val/1.png", png(&gray(8, 8, 1))),
    ]);
    let message = dataset_error(pairs(&splits, ImageSpec::gray(4)));
    assert!(
        message.contains("train/1.png is 8×8 pixels, but each image in train/"),
        "{message}"
    );
}

#[test]
fn held_out_pairs_are_capped() {
    let image = png(&side_by_side(2, 2, RED, BLUE));
    let mut entries = vec![("train/a.png".to_string(), image.clone())];
    for i in 0..HELD_OUT + 6 {
        entries.push((format!("val/{i:03}.png"), image.clone()));
    }
    let (p, report) = pairs_ok(&zip_owned(&entries), ImageSpec::rgb(2));
    assert_eq!(p.held_out_a.map(|d| d.count()), Some(HELD_OUT));
    assert_eq!(report.held_out.map(|h| h.images), Some(HELD_OUT));
}

// ---- A/ and B/ folders ----------------------------------------------------------------------

#[test]
fn folders_pair_by_name_across_extensions_and_list_the_unmatched() {
    let zip = zip_of(&[
        ("A/001.png", png(&gray(6, 6, 10))),
        ("A/002.png", png(&gray(6, 6, 20))),
        ("A/003.png", png(&gray(6, 6, 30))),
        ("B/001.jpg", jpeg(&gray(6, 6, 110))),
        ("B/002.png", png(&gray(6, 6, 120))),
        ("B/004.png", png(&gray(6, 6, 140))),
    ]);
    let layout = layout_of(&zip).unwrap();
    assert_eq!(
        layout,
        ZipLayout::PairedFolders {
            splits: vec![],
            pairs: 2,
            unmatched: 2
        }
    );
    assert_eq!(layout.suggest(), "pix2pix");
    let (p, report) = pairs_ok(&zip, ImageSpec::gray(6));
    assert_eq!(p.count(), 2);
    assert_eq!(p.a.image(0).unwrap(), &[10u8; 36][..]);
    assert!(p.b.image(0).unwrap().iter().all(|&v| v.abs_diff(110) <= 2));
    assert_eq!(p.a.image(1).unwrap(), &[20u8; 36][..]);
    assert_eq!(p.b.image(1).unwrap(), &[120u8; 36][..]);
    assert!(!report.side_by_side);
    assert_eq!(
        report.summary(),
        "2 pairs (matched by name), 6×6 after resizing; skipped 2: \
         A/003.png (no partner of the same name in B/), \
         B/004.png (no partner of the same name in A/)"
    );
}

#[test]
fn many_unmatched_names_are_counted_past_the_first_few() {
    let mut entries = vec![
        ("A/pair.png".to_string(), png(&gray(4, 4, 1))),
        ("B/pair.png".to_string(), png(&gray(4, 4, 2))),
    ];
    for i in 0..13 {
        entries.push((format!("A/lone{i:02}.png"), png(&gray(4, 4, 3))));
    }
    let (p, report) = pairs_ok(&zip_owned(&entries), ImageSpec::gray(4));
    assert_eq!(p.count(), 1);
    assert_eq!(report.skipped.len(), 13);
    let summary = report.summary();
    assert!(
        summary.contains("skipped 13: A/lone00.png (no partner"),
        "{summary}"
    );
    assert!(summary.ends_with(" and 3 more"), "{summary}");
}

#[test]
fn nothing_matched_is_an_error_naming_both_folders() {
    let zip = zip_of(&[
        ("A/1.png", png(&gray(4, 4, 1))),
        ("B/2.png", png(&gray(4, 4, 2))),
    ]);
    let message = dataset_error(pairs(&zip, ImageSpec::gray(4)));
    assert!(
        message.contains("no image in A/ has a partner of the same name"),
        "{message}"
    );
    assert!(
        message.contains("A/ holds A/1.png; B/ holds B/2.png"),
        "{message}"
    );
}

#[test]
fn an_undecodable_side_skips_its_whole_pair() {
    let zip = zip_of(&[
        ("A/1.png", b"\x89PNG\r\n\x1a\nbroken".to_vec()),
        ("A/2.png", png(&gray(4, 4, 2))),
        ("B/1.png", png(&gray(4, 4, 101))),
        ("B/2.png", png(&gray(4, 4, 102))),
        ("B/notes.txt", b"x".to_vec()),
    ]);
    let (p, report) = pairs_ok(&zip, ImageSpec::gray(4));
    assert_eq!(p.count(), 1);
    assert_eq!(p.a.image(0).unwrap()[0], 2);
    assert_eq!(p.b.image(0).unwrap()[0], 102, "rows stay aligned");
    assert!(reason_for(&report.skipped, "A/1.png").starts_with("corrupt"));
    assert_eq!(
        reason_for(&report.skipped, "B/1.png"),
        "its partner A/1.png could not be used"
    );
    assert_eq!(reason_for(&report.skipped, "B/notes.txt"), "not an image");

    let all_bad = zip_of(&[("A/1.png", vec![1, 2]), ("B/1.png", vec![3])]);
    let message = dataset_error(pairs(&all_bad, ImageSpec::gray(4)));
    assert!(
        message.contains("none of the 1 pair could be used: A/1.png (corrupt"),
        "{message}"
    );
}

#[test]
fn matched_pictures_of_different_sizes_skip_their_pair() {
    let zip = zip_of(&[
        ("A/1.png", png(&gray(6, 6, 1))),
        ("A/2.png", png(&gray(6, 6, 2))),
        ("B/1.png", png(&gray(6, 4, 101))),
        ("B/2.png", png(&gray(6, 6, 102))),
    ]);
    let (p, report) = pairs_ok(&zip, ImageSpec::gray(4));
    assert_eq!(p.count(), 1);
    assert_eq!(p.a.image(0).unwrap()[0], 2);
    assert_eq!(p.b.image(0).unwrap()[0], 102, "rows stay aligned");
    assert_eq!(
        reason_for(&report.skipped, "A/1.png"),
        "it is 6×6 and its partner B/1.png is 6×4: the two pictures of a pair must be the same size"
    );
    assert_eq!(
        reason_for(&report.skipped, "B/1.png"),
        "it is 6×4 and its partner A/1.png is 6×6: the two pictures of a pair must be the same size"
    );

    let none_alike = zip_of(&[
        ("A/1.png", png(&gray(8, 8, 1))),
        ("B/1.png", png(&gray(4, 4, 2))),
    ]);
    let message = dataset_error(pairs(&none_alike, ImageSpec::gray(4)));
    assert!(
        message.contains(
            "none of the 1 pair could be used: A/1.png (it is 8×8 and its partner B/1.png is 4×4"
        ),
        "{message}"
    );
}

#[test]
fn splits_inside_or_outside_the_a_and_b_folders() {
    for (train_a, train_b, val_a, val_b) in [
        (
            "train/A/x.png",
            "train/B/x.png",
            "val/A/y.png",
            "val/B/y.jpg",
        ),
        (
            "A/train/x.png",
            "B/train/x.png",
            "A/val/y.png",
            "B/val/y.jpg",
        ),
        (
            "set/A/train/x.png",
            "set/B/train/x.png",
            "set/A/val/y.png",
            "set/B/val/y.jpg",
        ),
    ] {
        let zip = zip_of(&[
            (train_a, png(&gray(4, 4, 1))),
            (train_b, png(&gray(4, 4, 2))),
            (val_a, png(&gray(4, 4, 3))),
            (val_b, jpeg(&gray(4, 4, 200))),
        ]);
        assert_eq!(
            layout_of(&zip).unwrap(),
            ZipLayout::PairedFolders {
                splits: vec!["train".into(), "val".into()],
                pairs: 1,
                unmatched: 0
            },
            "{train_a}"
        );
        let (p, report) = pairs_ok(&zip, ImageSpec::gray(4));
        assert_eq!(p.count(), 1, "{train_a}");
        assert_eq!((p.a.image(0).unwrap()[0], p.b.image(0).unwrap()[0]), (1, 2));
        let held_b = p.held_out_b.expect("val/ held out");
        assert!(held_b.image(0).unwrap()[0].abs_diff(200) <= 2);
        assert_eq!(report.split.as_deref(), Some("train"));
        assert_eq!(report.held_out.map(|h| h.folder), Some("val".into()));
    }
}

#[test]
fn an_empty_side_is_an_error_naming_its_folder() {
    let zip = zip_of(&[
        ("data/", vec![]),
        ("data/A/1.png", png(&gray(4, 4, 1))),
        ("data/B/", vec![]),
    ]);
    assert!(matches!(
        layout_of(&zip).unwrap(),
        ZipLayout::PairedFolders { pairs: 0, .. }
    ));
    let message = dataset_error(pairs(&zip, ImageSpec::gray(4)));
    assert!(message.ends_with("B/ holds no images"), "{message}");
}

// ---- unpaired domains -----------------------------------------------------------------------

fn horse2zebra() -> Vec<u8> {
    zip_of(&horse2zebra_entries())
}

fn horse2zebra_entries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("horse2zebra/trainA/1.png", png(&gray(6, 6, 11))),
        ("horse2zebra/trainA/2.png", png(&gray(6, 6, 12))),
        ("horse2zebra/trainA/3.jpg", jpeg(&gray(6, 6, 13))),
        (
            "horse2zebra/trainB/1.png",
            png(&side_by_side(3, 6, RED, RED)),
        ),
        (
            "horse2zebra/trainB/2.png",
            png(&side_by_side(3, 6, BLUE, BLUE)),
        ),
        ("horse2zebra/testA/9.png", png(&gray(6, 6, 19))),
        ("horse2zebra/testB/9.png", png(&gray(6, 6, 29))),
        ("horse2zebra/stray.png", png(&gray(6, 6, 0))),
        ("horse2zebra/README.txt", b"hi".to_vec()),
    ]
}

#[test]
fn train_a_and_train_b_are_two_domains_of_any_counts() {
    let zip = horse2zebra();
    let layout = layout_of(&zip).unwrap();
    assert_eq!(
        layout,
        ZipLayout::Unpaired {
            a: 3,
            b: 2,
            held_out_a: 1,
            held_out_b: 1
        }
    );
    assert_eq!(layout.suggest(), "cyclegan");
    let (d, report) = unpaired_ok(&zip, ImageSpec::gray(6), ImageSpec::rgb(6));
    assert_eq!((d.a.count(), d.b.count()), (3, 2));
    assert_eq!(
        (d.a.spec, d.b.spec),
        (ImageSpec::gray(6), ImageSpec::rgb(6))
    );
    assert_eq!(d.a.image(1).unwrap(), &[12u8; 36][..]);
    assert!(d.a.image(2).unwrap().iter().all(|&v| v.abs_diff(13) <= 2));
    for c in 0..3 {
        assert!(plane(&d.b, 0, c).iter().all(|&v| v == RED[c]));
        assert!(plane(&d.b, 1, c).iter().all(|&v| v == BLUE[c]));
    }
    let held_a = d.held_out_a.expect("testA/ held out");
    let held_b = d.held_out_b.expect("testB/ held out");
    assert_eq!(
        (held_a.image(0).unwrap()[0], held_a.spec),
        (19, ImageSpec::gray(6))
    );
    assert_eq!(
        (held_b.image(0).unwrap()[0], held_b.spec),
        (29, ImageSpec::rgb(6))
    );
    assert!(reason_for(&report.skipped, "horse2zebra/stray.png").contains("outside"));
    assert_eq!(
        reason_for(&report.skipped, "horse2zebra/README.txt"),
        "not an image"
    );
    assert!(
        report.summary().starts_with(
            "trainA: 3 images, trainB: 2 images, 6×6 after resizing; \
             held out testA: 1 image, testB: 1 image; skipped 2: "
        ),
        "{}",
        report.summary()
    );
    // The same zip still loads through load_zip as four classes, as before.
    let (classes, _) = load_zip(&zip, ImageSpec::gray(6), &mut |_, _| {}).unwrap();
    assert_eq!(classes.class_names, ["testA", "testB", "trainA", "trainB"]);
}

#[test]
fn domains_of_different_sizes_say_so() {
    let (_, report) = unpaired_ok(&horse2zebra(), ImageSpec::gray(6), ImageSpec::rgb(3));
    assert!(
        report
            .summary()
            .starts_with("trainA: 3 images at 6×6, trainB: 2 images at 3×3 after resizing"),
        "{}",
        report.summary()
    );
}

#[test]
fn an_empty_domain_is_an_error_naming_its_folder() {
    // trainB/ exists only as a folder entry, or holds only a text file: a wrapper named
    // trainA/ must not hide it.
    for zip in [
        zip_of(&[("trainA/1.png", png(&gray(4, 4, 1))), ("trainB/", vec![])]),
        zip_of(&[
            ("set/trainA/1.png", png(&gray(4, 4, 1))),
            ("set/trainB/notes.txt", b"x".to_vec()),
        ]),
    ] {
        assert!(matches!(
            layout_of(&zip).unwrap(),
            ZipLayout::Unpaired { a: 1, b: 0, .. }
        ));
        let message = dataset_error(unpaired(&zip, ImageSpec::gray(4), ImageSpec::gray(4)));
        assert!(message.contains("trainB/ holds no images"), "{message}");
    }
    let undecodable = zip_of(&[
        ("trainA/1.png", png(&gray(4, 4, 1))),
        ("trainB/1.png", vec![1, 2, 3]),
        ("trainB/2.png", vec![4]),
    ]);
    let message = dataset_error(unpaired(
        &undecodable,
        ImageSpec::gray(4),
        ImageSpec::gray(4),
    ));
    assert!(
        message.contains("none of the 2 images in trainB/ could be used: trainB/1.png (corrupt"),
        "{message}"
    );
}

#[test]
fn loaders_refuse_a_zip_of_the_other_kind() {
    let classes = zip_of(&[
        ("cats/1.png", png(&gray(4, 4, 1))),
        ("dogs/1.png", png(&gray(4, 4, 2))),
    ]);
    let message = dataset_error(pairs(&classes, ImageSpec::gray(4)));
    assert!(
        message.contains("2 images in 2 class folders (cats, dogs), not pairs"),
        "{message}"
    );
    let message = dataset_error(unpaired(&classes, ImageSpec::gray(4), ImageSpec::gray(4)));
    assert!(message.contains("not two unpaired domains"), "{message}");
    let message = dataset_error(pairs(&horse2zebra(), ImageSpec::gray(4)));
    assert!(
        message.contains("two unpaired domains: 3 images in trainA/"),
        "{message}"
    );
    let no_train = zip_of(&[
        ("val/1.png", png(&side_by_side(2, 2, RED, BLUE))),
        ("test/1.png", png(&side_by_side(2, 2, RED, BLUE))),
    ]);
    let message = dataset_error(pairs(&no_train, ImageSpec::gray(4)));
    assert!(message.contains("no train/ folder"), "{message}");
}

// ---- detection ------------------------------------------------------------------------------

#[test]
fn every_layout_is_told_by_names_and_suggests_its_family() {
    let img = || png(&gray(4, 4, 1));
    let cases: Vec<(Vec<u8>, ZipLayout, &str)> = vec![
        (
            zip_of(&[("a.png", img()), ("b.png", img())]),
            ZipLayout::Flat { images: 2 },
            "dcgan",
        ),
        (
            zip_of(&[("x/cats/1.png", img()), ("x/dogs/1.png", img())]),
            ZipLayout::Classes {
                classes: vec!["cats".into(), "dogs".into()],
                images: 2,
            },
            "dcgan conditional",
        ),
        (
            // Lower-case a/ and b/ are classes, as they always were.
            zip_of(&[("a/1.png", img()), ("b/1.png", img())]),
            ZipLayout::Classes {
                classes: vec!["a".into(), "b".into()],
                images: 2,
            },
            "dcgan conditional",
        ),
        (
            // One train/ folder of single images is a wrapper, as in ImageFolder.
            zip_of(&[("train/1.png", img()), ("train/2.png", img())]),
            ZipLayout::Flat { images: 2 },
            "dcgan",
        ),
        (
            zip_of(&[("trainA/1.png", img()), ("trainB/1.png", img())]),
            ZipLayout::Unpaired {
                a: 1,
                b: 1,
                held_out_a: 0,
                held_out_b: 0,
            },
            "cyclegan",
        ),
        (
            zip_of(&[("A/1.png", img()), ("B/1.jpg", img())]),
            ZipLayout::PairedFolders {
                splits: vec![],
                pairs: 1,
                unmatched: 0,
            },
            "pix2pix",
        ),
        (
            zip_of(&[("d/Train/1.png", img()), ("d/Test/1.png", img())]),
            ZipLayout::SideBySide {
                splits: vec!["Train".into(), "Test".into()],
                images: 1,
            },
            "pix2pix",
        ),
    ];
    for (zip, want, family) in cases {
        let got = layout_of(&zip).unwrap();
        assert_eq!(got, want);
        assert_eq!(got.suggest(), family, "{want:?}");
        assert!(!got.summary().is_empty());
    }
    assert!(layout_of(b"not a zip").is_err());
    assert!(layout_of(&zip_of(&[("a.txt", b"x".to_vec())])).is_err());
}

#[test]
fn single_domain_zips_still_load_as_before() {
    let flat = zip_of(&[
        ("a.png", png(&gray(8, 8, 5))),
        ("b.png", png(&gray(8, 8, 6))),
    ]);
    let (data, report) = load_zip(&flat, ImageSpec::gray(4), &mut |_, _| {}).unwrap();
    assert_eq!((data.count(), data.is_conditional()), (2, false));
    assert_eq!(report.summary(), "2 images");
    // Split folders are classes to load_zip, whatever layout_of says of them.
    let splits = zip_of(&[
        ("train/1.png", png(&gray(8, 8, 5))),
        ("val/1.png", png(&gray(8, 8, 6))),
    ]);
    let (data, report) = load_zip(&splits, ImageSpec::gray(4), &mut |_, _| {}).unwrap();
    assert_eq!(data.class_names, ["train", "val"]);
    assert_eq!(report.summary(), "2 images in 2 classes (train: 1, val: 1)");
}

// ---- limits and caps ------------------------------------------------------------------------

#[test]
fn limits_are_errors_before_anything_is_decoded() {
    let pix2pix = zip_of(&[
        ("train/1.png", png(&side_by_side(32, 32, RED, BLUE))),
        ("train/2.png", png(&side_by_side(32, 32, RED, BLUE))),
        ("val/1.png", png(&side_by_side(32, 32, RED, BLUE))),
    ]);
    let spec = ImageSpec::rgb(8);
    let run_pairs = |limits: LoadLimits, calls: &mut usize| {
        load_pairs(&pix2pix, spec, &limits, &mut |_, _| *calls += 1)
    };
    let mut calls = 0;
    let entries = LoadLimits {
        max_entries: 2,
        ..LoadLimits::default()
    };
    let message = dataset_error(run_pairs(entries, &mut calls));
    assert!(
        message.contains("3 entries, more than the limit of 2"),
        "{message}"
    );
    // 3 pairs × 2 sides × 192 bytes = 1,152 bytes.
    let dataset = LoadLimits {
        max_dataset_bytes: 1_000,
        ..LoadLimits::default()
    };
    let message = dataset_error(run_pairs(dataset, &mut calls));
    assert!(message.contains("choose a smaller size"), "{message}");
    assert_eq!(calls, 0, "refused before decoding");
    let side = LoadLimits {
        max_image_side: 32,
        ..LoadLimits::default()
    };
    let message = dataset_error(run_pairs(side, &mut calls));
    assert!(
        message.contains("64×32 pixels, the limit is 32×32"),
        "{message}"
    );
    let total = LoadLimits {
        max_total_bytes: 100,
        ..LoadLimits::default()
    };
    let message = dataset_error(run_pairs(total, &mut calls));
    assert!(
        message.contains("the zip expands to more than"),
        "{message}"
    );

    let zip = horse2zebra();
    let run_unpaired = |limits: LoadLimits, calls: &mut usize| {
        load_unpaired(&zip, spec, spec, &limits, &mut |_, _| *calls += 1)
    };
    calls = 0;
    let message = dataset_error(run_unpaired(
        LoadLimits {
            max_entries: 5,
            ..LoadLimits::default()
        },
        &mut calls,
    ));
    assert!(message.contains("more than the limit of 5"), "{message}");
    let message = dataset_error(run_unpaired(
        LoadLimits {
            max_dataset_bytes: 7 * 192 - 1,
            ..LoadLimits::default()
        },
        &mut calls,
    ));
    assert!(message.contains("choose a smaller size"), "{message}");
    assert_eq!(calls, 0, "refused before decoding");
    assert!(run_unpaired(
        LoadLimits {
            max_dataset_bytes: 7 * 192,
            ..LoadLimits::default()
        },
        &mut calls
    )
    .is_ok());
    let message = dataset_error(run_unpaired(
        LoadLimits {
            max_total_bytes: 100,
            ..LoadLimits::default()
        },
        &mut calls,
    ));
    assert!(
        message.contains("the zip expands to more than"),
        "{message}"
    );

    // One budget for the whole zip, not one per folder: the seven images of the four domain
    // folders are read, and one byte less than their sum is refused.
    let read: u64 = horse2zebra_entries()
        .iter()
        .filter(|(name, _)| name.matches('/').count() == 2)
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    let budget = |max_total_bytes| LoadLimits {
        max_total_bytes,
        ..LoadLimits::default()
    };
    assert!(run_unpaired(budget(read), &mut calls).is_ok());
    let message = dataset_error(run_unpaired(budget(read - 1), &mut calls));
    assert!(
        message.contains("the zip expands to more than"),
        "{message}"
    );
}

#[test]
fn at_most_n_are_decoded_evenly_spread_with_progress_over_all_parts() {
    let mut entries = Vec::new();
    for i in 0..6u8 {
        let image = png(&side_by_side(2, 2, [i; 3], [100 + i; 3]));
        entries.push((format!("train/{i}.png"), image));
    }
    entries.push(("val/x.png".into(), png(&side_by_side(2, 2, RED, BLUE))));
    let mut calls = Vec::new();
    let (p, report) = load_pairs_at_most(
        &zip_owned(&entries),
        ImageSpec::gray(2),
        &LoadLimits::default(),
        3,
        &mut |done, total| calls.push((done, total)),
    )
    .expect("pairs");
    let firsts: Vec<(u8, u8)> = (0..p.count())
        .map(|i| (p.a.image(i).unwrap()[0], p.b.image(i).unwrap()[0]))
        .collect();
    assert_eq!(firsts, [(0, 100), (2, 102), (4, 104)]);
    assert_eq!(report.pairs, 3);
    assert_eq!(calls.first(), Some(&(0, 4)));
    assert_eq!(
        calls.last(),
        Some(&(4, 4)),
        "3 training pairs and 1 held out"
    );

    let mut calls = Vec::new();
    let (d, _) = load_unpaired_at_most(
        &horse2zebra(),
        ImageSpec::gray(4),
        ImageSpec::gray(4),
        &LoadLimits::default(),
        1,
        &mut |done, total| calls.push((done, total)),
    )
    .expect("two domains");
    assert_eq!((d.a.count(), d.b.count()), (1, 1));
    assert_eq!(d.held_out_a.map(|h| h.count()), Some(1));
    assert_eq!(calls.last(), Some(&(4, 4)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");
}

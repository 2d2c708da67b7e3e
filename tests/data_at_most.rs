//! Decoding at most N images of a zip (the page's cap: what one GPU buffer binding holds):
//! evenly spread, so every class keeps its share, and only those are decoded.

use std::io::{Cursor, Write};

use image::{DynamicImage, ImageFormat, Luma};
use webgan::data::{load_zip_at_most, ImageSpec, LoadLimits};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// Three classes of 10, 20 and 30 gray 4×4 images; image i of class c has value 50·c + i.
fn three_classes() -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (c, n) in [(0u8, 10u8), (1, 20), (2, 30)] {
        for i in 0..n {
            let image =
                DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 4, Luma([c * 50 + i])));
            let mut png = Cursor::new(Vec::new());
            image
                .write_to(&mut png, ImageFormat::Png)
                .expect("encodable");
            zip.start_file(format!("class{c}/{i:02}.png"), SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(&png.into_inner()).expect("write");
        }
    }
    zip.finish().expect("finish").into_inner()
}

#[test]
fn at_most_n_images_are_decoded_evenly_over_the_classes() {
    let zip = three_classes();
    let mut calls = Vec::new();
    let (d, report) = load_zip_at_most(
        &zip,
        ImageSpec::gray(4),
        &LoadLimits::default(),
        12,
        &mut |done, total| calls.push((done, total)),
    )
    .expect("a dataset");
    assert_eq!(d.count(), 12);
    assert_eq!(report.images, 12);
    // 10, 20 and 30 of 60: a sixth, a third and a half of 12.
    assert_eq!(d.images_per_class(), vec![2, 4, 6]);
    assert_eq!(
        calls.last(),
        Some(&(12, 12)),
        "progress counts the chosen images"
    );
    // Evenly spaced: images 0, 5, 10, … of the 60 in order.
    let firsts: Vec<u8> = (0..d.count())
        .map(|i| d.image(i).expect("row")[0])
        .collect();
    assert_eq!(
        firsts,
        vec![0, 5, 50, 55, 60, 65, 100, 105, 110, 115, 120, 125]
    );
}

#[test]
fn a_cap_above_the_count_decodes_everything() {
    let zip = three_classes();
    let (d, _) = load_zip_at_most(
        &zip,
        ImageSpec::gray(4),
        &LoadLimits::default(),
        60,
        &mut |_, _| {},
    )
    .expect("a dataset");
    assert_eq!(d.count(), 60);
    assert_eq!(d.images_per_class(), vec![10, 20, 30]);
}

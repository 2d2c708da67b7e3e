//! Pictures inside a zip: giant headers, truncations, empty images and every odd mode. A bad
//! picture alone in its zip is refused with its reason; an odd but valid one trains.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};

use super::run::{Case, Expect};
use super::zip_of;
use super::{png_rgb, train_args, TRAINED};

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodable");
    out.into_inner()
}

/// A PNG whose header says `width`×`height`, with a few bytes of (too little) data.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        let mut body = kind.to_vec();
        body.extend(data);
        c.extend(super::common::files::crc32(&body).to_be_bytes());
        c
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// A BMP whose info header says `width`×`height` (40-byte header) with no pixels.
fn bmp_header(width: i32, height: i32) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend(54u32.to_le_bytes());
    b.extend([0; 4]);
    b.extend(54u32.to_le_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend(width.to_le_bytes());
    b.extend(height.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(24u16.to_le_bytes());
    b.extend([0; 24]);
    b
}

/// An OS/2 BMP: a 12-byte core header with 16-bit sides.
fn bmp_core_header(width: u16, height: u16) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend(26u32.to_le_bytes());
    b.extend([0; 4]);
    b.extend(26u32.to_le_bytes());
    b.extend(12u32.to_le_bytes());
    b.extend(width.to_le_bytes());
    b.extend(height.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(24u16.to_le_bytes());
    b
}

/// A real JPEG whose start of frame is made to say `width`×`height`.
fn jpeg_header(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut j = jpeg.to_vec();
    let sof = j
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline frame");
    j[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    j
}

/// A GIF whose logical screen is `width`×`height`, with no image in it.
fn gif_header(width: u16, height: u16) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend(width.to_le_bytes());
    g.extend(height.to_le_bytes());
    g.extend([0, 0, 0, 0x3b]);
    g
}

fn image_case(name: &str, file: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    let mut args = train_args("out");
    args.extend(["--data", "data.zip"]);
    Case::new(format!("image: {name}"), &args, expect).with("data.zip", zip_of(&[(file, bytes)]))
}

pub fn cases() -> Vec<Case> {
    let large = || Expect::Refused("too large");
    let refused = || Expect::Refused("cannot load the dataset");
    let photo = png_rgb(40, 30, 9);
    let jpeg = encode(
        &DynamicImage::ImageRgb8(ImageBuffer::from_fn(24, 16, |x, y| {
            Rgb([x as u8 * 9, y as u8 * 9, 7])
        })),
        ImageFormat::Jpeg,
    );
    let works = |name: &str, file: &str, image: DynamicImage, format| {
        image_case(name, file, encode(&image, format), Expect::Works(TRAINED))
    };
    vec![
        image_case(
            "PNG header 100000×100000",
            "a.png",
            png_header(100_000, 100_000),
            large(),
        ),
        image_case("PNG header 9000×10", "a.png", png_header(9000, 10), large()),
        image_case("PNG header 0×0", "a.png", png_header(0, 0), refused()),
        image_case(
            "PNG header with too little data",
            "a.png",
            png_header(64, 64),
            refused(),
        ),
        image_case(
            "PNG cut in half",
            "a.png",
            photo[..photo.len() / 2].to_vec(),
            refused(),
        ),
        image_case(
            "PNG signature only",
            "a.png",
            photo[..8].to_vec(),
            refused(),
        ),
        image_case(
            "BMP header 100000×100000",
            "a.bmp",
            bmp_header(100_000, 100_000),
            large(),
        ),
        image_case(
            "BMP header −100000 high",
            "a.bmp",
            bmp_header(16, -100_000),
            large(),
        ),
        image_case(
            "BMP header i32::MIN high",
            "a.bmp",
            bmp_header(16, i32::MIN),
            large(),
        ),
        image_case(
            "OS/2 BMP header 65535×65535",
            "a.bmp",
            bmp_core_header(65535, 65535),
            large(),
        ),
        image_case(
            "BMP header without pixels",
            "a.bmp",
            bmp_header(16, 16),
            refused(),
        ),
        image_case(
            "JPEG frame 65500×65500",
            "a.jpg",
            jpeg_header(&jpeg, 65500, 65500),
            large(),
        ),
        image_case(
            "JPEG cut in half",
            "a.jpg",
            jpeg[..jpeg.len() / 2].to_vec(),
            Expect::Either,
        ),
        image_case(
            "JPEG markers only",
            "a.jpg",
            vec![0xff, 0xd8, 0xff, 0xd9],
            refused(),
        ),
        image_case(
            "GIF screen 65535×65535, no frame",
            "a.gif",
            gif_header(65535, 65535),
            refused(),
        ),
        image_case(
            "WebP header only",
            "a.webp",
            b"RIFF\x10\0\0\0WEBPVP8 ".to_vec(),
            refused(),
        ),
        image_case(
            "text named .png",
            "a.png",
            b"hello, world".to_vec(),
            refused(),
        ),
        image_case("empty file named .png", "a.png", vec![], refused()),
        image_case(
            "PNG named .jpg",
            "a.jpg",
            photo.clone(),
            Expect::Works(TRAINED),
        ),
        works(
            "16-bit RGBA PNG",
            "a.png",
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(12, 9, |x, y| {
                Rgba([x as u16 * 999, y as u16 * 999, 7, 40000])
            })),
            ImageFormat::Png,
        ),
        works(
            "gray and alpha PNG",
            "a.png",
            DynamicImage::ImageLumaA8(ImageBuffer::from_fn(9, 9, |x, _| {
                LumaA([x as u8 * 20, 128])
            })),
            ImageFormat::Png,
        ),
        works(
            "16-bit gray PNG",
            "a.png",
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(9, 9, |x, _| Luma([x as u16 * 7000]))),
            ImageFormat::Png,
        ),
        works(
            "one pixel wide, 500 high",
            "a.png",
            DynamicImage::ImageRgb8(ImageBuffer::from_pixel(1, 500, Rgb([10, 200, 30]))),
            ImageFormat::Png,
        ),
        works(
            "GIF",
            "a.gif",
            DynamicImage::ImageRgb8(ImageBuffer::from_pixel(10, 10, Rgb([200, 0, 30]))),
            ImageFormat::Gif,
        ),
        works(
            "BMP",
            "a.bmp",
            DynamicImage::ImageRgb8(ImageBuffer::from_pixel(10, 7, Rgb([0, 90, 30]))),
            ImageFormat::Bmp,
        ),
        image_case("JPEG", "a.jpeg", jpeg, Expect::Works(TRAINED)),
    ]
}

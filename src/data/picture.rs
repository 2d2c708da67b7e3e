//! One image file to one dataset row: decode (header checked first), flatten alpha, centre
//! crop, resize, and lay out as CHW u8.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{
    DynamicImage, GrayImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage,
    RgbaImage,
};

use super::{ImageSpec, LoadLimits};

/// The extensions taken for images, and the format each one names.
pub(super) fn format_for(path: &str) -> Option<ImageFormat> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some(ImageFormat::Png),
        "jpg" | "jpeg" | "jpe" | "jfif" => Some(ImageFormat::Jpeg),
        "gif" => Some(ImageFormat::Gif),
        "bmp" => Some(ImageFormat::Bmp),
        "webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes one image and returns its row (spec.channels × spec.size × spec.size, CHW), or the
/// reason it cannot be used.
pub(super) fn to_row(
    bytes: &[u8],
    named: ImageFormat,
    spec: ImageSpec,
    limits: &LoadLimits,
) -> Result<Vec<u8>, String> {
    let image = decode(bytes, named, limits)?;
    Ok(fit(&image, spec))
}

pub(super) fn decode(
    bytes: &[u8],
    named: ImageFormat,
    limits: &LoadLimits,
) -> Result<DynamicImage, String> {
    if let Some((width, height)) = bmp_dimensions(bytes) {
        // The BMP decoder refuses a huge header as a format error before its size can be
        // asked for: say what is wrong with it.
        let side = limits.max_image_side;
        if width > side || height > side {
            return Err(format!(
                "too large: {width}×{height} pixels, the limit is {side}×{side}"
            ));
        }
    }
    let mut decoder_limits = Limits::default();
    decoder_limits.max_alloc = Some(limits.max_decode_bytes);
    // The content decides the format when it can (a PNG named .jpg still loads); the
    // extension is the fallback.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), named)
        .with_guessed_format()
        .map_err(|e| format!("unreadable: {e}"))?;
    reader.limits(decoder_limits.clone());
    // Reads the header only: no pixel is decoded, nothing is allocated for them yet.
    let mut decoder = reader.into_decoder().map_err(describe)?;
    let (width, height) = decoder.dimensions();
    let side = limits.max_image_side;
    if width > side || height > side {
        return Err(format!(
            "too large: {width}×{height} pixels, the limit is {side}×{side}"
        ));
    }
    if width == 0 || height == 0 {
        return Err(format!("empty: {width}×{height} pixels"));
    }
    if decoder.total_bytes() > limits.max_decode_bytes {
        return Err(format!(
            "too large: {width}×{height} pixels need {} MiB decoded, the limit is {} MiB",
            decoder.total_bytes() >> 20,
            limits.max_decode_bytes >> 20
        ));
    }
    decoder_limits.max_image_width = Some(side);
    decoder_limits.max_image_height = Some(side);
    decoder.set_limits(decoder_limits).map_err(describe)?;
    // Phone photos store "rotate me" in EXIF rather than rotating their pixels.
    let orientation = decoder.orientation().map_err(describe)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(describe)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Width and height from a BMP's info header: 16-bit in the old 12-byte core header, else
/// 32-bit (a negative height means top-down rows).
fn bmp_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 26 || &bytes[..2] != b"BM" {
        return None;
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u32;
    let i32_at = |at: usize| i32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if i32_at(14) == 12 {
        Some((u16_at(18), u16_at(20)))
    } else {
        Some((i32_at(18).unsigned_abs(), i32_at(22).unsigned_abs()))
    }
}

fn describe(e: ImageError) -> String {
    let text = match e {
        ImageError::Decoding(e) => format!("corrupt: {}", decoder_words(&e.to_string())),
        ImageError::IoError(e) => format!("corrupt or truncated: {e}"),
        ImageError::Limits(e) => format!("too large to decode: {e}"),
        ImageError::Unsupported(e) => format!("unsupported: {e}"),
        e => e.to_string(),
    };
    // Some decoders' messages run over several lines: a reason is one.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A decoder's own message without the image crate's "Format error decoding Png: " in front.
fn decoder_words(text: &str) -> &str {
    match text.strip_prefix("Format error decoding ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, reason)| reason),
        None => text,
    }
}

/// A side-by-side pair cut where the reference's AlignedDataset cuts it: A is the left ⌊w/2⌋
/// columns, B the rest (one column more when the width is odd).
pub(super) fn halves(image: &DynamicImage) -> (DynamicImage, DynamicImage) {
    let (width, height) = (image.width(), image.height());
    let left = width / 2;
    (
        image.crop_imm(0, 0, left, height),
        image.crop_imm(left, 0, width - left, height),
    )
}

/// Centre crop to a square, then resize to spec.size, as spec.channels planes.
pub(super) fn fit(image: &DynamicImage, spec: ImageSpec) -> Vec<u8> {
    let (width, height) = (image.width(), image.height());
    let side = width.min(height);
    let square = image.crop_imm((width - side) / 2, (height - side) / 2, side, side);
    // Triangle (bilinear) widens its support by the scale factor when shrinking, so every
    // source pixel contributes: no aliasing, and no ringing as with CatmullRom or Lanczos.
    let filter = FilterType::Triangle;
    let size = spec.size;
    if spec.channels == 1 {
        let gray: GrayImage = if square.color().has_alpha() {
            DynamicImage::ImageRgb8(flatten_on_white(&square.to_rgba8())).to_luma8()
        } else {
            square.to_luma8()
        };
        imageops::resize(&gray, size, size, filter).into_raw()
    } else {
        let rgb: RgbImage = if square.color().has_alpha() {
            flatten_on_white(&square.to_rgba8())
        } else {
            square.to_rgb8()
        };
        planar(&imageops::resize(&rgb, size, size, filter))
    }
}

/// Composites onto white: out = c·a + 255·(1 − a). White, not black, because images with
/// transparency are mostly icons, sprites, emoji and logos drawn to be seen on a light page:
/// on black their dark outlines and text would vanish. Done before the resize, so the colour
/// hidden under transparent pixels never bleeds into visible ones.
fn flatten_on_white(rgba: &RgbaImage) -> RgbImage {
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = a as u32;
        let over = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

/// HWC (interleaved) to CHW (one plane per channel).
fn planar(rgb: &RgbImage) -> Vec<u8> {
    let hw = (rgb.width() * rgb.height()) as usize;
    let mut out = vec![0u8; 3 * hw];
    for (i, px) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * hw + i] = px.0[c];
        }
    }
    out
}

/// A stored row (CHW, `from`) fitted to `to`: resized, and gray ↔ RGB as needed.
pub(super) fn refit(row: &[u8], from: ImageSpec, to: ImageSpec) -> Vec<u8> {
    let size = from.size;
    let image = if from.channels == 1 {
        DynamicImage::ImageLuma8(
            GrayImage::from_raw(size, size, row.to_vec()).expect("a row holds size² bytes"),
        )
    } else {
        let hw = (size * size) as usize;
        let interleaved: Vec<u8> = (0..hw)
            .flat_map(|i| [row[i], row[hw + i], row[2 * hw + i]])
            .collect();
        DynamicImage::ImageRgb8(
            RgbImage::from_raw(size, size, interleaved).expect("a row holds 3·size² bytes"),
        )
    };
    fit(&image, to)
}

/// One picture (a file a person drops or names, not a zip) as a one-image dataset at `spec`,
/// within the same limits a zip's images are held to.
pub fn load_picture(
    name: &str,
    bytes: &[u8],
    spec: ImageSpec,
    limits: &LoadLimits,
) -> crate::Result<super::Dataset> {
    spec.validate()?;
    let fail = |why: String| crate::Error::Dataset(format!("{name}: {why}"));
    let format = format_for(name)
        .or_else(|| image::guess_format(bytes).ok())
        .ok_or_else(|| fail("not an image webgan reads (PNG, JPEG, GIF, BMP or WebP)".into()))?;
    let row = to_row(bytes, format, spec, limits).map_err(fail)?;
    super::Dataset::unconditional(spec, row)
}

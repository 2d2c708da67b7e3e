//! The `WGDS` file: a dataset as one compact byte string (the built-in digits ship in it).
//!
//! ```text
//! b"WGDS"
//! u32 version = 1, count, channels, height, width, class_count     (little-endian)
//! class_count × { u32 byte length, UTF-8 name }
//! count × u32 label                                                 (only if class_count > 0)
//! count × channels × height × width u8 pixels                       (NCHW)
//! ```

use super::{Dataset, ImageSpec};
use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"WGDS";
const VERSION: u32 = 1;

impl Dataset {
    /// The `WGDS` bytes of a dataset. `decode(&d.encode())` gives `d` back for every `d` that
    /// [`Dataset::validate`] accepts.
    pub fn encode(&self) -> Vec<u8> {
        let names: usize = self.class_names.iter().map(|n| 4 + n.len()).sum();
        let mut out = Vec::with_capacity(28 + names + 4 * self.labels.len() + self.pixels.len());
        out.extend_from_slice(MAGIC);
        let header = [
            VERSION,
            self.count() as u32,
            self.spec.channels,
            self.spec.size,
            self.spec.size,
            self.class_names.len() as u32,
        ];
        for v in header {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for name in &self.class_names {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        if !self.class_names.is_empty() {
            for &l in &self.labels {
                out.extend_from_slice(&l.to_le_bytes());
            }
        }
        out.extend_from_slice(&self.pixels);
        out
    }

    /// Reads a `WGDS` file, checking every field: magic, version, square 1- or 3-channel
    /// images, sizes that fit, UTF-8 class names, labels below the class count, and no byte
    /// missing or left over. Never allocates more than the input holds.
    pub fn decode(bytes: &[u8]) -> Result<Dataset> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "the magic bytes")? != MAGIC {
            return Err(bad(
                "this is not a webgan dataset (it does not start with WGDS)",
            ));
        }
        let version = r.u32("the version")?;
        if version != VERSION {
            return Err(bad(format!(
                "dataset format version {version} is not supported (this build reads version {VERSION})"
            )));
        }
        let count = r.u32("the image count")?;
        let channels = r.u32("the channel count")?;
        let height = r.u32("the height")?;
        let width = r.u32("the width")?;
        let class_count = r.u32("the class count")?;
        if height != width {
            return Err(bad(format!(
                "the images are {width}×{height}; only square images are supported"
            )));
        }
        let spec = ImageSpec {
            size: width,
            channels,
        };
        spec.validate()
            .map_err(|e| bad(format!("bad image shape in the header: {e}")))?;
        if count == 0 {
            return Err(bad("the dataset holds no images"));
        }
        let class_names = read_class_names(&mut r, class_count)?;
        let label_bytes = if class_count > 0 { 4 * count as u64 } else { 0 };
        let pixel_bytes = (count as u64)
            .checked_mul(spec.row_len() as u64)
            .ok_or_else(|| {
                bad(format!(
                    "{count} images of {width}×{height}×{channels} overflow"
                ))
            })?;
        let want = label_bytes + pixel_bytes;
        let have = r.remaining() as u64;
        if have < want {
            return Err(bad(format!(
                "the file is truncated: {count} images need {want} bytes of labels and pixels \
                 after byte {}, but only {have} follow",
                r.pos
            )));
        }
        if have > want {
            return Err(bad(format!(
                "{} bytes follow the last image; the file should end there",
                have - want
            )));
        }
        let label_count = if class_count > 0 { count as usize } else { 0 };
        let mut labels = Vec::with_capacity(label_count);
        for i in 0..label_count {
            let l = r.u32("a label")?;
            if l >= class_count {
                return Err(bad(format!(
                    "image {i} has label {l}, but there are only {class_count} classes"
                )));
            }
            labels.push(l);
        }
        let pixels = r.take(r.remaining(), "the pixels")?.to_vec();
        Dataset::conditional(spec, pixels, labels, class_names)
    }
}

fn read_class_names(r: &mut Reader, class_count: u32) -> Result<Vec<String>> {
    // No `with_capacity(class_count)`: the count is untrusted, and every name costs at least
    // four bytes, so a false one runs into the end of the input and stops there.
    let mut names: Vec<String> = Vec::new();
    for k in 0..class_count {
        let len = r.u32("a class name's length")?;
        let raw = r.take(len as usize, "a class name")?;
        let name = std::str::from_utf8(raw)
            .map_err(|_| bad(format!("the name of class {k} is not UTF-8")))?;
        if names.iter().any(|n| n == name) {
            return Err(bad(format!("class name {name:?} appears twice")));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

fn bad(message: impl Into<String>) -> Error {
    Error::Dataset(message.into())
}

/// A cursor over the input that fails, rather than panics, at its end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(bad(format!(
                "the file is truncated: it ends inside {what} (byte {} of {}, {n} bytes wanted)",
                self.pos,
                self.bytes.len()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

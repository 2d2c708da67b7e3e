//! Checkpoints as safetensors files, written and read by hand.
//!
//! Layout: an 8-byte little-endian header length `N`; `N` bytes of JSON
//! `{"__metadata__": {string: string}, "name": {"dtype", "shape", "data_offsets": [begin, end]}}`,
//! padded with spaces to a multiple of 8 so the data starts 8-byte aligned; then the tensors'
//! little-endian bytes, contiguous, with offsets counted from the end of the header.
//!
//! Floats are F32, or F16 in a file written by [`Checkpoint::to_bytes_half`] (read back widened
//! to f32). Integer tensors (a step counter) live apart, as i64: read from U32 (widened)
//! or I64 and written back as I64 ahead of the floats, so no value is ever rounded to a float
//! and every tensor stays aligned to its element size. Every other dtype is refused by name. A reader never panics: every fault is an [`Error::Checkpoint`]
//! that names the tensor and what is wrong with it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::{Error, Result};

pub mod half;
mod header;

use header::{check_layout, parse_header, split_header, Dtype, Entry};

/// The longest header a reader accepts, as the `safetensors` crate does: anything longer is
/// not a checkpoint.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The header key of the string-to-string metadata; no tensor may take this name.
const METADATA_KEY: &str = "__metadata__";

/// A float tensor, row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An integer tensor (a step counter, a seed), row-major.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntTensor {
    pub shape: Vec<usize>,
    pub data: Vec<i64>,
}

impl Tensor {
    /// A tensor whose data has exactly the element count of its shape.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor> {
        check_count("a new tensor", &shape, data.len())?;
        Ok(Tensor { shape, data })
    }
}

impl IntTensor {
    /// An integer tensor whose data has exactly the element count of its shape.
    pub fn new(shape: Vec<usize>, data: Vec<i64>) -> Result<IntTensor> {
        check_count("a new integer tensor", &shape, data.len())?;
        Ok(IntTensor { shape, data })
    }
}

/// Named tensors and string metadata (a model's configuration as JSON, say).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, Tensor>,
    pub integers: BTreeMap<String, IntTensor>,
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    pub fn new() -> Checkpoint {
        Checkpoint::default()
    }

    /// The float tensor `name`, which must have `expected_shape`.
    pub fn get(&self, name: &str, expected_shape: &[usize]) -> Result<&[f32]> {
        match self.tensors.get(name) {
            Some(t) => check_shape(name, &t.shape, expected_shape).map(|()| t.data.as_slice()),
            None if self.integers.contains_key(name) => Err(fault(format!(
                "tensor `{name}` holds integers where floats are expected"
            ))),
            None => Err(self.missing(name)),
        }
    }

    /// The integer tensor `name`, which must have `expected_shape`.
    pub fn get_int(&self, name: &str, expected_shape: &[usize]) -> Result<&[i64]> {
        match self.integers.get(name) {
            Some(t) => check_shape(name, &t.shape, expected_shape).map(|()| t.data.as_slice()),
            None if self.tensors.contains_key(name) => Err(fault(format!(
                "tensor `{name}` holds floats where integers are expected"
            ))),
            None => Err(self.missing(name)),
        }
    }

    /// A missing tensor, named with a few of those the file does hold (a whole listing of a
    /// model's tensors is no sentence a person reads).
    fn missing(&self, name: &str) -> Error {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.extend(self.integers.keys().map(String::as_str));
        names.sort_unstable();
        let held = match names.len() {
            0 => "it holds no tensors".to_string(),
            n @ 1..=3 => format!("it holds {}", names[..n].join(", ")),
            n => format!("it holds {n} others, such as {}", names[..3].join(", ")),
        };
        fault(format!(
            "the checkpoint has no tensor `{name}` ({held}): it was written for another model or is incomplete"
        ))
    }

    /// The safetensors file: integers as I64, then floats as F32, each in name order, so that
    /// with the header padded to 8 bytes every tensor starts aligned to its element size (as
    /// Python's `safetensors` lays files out). Fails only on a tensor whose data does not fill
    /// its shape, or on a name used twice or reserved.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.encode(Dtype::F32)
    }

    /// [`Checkpoint::to_bytes`] with the floats as F16: half the size, each value rounded to
    /// the nearest half. Refuses a value beyond a half's range (±65504), which would become ∞.
    pub fn to_bytes_half(&self) -> Result<Vec<u8>> {
        for (name, t) in &self.tensors {
            if let Some(v) = t.data.iter().find(|v| v.abs() > half::MAX) {
                return Err(fault(format!(
                    "tensor `{name}` holds {v}, beyond the range of 16-bit floats (±{})",
                    half::MAX
                )));
            }
        }
        self.encode(Dtype::F16)
    }

    /// The file with its floats as `floats` (F32 or F16).
    fn encode(&self, floats: Dtype) -> Result<Vec<u8>> {
        let mut header = Map::new();
        if !self.metadata.is_empty() {
            header.insert(METADATA_KEY.into(), json!(self.metadata));
        }
        let mut offset = 0;
        for (name, t) in &self.integers {
            if self.tensors.contains_key(name) {
                return Err(fault(format!(
                    "`{name}` is both a float and an integer tensor"
                )));
            }
            describe(
                &mut header,
                &mut offset,
                name,
                Dtype::I64,
                &t.shape,
                t.data.len(),
            )?;
        }
        for (name, t) in &self.tensors {
            describe(
                &mut header,
                &mut offset,
                name,
                floats,
                &t.shape,
                t.data.len(),
            )?;
        }
        let mut header = Value::Object(header).to_string().into_bytes();
        header.resize(header.len().next_multiple_of(8), b' ');

        let mut file = Vec::with_capacity(8 + header.len() + offset);
        file.extend_from_slice(&(header.len() as u64).to_le_bytes());
        file.extend_from_slice(&header);
        for t in self.integers.values() {
            file.extend(t.data.iter().flat_map(|v| v.to_le_bytes()));
        }
        for t in self.tensors.values() {
            match floats {
                Dtype::F16 => {
                    file.extend(t.data.iter().flat_map(|&v| half::from_f32(v).to_le_bytes()))
                }
                _ => file.extend(t.data.iter().flat_map(|v| v.to_le_bytes())),
            }
        }
        Ok(file)
    }

    /// Reads a safetensors file, checking every offset and shape before touching the data.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint> {
        let (header, data) = split_header(bytes)?;
        let (metadata, mut entries) = parse_header(header)?;
        check_layout(&mut entries, data.len())?;

        let mut checkpoint = Checkpoint {
            metadata,
            ..Checkpoint::default()
        };
        for Entry {
            name,
            dtype,
            shape,
            begin,
            end,
        } in entries
        {
            let raw = &data[begin..end];
            match dtype {
                Dtype::F32 => {
                    let data = raw
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes(word(b)))
                        .collect();
                    checkpoint.tensors.insert(name, Tensor { shape, data });
                }
                Dtype::F16 => {
                    let data = raw
                        .chunks_exact(2)
                        .map(|b| half::to_f32(u16::from_le_bytes(word(b))))
                        .collect();
                    checkpoint.tensors.insert(name, Tensor { shape, data });
                }
                Dtype::U32 => {
                    let widen = |b: &[u8]| i64::from(u32::from_le_bytes(word(b)));
                    let data = raw.chunks_exact(4).map(widen).collect();
                    checkpoint.integers.insert(name, IntTensor { shape, data });
                }
                Dtype::I64 => {
                    let data = raw
                        .chunks_exact(8)
                        .map(|b| i64::from_le_bytes(word(b)))
                        .collect();
                    checkpoint.integers.insert(name, IntTensor { shape, data });
                }
            }
        }
        Ok(checkpoint)
    }
}

fn fault(message: impl Into<String>) -> Error {
    Error::Checkpoint(message.into())
}

/// Adds tensor `name` of `len` elements to the header, placed at `offset`, which it advances.
fn describe(
    header: &mut Map<String, Value>,
    offset: &mut usize,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    len: usize,
) -> Result<()> {
    if name == METADATA_KEY {
        return Err(fault(format!(
            "`{METADATA_KEY}` is reserved for the metadata"
        )));
    }
    check_count(&format!("tensor `{name}`"), shape, len)?;
    // A Vec of `len` elements already exists in memory, so its byte count cannot overflow.
    let end = *offset + len * dtype.size();
    let entry = json!({ "dtype": dtype.as_str(), "shape": shape, "data_offsets": [*offset, end] });
    header.insert(name.to_string(), entry);
    *offset = end;
    Ok(())
}

/// A fixed-size array from a chunk of exactly that size.
fn word<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes
        .try_into()
        .expect("chunks_exact gives chunks of the word size")
}

/// Product of the dimensions, `None` on overflow.
fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

fn check_count(what: &str, shape: &[usize], len: usize) -> Result<()> {
    match element_count(shape) {
        Some(n) if n == len => Ok(()),
        Some(n) => Err(fault(format!(
            "{what} has shape {shape:?} ({n} elements) but {len} values"
        ))),
        None => Err(fault(format!(
            "{what} has shape {shape:?}, too many elements to count"
        ))),
    }
}

fn check_shape(name: &str, found: &[usize], expected: &[usize]) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(fault(format!(
            "tensor `{name}` has shape {found:?}, expected {expected:?}"
        )))
    }
}

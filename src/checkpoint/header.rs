//! Reading a safetensors header: the length, the JSON, and every tensor's dtype, shape and
//! offsets, all checked before any data is touched.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{element_count, fault, MAX_HEADER_BYTES, METADATA_KEY};
use crate::Result;

/// The dtypes this module reads; it writes all but U32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dtype {
    F32,
    /// Half floats, widened to f32 as they are read (a generator exported with `--half`).
    F16,
    U32,
    I64,
}

impl Dtype {
    fn parse(name: &str, dtype: &str) -> Result<Dtype> {
        match dtype {
            "F32" => Ok(Dtype::F32),
            "F16" => Ok(Dtype::F16),
            "U32" => Ok(Dtype::U32),
            "I64" => Ok(Dtype::I64),
            _ => Err(fault(format!(
                "tensor `{name}` has dtype {dtype}, which this reader does not take \
                 (it reads F32, F16, U32 and I64)"
            ))),
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::U32 => "U32",
            Dtype::I64 => "I64",
        }
    }

    pub(super) fn size(self) -> usize {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 | Dtype::U32 => 4,
            Dtype::I64 => 8,
        }
    }
}

/// One tensor as the header describes it; `begin..end` indexes the data section.
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) dtype: Dtype,
    pub(super) shape: Vec<usize>,
    pub(super) begin: usize,
    pub(super) end: usize,
}

/// Splits the file into its JSON header and its data section.
pub(super) fn split_header(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let Some((length, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(fault(format!(
            "the file is {} bytes, too short to hold the 8-byte header length",
            bytes.len()
        )));
    };
    let length = u64::from_le_bytes(*length);
    if length > MAX_HEADER_BYTES {
        return Err(fault(format!(
            "the header length says {length} bytes, more than the {MAX_HEADER_BYTES} a header \
             may have: this is not a safetensors file"
        )));
    }
    // length <= MAX_HEADER_BYTES fits in usize on every target, wasm32 included.
    let length = length as usize;
    if length > rest.len() {
        return Err(fault(format!(
            "the header length says {length} bytes but only {} follow it: the file is truncated",
            rest.len()
        )));
    }
    Ok(rest.split_at(length))
}

/// The metadata and the tensor entries of the header, each entry checked on its own.
pub(super) fn parse_header(header: &[u8]) -> Result<(BTreeMap<String, String>, Vec<Entry>)> {
    let header: Value = serde_json::from_slice(header)
        .map_err(|e| fault(format!("the header is not valid JSON: {e}")))?;
    let Value::Object(header) = header else {
        return Err(fault(format!(
            "the header is a JSON {}, not an object",
            kind(&header)
        )));
    };
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::with_capacity(header.len());
    for (name, value) in header {
        if name == METADATA_KEY {
            metadata = parse_metadata(value)?;
        } else {
            entries.push(parse_entry(name, value)?);
        }
    }
    Ok((metadata, entries))
}

fn parse_metadata(value: Value) -> Result<BTreeMap<String, String>> {
    let Value::Object(map) = value else {
        return Err(fault(format!(
            "`{METADATA_KEY}` is a JSON {}, not an object",
            kind(&value)
        )));
    };
    map.into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key, s)),
            other => Err(fault(format!(
                "metadata `{key}` is a JSON {}, not a string",
                kind(&other)
            ))),
        })
        .collect()
}

fn parse_entry(name: String, value: Value) -> Result<Entry> {
    let Value::Object(mut fields) = value else {
        return Err(fault(format!(
            "tensor `{name}` is a JSON {}, not an object",
            kind(&value)
        )));
    };
    let mut take = |field: &str| {
        fields
            .remove(field)
            .ok_or_else(|| fault(format!("tensor `{name}` has no `{field}`")))
    };
    let (dtype, shape, offsets) = (take("dtype")?, take("shape")?, take("data_offsets")?);
    if let Some(field) = fields.keys().next() {
        return Err(fault(format!(
            "tensor `{name}` has an unknown field `{field}`"
        )));
    }
    let Value::String(dtype) = dtype else {
        return Err(fault(format!(
            "tensor `{name}`: dtype is a JSON {}",
            kind(&dtype)
        )));
    };
    let dtype = Dtype::parse(&name, &dtype)?;
    let shape = usizes(&name, "shape", &shape)?;
    let [begin, end] = usizes(&name, "data_offsets", &offsets)?[..] else {
        return Err(fault(format!(
            "tensor `{name}`: data_offsets must be [begin, end]"
        )));
    };
    if begin > end {
        return Err(fault(format!(
            "tensor `{name}` has data_offsets [{begin}, {end}]: begin after end"
        )));
    }
    let bytes = element_count(&shape).and_then(|n| n.checked_mul(dtype.size()));
    if bytes != Some(end - begin) {
        let needs = bytes.map_or("more bytes than fit in memory".to_string(), |b| {
            format!("{b} bytes")
        });
        return Err(fault(format!(
            "tensor `{name}` of shape {shape:?} needs {needs} of {dtype:?}, \
             but its data_offsets [{begin}, {end}] span {}",
            end - begin
        )));
    }
    Ok(Entry {
        name,
        dtype,
        shape,
        begin,
        end,
    })
}

/// A JSON array of non-negative integers that fit in a usize (32 bits on wasm32).
fn usizes(name: &str, field: &str, value: &Value) -> Result<Vec<usize>> {
    let bad = || {
        fault(format!(
            "tensor `{name}`: {field} must be an array of non-negative integers, found {value}"
        ))
    };
    let Value::Array(items) = value else {
        return Err(bad());
    };
    items
        .iter()
        .map(|v| {
            let n = v.as_u64().ok_or_else(bad)?;
            usize::try_from(n).map_err(|_| {
                fault(format!(
                    "tensor `{name}`: {field} holds {n}, more than fit in memory on this platform"
                ))
            })
        })
        .collect()
}

/// The tensors must tile the data section exactly: from byte 0, no overlap, no gap, to the end.
pub(super) fn check_layout(entries: &mut [Entry], data_len: usize) -> Result<()> {
    entries.sort_unstable_by_key(|e| (e.begin, e.end));
    let mut covered = 0;
    let mut previous: Option<&str> = None;
    for e in entries.iter() {
        if e.end > data_len {
            return Err(fault(format!(
                "tensor `{}` has data_offsets [{}, {}] but the data section is {data_len} bytes",
                e.name, e.begin, e.end
            )));
        }
        let after = previous.map_or("the start of the data".to_string(), |p| format!("`{p}`"));
        if e.begin < covered {
            return Err(fault(format!(
                "tensor `{}` starts at byte {} inside {after}, which ends at {covered}: they overlap",
                e.name, e.begin
            )));
        }
        if e.begin > covered {
            return Err(fault(format!(
                "bytes {covered}..{} between {after} and tensor `{}` belong to no tensor",
                e.begin, e.name
            )));
        }
        covered = e.end;
        previous = Some(&e.name);
    }
    if covered < data_len {
        return Err(fault(format!(
            "bytes {covered}..{data_len}, the end of the data section, belong to no tensor"
        )));
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

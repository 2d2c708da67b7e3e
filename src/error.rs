//! The one error type of the public API. `web.rs` turns it into a sentence for the page.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// No adapter matched (or none exists): the message says what was asked for.
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    #[error("the GPU device could not be created: {0}")]
    Device(String),
    /// A shape or buffer size that does not fit the operation it was given to.
    #[error("shape error in {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    /// Reading a buffer back from the GPU failed (device lost, buffer destroyed).
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    /// A value a person gave that cannot be used; the message is the whole sentence.
    #[error("{0}")]
    Invalid(String),
    /// A checkpoint that cannot be read or written: the message names the tensor and the fault.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A dataset that could not be loaded or decoded: the message says what was found.
    #[error("cannot load the dataset: {0}")]
    Dataset(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a shape error with a formatted detail.
pub(crate) fn shape_error(op: &'static str, detail: impl Into<String>) -> Error {
    Error::Shape {
        op,
        detail: detail.into(),
    }
}

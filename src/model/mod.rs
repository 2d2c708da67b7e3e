//! The presets: networks built as graphs, named and shaped as the PyTorch modules they mirror,
//! so that a checkpoint's tensor names (`main.3.weight`) load into the same PyTorch model.

pub mod presets;

pub use crate::graph::{Graph, Init, Layer, ParamSpec, Shape3};

//! Naming nodes as `nn.Sequential` names its children: `{prefix}.{index}`, every child taking
//! the next index whether it has parameters or not (a ReLU, a padding, a dropout), and a
//! submodule one index for all of its own.

use crate::graph::{Builder, Layer, TensorId};
use crate::Result;

pub(crate) struct Sequential {
    prefix: String,
    next: u32,
}

impl Sequential {
    pub fn new(prefix: impl Into<String>) -> Sequential {
        Sequential {
            prefix: prefix.into(),
            next: 0,
        }
    }

    /// The next child's path, taken: a submodule names its own nodes under it.
    pub fn child(&mut self) -> String {
        let name = format!("{}.{}", self.prefix, self.next);
        self.next += 1;
        name
    }

    /// `layer` on `x` as the next child.
    pub fn push(&mut self, b: &mut Builder, layer: Layer, x: TensorId) -> Result<TensorId> {
        let name = self.child();
        b.add(&name, layer, &[x])
    }
}

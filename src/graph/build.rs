//! Building a graph the way a PyTorch module's `forward` reads: each call adds a node on
//! tensors already made and returns its output.
//!
//! ```
//! use webgan::graph::{ops::{Cat, Conv2d}, Builder, Layer, Shape3};
//! let mut b = Builder::new();
//! let x = b.input(Shape3::new(3, 8, 8));
//! let conv = Conv2d { out_channels: 4, kernel: 3, stride: 1, padding: 1, bias: true, spectral_norm: false };
//! let h = b.add("down", Layer::Conv(conv), &[x]).unwrap();
//! let skip = b.add("cat", Layer::Cat(Cat), &[h, x]).unwrap();
//! let g = b.finish(&[skip]).unwrap();
//! assert_eq!(g.output(), Shape3::new(7, 8, 8));
//! ```

use std::collections::HashSet;

use crate::graph::{node_error, Graph, Layer, Node, Shape3, TensorId};
use crate::Result;

#[derive(Default)]
pub struct Builder {
    inputs: Vec<Shape3>,
    nodes: Vec<Node>,
    shapes: Vec<Shape3>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// A graph input. Inputs come before any node.
    pub fn input(&mut self, shape: Shape3) -> TensorId {
        assert!(self.nodes.is_empty(), "graph inputs are declared first");
        self.inputs.push(shape);
        self.shapes.push(shape);
        TensorId(self.shapes.len() - 1)
    }

    pub fn shape(&self, t: TensorId) -> Shape3 {
        self.shapes[t.0]
    }

    /// A node named `name` (its parameters' prefix) applying `layer` to `inputs`.
    pub fn add(&mut self, name: &str, layer: Layer, inputs: &[TensorId]) -> Result<TensorId> {
        let op = layer.op();
        match op.arity() {
            Some(n) if inputs.len() != n => {
                return Err(node_error(
                    name,
                    format!("takes {n} input(s), not {}", inputs.len()),
                ))
            }
            None if inputs.len() < 2 => {
                return Err(node_error(name, "takes two or more inputs"));
            }
            _ => {}
        }
        if let Some(bad) = inputs.iter().find(|t| t.0 >= self.shapes.len()) {
            return Err(node_error(
                name,
                format!("reads tensor {} before it exists", bad.0),
            ));
        }
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(node_error(name, "two nodes share this name"));
        }
        let shapes: Vec<Shape3> = inputs.iter().map(|&t| self.shape(t)).collect();
        let output = op.output(&shapes).map_err(|e| node_error(name, e))?;
        if output.is_empty() {
            return Err(node_error(name, format!("its output {output:?} is empty")));
        }
        self.nodes.push(Node {
            name: name.to_string(),
            layer,
            inputs: inputs.to_vec(),
        });
        self.shapes.push(output);
        Ok(TensorId(self.shapes.len() - 1))
    }

    /// The graph with these outputs. Every tensor must be read by a node or be an output: a
    /// tensor no one reads would get no gradient.
    pub fn finish(self, outputs: &[TensorId]) -> Result<Graph> {
        if outputs.is_empty() {
            return Err(node_error("graph", "has no output"));
        }
        let read: HashSet<TensorId> = self
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .chain(outputs.iter().copied())
            .collect();
        if let Some(t) = (0..self.shapes.len())
            .map(TensorId)
            .find(|t| !read.contains(t))
        {
            let what = match t.0.checked_sub(self.inputs.len()) {
                Some(n) => format!("the output of {}", self.nodes[n].name),
                None => format!("input {}", t.0),
            };
            return Err(node_error("graph", format!("{what} is never used")));
        }
        if let Some(t) = outputs.iter().find(|t| t.0 >= self.shapes.len()) {
            return Err(node_error(
                "graph",
                format!("output {} does not exist", t.0),
            ));
        }
        let distinct: HashSet<&TensorId> = outputs.iter().collect();
        if distinct.len() != outputs.len() {
            return Err(node_error("graph", "names one tensor as two outputs"));
        }
        Ok(Graph {
            inputs: self.inputs,
            nodes: self.nodes,
            shapes: self.shapes,
            outputs: outputs.to_vec(),
        })
    }
}

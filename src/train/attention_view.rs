//! Where a SAGAN's generator looks: for one pixel of one sample, the attention weights its
//! position gives every position of the map of G's last self-attention block (the largest
//! map), as SAGAN's paper shows them. G runs once in eval mode, as for samples, with that
//! block's map as a second output of the same pass.

use crate::graph::Layer;
use crate::train::sample::Sampler;
use crate::train::Trainer;
use crate::{Error, Result};

/// One query position's attention over a map.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionView {
    /// The block's name (`attn2`).
    pub block: String,
    /// The map's side: it has side × side positions.
    pub side: u32,
    /// The position (column, row) of the map that the chosen pixel falls in.
    pub query: (u32, u32),
    /// Its attention weights over the map's positions, row by row: they sum to 1.
    pub weights: Vec<f32>,
    /// The sample, [channels, size, size] in [−1, 1].
    pub image: Vec<f32>,
}

impl AttentionView {
    /// The map position of image pixel (x, y) for an image of `size` pixels and a map of
    /// `side`: the map covers the image evenly, each position size/side pixels wide.
    pub fn position(size: u32, side: u32, x: u32, y: u32) -> (u32, u32) {
        (x * side / size, y * side / size)
    }
}

impl Trainer {
    /// The attention of G's last self-attention block (drawing from the moving average when
    /// the run keeps one) at pixel (x, y) of the image G draws from `z` (one latent vector)
    /// and, when conditional, `class`.
    pub async fn attention_at(
        &self,
        z: &[f32],
        class: Option<u32>,
        x: u32,
        y: u32,
    ) -> Result<AttentionView> {
        let g = self.recipe.g_ema.as_ref().unwrap_or(self.g());
        let graph = &g.graph;
        let Some(node) = (0..graph.nodes.len())
            .rev()
            .find(|&n| matches!(graph.nodes[n].layer, Layer::AttentionMap(_)))
        else {
            return Err(Error::Invalid(format!(
                "{} has no self-attention to show: train a sagan preset",
                self.config.model.preset.name()
            )));
        };
        let size = self.config.model.preset.image_size();
        if x >= size || y >= size {
            return Err(Error::Invalid(format!(
                "pixel ({x}, {y}) lies outside the {size}×{size} image"
            )));
        }
        let nz = self.config.model.nz as usize;
        if z.len() != nz {
            return Err(Error::Invalid(format!(
                "one latent vector of {nz} values is needed, not {}",
                z.len()
            )));
        }
        let labels: Vec<u32> = match (self.config.model.classes, class) {
            (0, _) => vec![],
            (_, Some(k)) => vec![k],
            (classes, None) => {
                return Err(Error::Invalid(format!(
                    "the model is conditional on {classes} classes: choose one"
                )))
            }
        };
        let map = graph.output_of(node);
        // The block's name: the map node is `{block}.map`.
        let block = graph.nodes[node]
            .name
            .strip_suffix(".map")
            .unwrap_or(&graph.nodes[node].name)
            .to_string();
        let probe = g.with_outputs(&[map]);
        let sampler = Sampler::new(&self.gpu, &probe, &self.config, z, &labels)?;
        let outputs = sampler.outputs(&self.gpu).await?;
        let shape = graph.shape(map);
        let n = shape.c as usize;
        let side = shape.h;
        let query = AttentionView::position(size, side, x, y);
        let row = (query.1 * side + query.0) as usize;
        let image_len = self.config.model.image().len();
        Ok(AttentionView {
            block,
            side,
            query,
            // The first image's map: [n, h, w], row i the weights of position i.
            weights: outputs[1][row * n..(row + 1) * n].to_vec(),
            image: outputs[0][..image_len].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_fall_in_the_map_position_that_covers_them() {
        assert_eq!(AttentionView::position(64, 32, 0, 0), (0, 0));
        assert_eq!(AttentionView::position(64, 32, 63, 1), (31, 0));
        assert_eq!(AttentionView::position(32, 16, 17, 30), (8, 15));
        assert_eq!(AttentionView::position(32, 16, 31, 31), (15, 15));
    }
}

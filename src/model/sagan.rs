//! SAGAN's generator and discriminator (Zhang et al. 2019) as the PyTorch port
//! heykeetae/Self-Attention-GAN (`sagan_models.py`) lays them out: DCGAN's ladder of stride-2
//! (transposed) convolutions, every one spectrally normalised but the last, with a
//! self-attention block after each of the two largest feature maps of G and after the 8×8
//! and 4×4 maps of D. G keeps batch norm and ReLU; D has no normalisation but spectral norm,
//! and LeakyReLU(0.1). Every convolution has a bias, as `nn.Conv2d`'s default does.
//!
//! Nodes are named as the port's `state_dict()` names them (`l1.0.weight_orig`, `l1.1.weight`,
//! `attn1.query_conv.weight`, `last.0.weight`), with PyTorch's `torch.nn.utils.spectral_norm`
//! names (`weight_orig`, `weight_u`, `weight_v`) for the normalised weights.
//!
//! The port builds its 64-pixel model (`l1`–`l4`, `attn1` at 16×16 and `attn2` at 32×32 in G)
//! and crashes at 32 (`forward` calls an `l4` it never made); the 32-pixel model here drops
//! one level of each ladder and keeps attention on the two largest maps of G (8×8, 16×16) and
//! on D's 8×8 and 4×4 maps.

use crate::graph::ops::{self_attention, BatchNorm2d, Conv2d, ConvTranspose2d};
use crate::graph::{Builder, Graph, Layer, Shape3, TensorId};
use crate::kernels::activation::Activation;
use crate::model::sequential::Sequential;
use crate::{Error, Result};

/// Spectral-normalised `nn.ConvTranspose2d(_, out, 4, stride, padding)` with a bias.
fn up(out_channels: u32, stride: u32, padding: u32, spectral_norm: bool) -> Layer {
    Layer::ConvTranspose(ConvTranspose2d {
        out_channels,
        kernel: 4,
        stride,
        padding,
        output_padding: 0,
        bias: true,
        spectral_norm,
    })
}

/// Spectral-normalised `nn.Conv2d(_, out, 4, stride, padding)` with a bias.
fn down(out_channels: u32, stride: u32, padding: u32, spectral_norm: bool) -> Layer {
    Layer::Conv(Conv2d {
        out_channels,
        kernel: 4,
        stride,
        padding,
        bias: true,
        spectral_norm,
    })
}

/// One `nn.Sequential` block `l{i}`: `layer`, then the rest, on `x`.
fn block(b: &mut Builder, name: &str, layers: Vec<Layer>, x: TensorId) -> Result<TensorId> {
    let mut s = Sequential::new(name);
    layers
        .into_iter()
        .try_fold(x, |x, layer| s.push(b, layer, x))
}

/// The least width (ngf, ndf) a SAGAN accepts: its attention blocks at the narrowest layer
/// give queries and keys c/8 channels.
pub const MIN_WIDTH: u32 = 8;

fn check_widths(ngf: u32, ndf: u32) -> Result<()> {
    if ngf < MIN_WIDTH || ndf < MIN_WIDTH {
        return Err(Error::Invalid(format!(
            "a SAGAN needs ngf and ndf of at least {MIN_WIDTH} (its self-attention gives queries \
             and keys an eighth of a layer's channels), not ngf {ngf} and ndf {ndf}"
        )));
    }
    Ok(())
}

/// G: z [nz, 1, 1] → image [channels, size, size] in [−1, 1], size 32 or 64.
pub fn generator(z: Shape3, channels: u32, size: u32, ngf: u32, ndf: u32) -> Result<Graph> {
    check_widths(ngf, ndf)?;
    // Widths from the projection down: 64 pixels 8·ngf … ngf, 32 pixels 4·ngf … ngf.
    let levels = if size == 64 { 4 } else { 3 };
    let bn_relu = || {
        vec![
            Layer::BatchNorm(BatchNorm2d::AFFINE),
            Layer::Activation(Activation::Relu),
        ]
    };
    let mut b = Builder::new();
    let mut x = b.input(z);
    for level in 1..=levels {
        let width = ngf << (levels - level);
        let conv = if level == 1 {
            up(width, 1, 0, true) // state size. width x 4 x 4
        } else {
            up(width, 2, 1, true)
        };
        let mut layers = vec![conv];
        layers.extend(bn_relu());
        x = block(&mut b, &format!("l{level}"), layers, x)?;
        // Attention after the last two levels: 16×16 and 32×32 at 64 pixels.
        if level + 1 >= levels {
            let name = format!("attn{}", level + 2 - levels);
            x = self_attention(&mut b, &name, x)?;
        }
    }
    let tanh = Layer::Activation(Activation::Tanh);
    x = block(&mut b, "last", vec![up(channels, 2, 1, false), tanh], x)?;
    b.finish(&[x])
}

/// D: image [channels (+ class planes), size, size] → one score.
pub fn discriminator(image: Shape3, ngf: u32, ndf: u32) -> Result<Graph> {
    check_widths(ngf, ndf)?;
    let levels = if image.h == 64 { 4 } else { 3 };
    let lrelu = Layer::Activation(Activation::LeakyRelu(0.1));
    let mut b = Builder::new();
    let mut x = b.input(image);
    for level in 1..=levels {
        let width = ndf << (level - 1);
        x = block(
            &mut b,
            &format!("l{level}"),
            vec![down(width, 2, 1, true), lrelu],
            x,
        )?;
        // Attention on the last two levels' maps: 8×8 and 4×4.
        if level + 1 >= levels {
            let name = format!("attn{}", level + 2 - levels);
            x = self_attention(&mut b, &name, x)?;
        }
    }
    x = block(&mut b, "last", vec![down(1, 1, 0, false)], x)?;
    b.finish(&[x])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, shape) of every tensor, in state_dict order.
    fn tensors(g: &Graph) -> Vec<(String, Vec<usize>)> {
        (0..g.nodes.len())
            .flat_map(|i| g.params_of(i))
            .map(|p| (p.name, p.shape))
            .collect()
    }

    #[test]
    fn the_64_pixel_generator_is_the_ports() {
        let g = generator(Shape3::new(128, 1, 1), 3, 64, 64, 64).unwrap();
        assert_eq!(g.output(), Shape3::new(3, 64, 64));
        let t = tensors(&g);
        let shape = |name: &str| {
            t.iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| panic!("no {name} in {t:?}"))
        };
        // ConvTranspose2d weights are [in, out, k, k]; spectral norm's u has the out side
        // (PyTorch's dim 1 for transposed convs), v the rest.
        assert_eq!(shape("l1.0.weight_orig"), [128, 512, 4, 4]);
        assert_eq!(shape("l1.0.weight_u"), [512]);
        assert_eq!(shape("l1.0.weight_v"), [128 * 16]);
        assert_eq!(shape("l4.0.weight_orig"), [128, 64, 4, 4]);
        assert_eq!(shape("attn1.query_conv.weight"), [16, 128, 1, 1]);
        assert_eq!(shape("attn2.value_conv.weight"), [64, 64, 1, 1]);
        assert_eq!(shape("attn2.gamma"), [1]);
        assert_eq!(shape("last.0.weight"), [64, 3, 4, 4]);
        assert_eq!(shape("last.0.bias"), [3]);
        assert!(t.iter().all(|(n, _)| !n.starts_with("last.0.weight_")));
        // The attention blocks sit on the 16×16 and 32×32 maps.
        let at = |name: &str| {
            let i = g.nodes.iter().position(|n| n.name == name).unwrap();
            g.shape(g.output_of(i))
        };
        assert_eq!(at("attn1"), Shape3::new(128, 16, 16));
        assert_eq!(at("attn2"), Shape3::new(64, 32, 32));
    }

    #[test]
    fn the_discriminators_attend_at_8_and_4_pixels() {
        for (size, widths) in [(64, [256, 512]), (32, [128, 256])] {
            let d = discriminator(Shape3::new(3, size, size), 64, 64).unwrap();
            assert_eq!(d.output(), Shape3::new(1, 1, 1));
            for (name, (c, side)) in ["attn1", "attn2"]
                .iter()
                .zip(widths.into_iter().zip([8, 4]))
            {
                let i = d.nodes.iter().position(|n| n.name == *name).unwrap();
                assert_eq!(
                    d.shape(d.output_of(i)),
                    Shape3::new(c, side, side),
                    "{size}"
                );
            }
            let t = tensors(&d);
            assert!(t.iter().any(|(n, _)| n == "l1.0.weight_orig"));
            assert!(t.iter().any(|(n, _)| n == "last.0.weight"));
            assert!(!t.iter().any(|(n, _)| n.ends_with("running_mean")));
        }
    }

    #[test]
    fn the_32_pixel_generator_attends_on_its_two_largest_maps() {
        let g = generator(Shape3::new(138, 1, 1), 1, 32, 16, 16).unwrap();
        assert_eq!(g.output(), Shape3::new(1, 32, 32));
        for (name, shape) in [
            ("attn1", Shape3::new(32, 8, 8)),
            ("attn2", Shape3::new(16, 16, 16)),
        ] {
            let i = g.nodes.iter().position(|n| n.name == name).unwrap();
            assert_eq!(g.shape(g.output_of(i)), shape);
        }
    }

    #[test]
    fn too_narrow_a_sagan_is_refused_in_a_sentence() {
        let e = generator(Shape3::new(128, 1, 1), 3, 64, 4, 64).unwrap_err();
        assert!(e.to_string().contains("at least 8"), "{e}");
        let e = discriminator(Shape3::new(3, 32, 32), 64, 7).unwrap_err();
        assert!(e.to_string().contains("not ngf 64 and ndf 7"), "{e}");
    }
}

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
//!
//! The port is unconditional. A conditional model (classes > 0) takes the paper's form, as the
//! conditional PyTorch ports (voletiv/self-attention-GAN-pytorch) build it: every batch norm of
//! G is class-conditional (`l1.1.bn` without γ and β, then the class's row of `l1.1.embed`,
//! [classes, 2C], as [γ; β]), and D is a projection discriminator (Miyato & Koyama 2018): its
//! logit is last(h) + ⟨embed(y), Σ_pixels h⟩ for its features h before `last`, `embed` a
//! spectrally normalised `nn.Embedding(classes, C)`. Both read the class from the one-hot the
//! recipes append to G's z and to D's image.

use crate::graph::ops::{
    self_attention, Add, BatchNorm2d, Conv2d, ConvTranspose2d, Embedding, Modulate, Narrow, Project,
};
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

/// G's input [nz + classes, 1, 1] (z with the one-hot class appended, as the recipes give it)
/// as (z, one-hot): the one-hot is None for an unconditional model.
fn split_latent(b: &mut Builder, nz: u32, classes: u32) -> Result<(TensorId, Option<TensorId>)> {
    let input = b.input(Shape3::new(nz + classes, 1, 1));
    if classes == 0 {
        return Ok((input, None));
    }
    let z = narrow(b, "noise", input, 0, nz)?;
    Ok((z, Some(narrow(b, "one_hot", input, nz, classes)?)))
}

fn narrow(b: &mut Builder, name: &str, x: TensorId, start: u32, channels: u32) -> Result<TensorId> {
    b.add(name, Layer::Narrow(Narrow { start, channels }), &[x])
}

/// Batch norm after `{name}.0`: `nn.BatchNorm2d` as `{name}.1`, or, given the one-hot class,
/// a conditional batch norm (SAGAN's paper form): `{name}.1.bn` without γ and β, then the
/// class's own [γ; β] from `{name}.1.embed` ([classes, 2C], rows starting at γ 1, β 0).
fn norm(b: &mut Builder, name: &str, x: TensorId, class: Option<TensorId>) -> Result<TensorId> {
    let bn = format!("{name}.1");
    let Some(class) = class else {
        return b.add(&bn, Layer::BatchNorm(BatchNorm2d::AFFINE), &[x]);
    };
    let embed = Embedding {
        dim: 2 * b.shape(x).c,
        spectral_norm: false,
        norm_init: true,
    };
    let scale = b.add(&format!("{bn}.embed"), Layer::Embedding(embed), &[class])?;
    let normal = b.add(
        &format!("{bn}.bn"),
        Layer::BatchNorm(BatchNorm2d::PLAIN),
        &[x],
    )?;
    b.add(&bn, Layer::Modulate(Modulate), &[normal, scale])
}

/// G: [nz + classes, 1, 1] → image [channels, size, size] in [−1, 1], size 32 or 64. A
/// conditional G (classes > 0) conditions every batch norm on the class (see [`norm`]).
pub fn generator(
    nz: u32,
    classes: u32,
    channels: u32,
    size: u32,
    ngf: u32,
    ndf: u32,
) -> Result<Graph> {
    check_widths(ngf, ndf)?;
    // Widths from the projection down: 64 pixels 8·ngf … ngf, 32 pixels 4·ngf … ngf.
    let levels = if size == 64 { 4 } else { 3 };
    let mut b = Builder::new();
    let (mut x, class) = split_latent(&mut b, nz, classes)?;
    for level in 1..=levels {
        let width = ngf << (levels - level);
        let conv = if level == 1 {
            up(width, 1, 0, true) // state size. width x 4 x 4
        } else {
            up(width, 2, 1, true)
        };
        let name = format!("l{level}");
        x = b.add(&format!("{name}.0"), conv, &[x])?;
        x = norm(&mut b, &name, x, class)?;
        x = b.add(
            &format!("{name}.2"),
            Layer::Activation(Activation::Relu),
            &[x],
        )?;
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

/// D: image [channels + classes, size, size] (the one-hot class planes appended, as the
/// recipes give them) → one score. A conditional D (classes > 0) is a projection
/// discriminator: its features h before `last` give the logit last(h) + ⟨embed(y), Σ h⟩,
/// `embed` a spectrally normalised `nn.Embedding(classes, C)`.
pub fn discriminator(channels: u32, classes: u32, size: u32, ngf: u32, ndf: u32) -> Result<Graph> {
    check_widths(ngf, ndf)?;
    let levels = if size == 64 { 4 } else { 3 };
    let lrelu = Layer::Activation(Activation::LeakyRelu(0.1));
    let mut b = Builder::new();
    let input = b.input(Shape3::new(channels + classes, size, size));
    let (mut x, planes) = match classes {
        0 => (input, None),
        _ => (
            narrow(&mut b, "image", input, 0, channels)?,
            Some(narrow(&mut b, "one_hot", input, channels, classes)?),
        ),
    };
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
    let logit = block(&mut b, "last", vec![down(1, 1, 0, false)], x)?;
    let Some(planes) = planes else {
        return b.finish(&[logit]);
    };
    let embed = Embedding {
        dim: b.shape(x).c,
        spectral_norm: true,
        norm_init: false,
    };
    let e = b.add("embed", Layer::Embedding(embed), &[planes])?;
    let projection = b.add("projection", Layer::Project(Project), &[x, e])?;
    let out = b.add("logit", Layer::Add(Add), &[logit, projection])?;
    b.finish(&[out])
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
        let g = generator(128, 0, 3, 64, 64, 64).unwrap();
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
            let d = discriminator(3, 0, size, 64, 64).unwrap();
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
        let g = generator(128, 10, 1, 32, 16, 16).unwrap();
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
    fn a_conditional_sagan_has_conditional_norms_and_a_projection() {
        let g = generator(16, 10, 1, 32, 16, 16).unwrap();
        let t = tensors(&g);
        let has = |t: &[(String, Vec<usize>)], name: &str, shape: &[usize]| {
            assert!(
                t.iter().any(|(n, s)| n == name && s == shape),
                "no {name} {shape:?} in {t:?}"
            )
        };
        // l1's conv reads z alone; the class goes to every batch norm.
        has(&t, "l1.0.weight_orig", &[16, 64, 4, 4]);
        has(&t, "l1.1.embed.weight", &[10, 128]);
        has(&t, "l3.1.embed.weight", &[10, 32]);
        assert!(t.iter().all(|(n, _)| !n.starts_with("l1.1.weight")));
        let d = discriminator(1, 10, 32, 16, 16).unwrap();
        assert_eq!(d.output(), Shape3::new(1, 1, 1));
        let t = tensors(&d);
        has(&t, "l1.0.weight_orig", &[16, 1, 4, 4]);
        has(&t, "embed.weight_orig", &[10, 64]);
        has(&t, "embed.weight_u", &[10]);
        has(&t, "embed.weight_v", &[64]);
    }

    #[test]
    fn too_narrow_a_sagan_is_refused_in_a_sentence() {
        let e = generator(128, 0, 3, 64, 4, 64).unwrap_err();
        assert!(e.to_string().contains("at least 8"), "{e}");
        let e = discriminator(3, 0, 32, 64, 7).unwrap_err();
        assert!(e.to_string().contains("not ngf 64 and ndf 7"), "{e}");
    }
}

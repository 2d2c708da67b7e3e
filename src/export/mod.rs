//! Taking a trained generator out of webgan: as an ONNX model ([`onnx`]) for other runtimes.
//! [`generator`] finds in a checkpoint of any family the network that `webgan sample` or
//! `webgan translate` would run, with its weights on the CPU.

pub mod onnx;

use crate::checkpoint::Checkpoint;
use crate::graph::{Graph, NodeWeights};
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::recipes::pix2pix::Pix2Pix;
use crate::train::{read_weights, Trainer};
use crate::{Error, Result};
use onnx::GeneratorInput;

/// Which of CycleGAN's two generators: G_A (A into B) or G_B (B into A).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    AtoB,
    BtoA,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Direction> {
        match text {
            "AtoB" => Ok(Direction::AtoB),
            "BtoA" => Ok(Direction::BtoA),
            other => Err(Error::Invalid(format!(
                "unknown direction '{other}': choose AtoB or BtoA"
            ))),
        }
    }
}

/// A checkpoint's generator: its graph, the name its tensors are saved under, what it is fed,
/// and its weights.
pub struct Generator {
    pub family: String,
    pub network: &'static str,
    pub graph: Graph,
    pub input: GeneratorInput,
    pub weights: Vec<NodeWeights>,
    pub step: Option<String>,
}

/// The generator of the checkpoint in `bytes` that `webgan sample` (DCGAN: the moving average
/// when the run kept one) or `webgan translate --direction` (CycleGAN; pix2pix has one)
/// runs. `direction` None: A into B.
pub fn generator(bytes: &[u8], direction: Option<Direction>) -> Result<Generator> {
    let family = crate::train::checkpoint_family(bytes)?;
    let only_cyclegan = |family: &str| {
        Error::Invalid(format!(
            "--direction BtoA needs a CycleGAN checkpoint; this {family} checkpoint has one generator"
        ))
    };
    let (ck, graph, network, input): (Checkpoint, Graph, &'static str, GeneratorInput) =
        match family.as_str() {
            "cyclegan" => {
                let (ck, run) = Trainer::<CycleGan>::config_of(bytes)?;
                let nets = run.nets()?;
                match direction.unwrap_or_default() {
                    Direction::AtoB => (ck, nets.g_a, "netG_A", GeneratorInput::Image),
                    Direction::BtoA => (ck, nets.g_b, "netG_B", GeneratorInput::Image),
                }
            }
            "pix2pix" => {
                if direction == Some(Direction::BtoA) {
                    return Err(only_cyclegan(&family));
                }
                let (ck, run) = Trainer::<Pix2Pix>::config_of(bytes)?;
                (ck, run.nets()?.0, "netG", GeneratorInput::Image)
            }
            "dcgan" => {
                if direction == Some(Direction::BtoA) {
                    return Err(only_cyclegan(&family));
                }
                let (ck, config) = Trainer::checkpoint_config(bytes)?;
                let (g, _) = config.model.build()?;
                let network = if config.ema.is_some() {
                    "netG_ema"
                } else {
                    "netG"
                };
                let input = GeneratorInput::Latent {
                    // InfoGAN's codes travel in z, after the noise.
                    nz: config.model.latent_len(),
                    classes: config.model.classes,
                };
                (ck, g, network, input)
            }
            other => {
                return Err(Error::Invalid(format!(
                    "this checkpoint holds a {other} run, whose generator webgan cannot export"
                )))
            }
        };
    let prefix = format!("{network}.");
    if !ck.tensors.keys().any(|name| name.starts_with(&prefix)) {
        return Err(Error::Invalid(format!(
            "this {family} checkpoint holds no generator: none of its tensors is under `{network}`"
        )));
    }
    let weights = read_weights(&ck, &graph, network)?;
    Ok(Generator {
        family,
        network,
        graph,
        input,
        weights,
        step: ck.metadata.get("step").cloned(),
    })
}

/// The `.onnx` file of the checkpoint's generator (see [`generator`]).
pub fn onnx_of_checkpoint(bytes: &[u8], direction: Option<Direction>) -> Result<Vec<u8>> {
    let g = generator(bytes, direction)?;
    let mut metadata = vec![
        ("family".to_string(), g.family.clone()),
        ("network".to_string(), g.network.to_string()),
    ];
    if let Some(step) = g.step {
        metadata.push(("step".into(), step));
    }
    let model = onnx::model(&g.graph, &g.weights, g.input, &metadata)?;
    Ok(onnx::encode(&model))
}

//! Saving and resuming a trainer as one safetensors file. Tensor names follow PyTorch's
//! `state_dict()` under `netG.` and `netD.` (so `{k[5:]: v for k in file if k.startswith("netG.")}`
//! loads into the same PyTorch model; for dcgan64 that is examples/dcgan's netG and netD), batch
//! norm split into weight, bias, running_mean, running_var and num_batches_tracked. Optimizer
//! state sits under `optim.`, the RNG and optimizer counters under `state.`, and the whole
//! configuration as JSON in the metadata, so a resumed run continues exactly where it stopped.

use std::sync::Arc;

use crate::checkpoint::{Checkpoint, IntTensor, Tensor};
use crate::gpu::Gpu;
use crate::graph::program::Net;
use crate::graph::{Graph, Init, NodeWeights};
use crate::train::recipes::dcgan::Dcgan;
use crate::train::{Family, GpuDataset, Optimizer, TrainConfig, Trainer};
use crate::{Error, Result};

const FORMAT: &str = "webgan-1";

/// (name suffix, range of the packed tensor) of batch norm's [γ; β] and [mean; var].
fn halves(
    c: usize,
    first: &'static str,
    second: &'static str,
) -> [(&'static str, std::ops::Range<usize>); 2] {
    [(first, 0..c), (second, c..2 * c)]
}

/// The optimizer state's names, as torch.optim calls them; none for a network no optimizer
/// steps.
fn state_names(o: Option<&Optimizer>) -> [Option<&'static str>; 2] {
    match o {
        Some(Optimizer::Adam(_)) => [Some("exp_avg"), Some("exp_avg_sq")],
        Some(Optimizer::Sgd(_)) => [Some("momentum_buffer"), None],
        None => [None, None],
    }
}

async fn save_net(
    gpu: &Gpu,
    ck: &mut Checkpoint,
    net: &Net,
    prefix: &str,
    optimizer: Option<&Optimizer>,
) -> Result<()> {
    for (i, layer) in net.params.iter().enumerate() {
        for p in layer {
            let value = gpu.read_f32(&p.value).await?[..p.len()].to_vec();
            if p.spec.init == Init::BatchNorm {
                let c = p.len() / 2;
                for (suffix, range) in halves(c, "weight", "bias") {
                    ck.tensors.insert(
                        format!("{prefix}.{}.{suffix}", p.spec.name),
                        Tensor::new(vec![c], value[range].to_vec())?,
                    );
                }
            } else {
                ck.tensors.insert(
                    format!("{prefix}.{}", p.spec.name),
                    Tensor::new(p.spec.shape.clone(), value)?,
                );
            }
            // Spectral norm's u and v have no optimizer state: no optimizer steps them.
            let optimizer = optimizer.filter(|_| p.spec.trained());
            for (k, name) in state_names(optimizer).iter().enumerate() {
                if let Some(name) = name {
                    let state = gpu.read_f32(&p.state[k]).await?[..p.len()].to_vec();
                    ck.tensors.insert(
                        format!("optim.{prefix}.{}.{name}", p.spec.name),
                        Tensor::new(vec![p.len()], state)?,
                    );
                }
            }
        }
        if let Some(running) = &net.running[i] {
            let values = gpu.read_f32(running).await?;
            // [mean; var; updates]: the count is PyTorch's num_batches_tracked (an f32 on the GPU,
            // so it stops at SETTLED, long after it has stopped mattering).
            let c = (values.len() - 1) / 2;
            let name = format!("{prefix}.{}", net.graph.nodes[i].name);
            for (suffix, range) in halves(c, "running_mean", "running_var") {
                ck.tensors.insert(
                    format!("{name}.{suffix}"),
                    Tensor::new(vec![c], values[range].to_vec())?,
                );
            }
            ck.integers.insert(
                format!("{name}.num_batches_tracked"),
                IntTensor::new(vec![], vec![values[2 * c] as i64])?,
            );
        }
    }
    Ok(())
}

/// Batch-norm updates past which the running statistics' next weight is fixed at momentum,
/// and the largest count an f32 holds exactly.
const SETTLED: i64 = 1 << 24;

/// The float tensor `name` of `shape`, refused when it holds NaN or infinities: a diverged
/// state samples to noise and trains to nothing.
fn finite<'a>(ck: &'a Checkpoint, name: &str, shape: &[usize]) -> Result<&'a [f32]> {
    let values = ck.get(name, shape)?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Checkpoint(format!(
            "tensor `{name}` holds NaN or infinite values: the run had diverged when this was saved, so use an earlier checkpoint"
        )));
    }
    Ok(values)
}

fn load_net(
    gpu: &Gpu,
    ck: &Checkpoint,
    net: &Net,
    prefix: &str,
    optimizer: Option<&Optimizer>,
) -> Result<()> {
    // The weights as export reads them: one place that knows the checkpoint's names.
    let weights = read_weights(ck, &net.graph, prefix)?;
    for (i, (layer, values)) in net.params.iter().zip(&weights).enumerate() {
        for (p, value) in layer.iter().zip(&values.params) {
            gpu.queue
                .write_buffer(&p.value, 0, bytemuck::cast_slice(value));
            let optimizer = optimizer.filter(|_| p.spec.trained());
            for (k, name) in state_names(optimizer).iter().enumerate() {
                if let Some(name) = name {
                    let state = finite(
                        ck,
                        &format!("optim.{prefix}.{}.{name}", p.spec.name),
                        &[p.len()],
                    )?;
                    gpu.queue
                        .write_buffer(&p.state[k], 0, bytemuck::cast_slice(state));
                }
            }
        }
        if let (Some(running), Some(statistics)) = (&net.running[i], &values.running) {
            let name = format!("{prefix}.{}", net.graph.nodes[i].name);
            // Updates so far; only their first few matter (they weigh the next batch). A
            // checkpoint without the count is taken as settled, its statistics kept.
            let tracked = format!("{name}.num_batches_tracked");
            let updates = if ck.integers.contains_key(&tracked) || ck.tensors.contains_key(&tracked)
            {
                ck.get_int(&tracked, &[])?
                    .first()
                    .copied()
                    .unwrap_or(SETTLED)
            } else {
                SETTLED
            };
            let mut v = statistics.clone();
            v.push(updates.clamp(0, SETTLED) as f32);
            gpu.queue.write_buffer(running, 0, bytemuck::cast_slice(&v));
        }
    }
    Ok(())
}

/// `net`'s weights and running statistics (not its optimizer's state) into `ck` under `name`,
/// as a run's checkpoint holds them: the counterpart of [`load_weights`].
pub async fn save_weights(gpu: &Gpu, ck: &mut Checkpoint, net: &Net, name: &str) -> Result<()> {
    save_net(gpu, ck, net, name, None).await
}

/// The network saved under `name` (its weights and running statistics, not its optimizer's
/// state) into `net`, which must have its architecture: for using one network of a run alone.
pub fn load_weights(gpu: &Gpu, ck: &Checkpoint, net: &Net, name: &str) -> Result<()> {
    load_net(gpu, ck, net, name, None)
}

/// The network saved under `name` as `graph`'s nodes' values on the CPU (for export): each
/// node's parameters, batch norm's weight and bias packed as [γ; β], and its running
/// [mean; var]. Checked as [`load_weights`] checks them: present, shaped, finite.
pub fn read_weights(ck: &Checkpoint, graph: &Graph, name: &str) -> Result<Vec<NodeWeights>> {
    // A conditional SAGAN saved before its paper form: batch norm with its own γ and β where
    // the class now chooses them. Said so, rather than as a tensor of the wrong shape.
    let conditional_norm = graph.nodes.iter().any(|n| n.name == "l1.1.embed");
    if conditional_norm && ck.tensors.contains_key(&format!("{name}.l1.1.weight")) {
        return Err(Error::Checkpoint(format!(
            "`{name}` is a conditional SAGAN from an earlier webgan, which appended the classes to z and to D's input; SAGAN's conditional form (class-conditional batch norm, a projection discriminator) cannot load it: train it again"
        )));
    }
    (0..graph.nodes.len())
        .map(|i| {
            let params = graph
                .params_of(i)
                .iter()
                .map(|spec| {
                    let full = format!("{name}.{}", spec.name);
                    if spec.init != Init::BatchNorm {
                        return Ok(finite(ck, &full, &spec.shape)?.to_vec());
                    }
                    let c = spec.shape.iter().product::<usize>() / 2;
                    let mut v = finite(ck, &format!("{full}.weight"), &[c])?.to_vec();
                    v.extend_from_slice(finite(ck, &format!("{full}.bias"), &[c])?);
                    Ok(v)
                })
                .collect::<Result<Vec<_>>>()?;
            let node = &graph.nodes[i];
            let running = match node.layer.op().running(&graph.input_shapes(i)) {
                Some(initial) => {
                    let c = (initial.len() - 1) / 2;
                    let path = format!("{name}.{}", node.name);
                    let mut v = finite(ck, &format!("{path}.running_mean"), &[c])?.to_vec();
                    v.extend_from_slice(finite(ck, &format!("{path}.running_var"), &[c])?);
                    Some(v)
                }
                None => None,
            };
            Ok(NodeWeights { params, running })
        })
        .collect()
}

/// The family a checkpoint holds: its `family` metadata, `dcgan` for checkpoints from before
/// there were others. Refuses a file that is not a webgan checkpoint.
pub fn family_of(ck: &Checkpoint) -> Result<&str> {
    match ck.metadata.get("format").map(String::as_str) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(Error::Checkpoint(format!(
                "this checkpoint is in format `{other}`, not {FORMAT}"
            )))
        }
        None => {
            return Err(Error::Checkpoint(
                "this safetensors file is not a webgan checkpoint (no `format` in its metadata)"
                    .into(),
            ))
        }
    }
    Ok(ck.metadata.get("family").map_or("dcgan", String::as_str))
}

/// The family of the checkpoint in `bytes` ("dcgan", "cyclegan"), for choosing how to load it.
pub fn checkpoint_family(bytes: &[u8]) -> Result<String> {
    family_of(&Checkpoint::from_bytes(bytes)?).map(str::to_string)
}

impl<R: Family> Trainer<R> {
    /// The whole state of training as a safetensors file.
    pub async fn save(&self) -> Result<Vec<u8>> {
        let mut ck = Checkpoint::new();
        for t in self.recipe.nets() {
            save_net(&self.gpu, &mut ck, t.net, t.name, t.optimizer).await?;
        }
        for state in self.recipe.state() {
            let values = self.gpu.read_f32(state.buffer).await?[..state.len].to_vec();
            ck.tensors.insert(
                format!("state.{}", state.name),
                Tensor::new(vec![state.len], values)?,
            );
        }
        let slots = self.recipe.counters();
        let counters: Vec<i64> = self.gpu.read_u32(&slots.buffer).await?[..slots.len()]
            .iter()
            .map(|&v| v as i64)
            .collect();
        ck.integers.insert(
            "state.counters".into(),
            IntTensor::new(vec![slots.len()], counters)?,
        );
        ck.integers.insert(
            "state.step".into(),
            IntTensor::new(vec![], vec![self.step as i64])?,
        );
        ck.metadata.insert("format".into(), FORMAT.into());
        // DCGAN's checkpoints name no family, as they did before there were others, so that
        // they stay byte-identical and every earlier reader still reads them.
        if R::NAME != Dcgan::NAME {
            ck.metadata.insert("family".into(), R::NAME.into());
        }
        ck.metadata
            .insert("config".into(), R::config_to_json(&self.config));
        ck.metadata.insert("step".into(), self.step.to_string());
        // An update can leave NaN weights behind losses that were still finite: such a state is
        // no checkpoint to go back to.
        if let Some((name, _)) = ck
            .tensors
            .iter()
            .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Invalid(format!(
                "training has diverged by step {}: {name} holds NaN or infinite values, so no checkpoint was written",
                self.step
            )));
        }
        ck.to_bytes()
    }

    /// The configuration a checkpoint of this family was saved with, checked before any of its
    /// sizes is allocated.
    pub fn config_of(bytes: &[u8]) -> Result<(Checkpoint, R::Config)> {
        let ck = Checkpoint::from_bytes(bytes)?;
        let family = family_of(&ck)?;
        if family != R::NAME {
            return Err(Error::Checkpoint(format!(
                "this checkpoint holds a {family} run, not {}",
                R::NAME
            )));
        }
        let config = R::config_from_json(
            ck.metadata
                .get("config")
                .ok_or_else(|| Error::Checkpoint("the checkpoint has no configuration".into()))?,
        )?;
        R::check(&config)?;
        Ok((ck, config))
    }

    /// A run that continues exactly where `bytes` (from [`Trainer::save`]) stopped, with its
    /// configuration changed only where [`Family::check_resume`] allows.
    pub fn continue_with(
        gpu: Arc<Gpu>,
        bytes: &[u8],
        data: R::Data,
        config: R::Config,
    ) -> Result<Self> {
        let (ck, saved) = Self::config_of(bytes)?;
        R::check_resume(&saved, &config)?;
        let mut trainer = Trainer::start(gpu, config, data)?;
        trainer.load_state(&ck)?;
        Ok(trainer)
    }

    /// Every network's weights (and optimizer state), the counters and the step from `ck`.
    fn load_state(&mut self, ck: &Checkpoint) -> Result<()> {
        for t in self.recipe.nets() {
            load_net(&self.gpu, ck, t.net, t.name, t.optimizer)?;
        }
        for state in self.recipe.state() {
            let values = finite(ck, &format!("state.{}", state.name), &[state.len])?;
            self.gpu
                .queue
                .write_buffer(state.buffer, 0, bytemuck::cast_slice(values));
        }
        let slots = self.recipe.counters();
        let counters: Vec<u32> = ck
            .get_int("state.counters", &[slots.len()])?
            .iter()
            .map(|&v| v as u32)
            .collect();
        self.gpu
            .queue
            .write_buffer(&slots.buffer, 0, bytemuck::cast_slice(&counters));
        self.step = ck.get_int("state.step", &[])?[0].max(0) as u64;
        Ok(())
    }
}

impl Trainer<Dcgan> {
    /// The configuration a DCGAN checkpoint was saved with.
    pub fn checkpoint_config(bytes: &[u8]) -> Result<(Checkpoint, TrainConfig)> {
        Self::config_of(bytes)
    }

    /// The generator alone (for sampling), with the configuration it was trained with.
    pub fn load_generator(gpu: &Gpu, bytes: &[u8]) -> Result<(Net, TrainConfig)> {
        let (ck, config) = Self::checkpoint_config(bytes)?;
        let (g_arch, _) = config.model.build()?;
        let g = Net::new(gpu, g_arch, config.seed);
        // A run that kept a moving average samples from it. Sampling needs no optimizer state,
        // so a generator-only file (crate::share) loads as well as a whole checkpoint.
        let name = if config.ema.is_some() {
            "netG_ema"
        } else {
            "netG"
        };
        load_net(gpu, &ck, &g, name, None)?;
        Ok((g, config))
    }

    /// A trainer that continues exactly where `bytes` (from [`Trainer::save`]) stopped.
    pub fn resume(gpu: Arc<Gpu>, bytes: &[u8], dataset: GpuDataset) -> Result<Trainer> {
        let (_, config) = Self::checkpoint_config(bytes)?;
        Self::continue_with(gpu, bytes, dataset, config)
    }

    /// [`Trainer::resume`] with the checkpoint's configuration changed where changing it keeps
    /// every tensor's shape: learning rates and label smoothing, to steer a run that diverged.
    pub fn resume_with(
        gpu: Arc<Gpu>,
        bytes: &[u8],
        dataset: GpuDataset,
        config: TrainConfig,
    ) -> Result<Trainer> {
        Self::continue_with(gpu, bytes, dataset, config)
    }
}

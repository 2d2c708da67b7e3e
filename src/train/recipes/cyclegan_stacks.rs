//! CycleGAN's generator passes. G's step uses each generator three times (its fake, its
//! identity and the other's cycle), six passes at batch 1 in the reference. Where a network's
//! samples are independent ([`Graph::samples_independent`]: instance norm, no dropout, as the
//! family's defaults have it), consecutive uses of one generator run stacked along the batch
//! in one pass: G_A on real A and real B, then G_B on real B, real A and fake B, then G_A on
//! fake A. Three passes instead of six: half the dispatches, each Winograd weight transform
//! made half as often, and GEMMs twice or three times as long, which a GPU runs at a better
//! rate than short ones. The values are those of the separate passes; only the order of a
//! weight gradient's sums differs.
//!
//! A stacked pass holds its uses' inputs and outputs one after the other; small copies move
//! them in and out of the buffers the losses, the discriminators and the pools read.
//!
//! [`Graph::samples_independent`]: crate::graph::Graph::samples_independent

use crate::gpu::Gpu;
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::graph::Graph;
use crate::kernels::tensor::copy_range;
use crate::kernels::Dispatch;
use crate::train::fits::largest;
use crate::Result;

/// One use of a generator in G's step: which network (an index into the nets given to
/// [`build`]), what it reads, where its output and the output's gradient live, and where the
/// gradient of its input goes, added to what is there (a cycle reads the other generator's
/// fake, whose gradient it adds to the discriminator's).
pub(super) struct Use {
    pub net: usize,
    pub input: wgpu::Buffer,
    pub output: wgpu::Buffer,
    pub doutput: wgpu::Buffer,
    pub dinput: Option<wgpu::Buffer>,
}

/// A pass of one generator over one or more of its uses, with the copies around it (none for
/// a single use, which the pass reads and writes in place).
pub(super) struct Stack {
    pub pass: Pass,
    /// The batch of the pass: the uses' batch times how many it stacks.
    pub batch: u32,
    /// The uses' inputs copied in, and its output copied out to theirs.
    gather: Vec<Dispatch>,
    scatter: Vec<Dispatch>,
    /// The uses' output gradients copied in, and its input gradient added out to theirs.
    grads_in: Vec<Dispatch>,
    grads_out: Vec<Dispatch>,
}

impl Stack {
    pub fn forward(&self) -> impl Iterator<Item = &Dispatch> {
        self.gather
            .iter()
            .chain(self.pass.dispatches(true))
            .chain(&self.scatter)
    }

    pub fn backward(&self) -> impl Iterator<Item = &Dispatch> {
        self.grads_in
            .iter()
            .chain(self.pass.dispatches(false))
            .chain(&self.grads_out)
    }
}

/// Runs of consecutive uses (in forward order) that share a pass: those of one network where
/// `stackable(net, count)` holds for the run, else one use to a pass.
pub(super) fn groups(nets: &[usize], stackable: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (i, &net) in nets.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if nets[run[0]] == net => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs.into_iter()
        .flat_map(|run| {
            if run.len() > 1 && stackable(nets[run[0]], run.len()) {
                vec![run]
            } else {
                run.into_iter().map(|i| vec![i]).collect()
            }
        })
        .collect()
}

/// Whether `count` uses of `g` at `batch` each fit one stacked pass: samples independent,
/// and every tensor within a binding of `binding_floats` at the stacked batch, as the run's
/// own check (`largest`) holds them at its batch (else each use runs alone, as it fitted
/// before).
pub(super) fn stackable(g: &Graph, batch: u32, count: usize, binding_floats: usize) -> bool {
    let stacked = u32::try_from(count)
        .ok()
        .and_then(|count| batch.checked_mul(count));
    stacked.is_some_and(|b| {
        g.samples_independent()
            && largest(g, b as u64).0 <= 4 * binding_floats as u64
            && g.check_batch(b, binding_floats).is_ok()
    })
}

/// The passes of `uses` (in forward order) at `batch` each, stacked where they can be (see
/// [`groups`]). Backward runs them in reverse, so a network's first pass there overwrites
/// its gradients and the later ones add to them.
pub(super) fn build(gpu: &Gpu, nets: &[&Net], uses: &[Use], batch: u32) -> Result<Vec<Stack>> {
    let net_of: Vec<usize> = uses.iter().map(|u| u.net).collect();
    let runs = groups(&net_of, |net, count| {
        stackable(&nets[net].graph, batch, count, gpu.binding_floats())
    });
    let mut overwritten = vec![false; nets.len()];
    let mut stacks = Vec::with_capacity(runs.len());
    for run in runs.iter().rev() {
        let net = nets[uses[run[0]].net];
        let param_grads = if std::mem::replace(&mut overwritten[uses[run[0]].net], true) {
            ParamGrads::Accumulate
        } else {
            ParamGrads::Overwrite
        };
        let members: Vec<&Use> = run.iter().map(|&i| &uses[i]).collect();
        stacks.push(stack(gpu, net, &members, batch, param_grads)?);
    }
    stacks.reverse();
    Ok(stacks)
}

fn stack(
    gpu: &Gpu,
    net: &Net,
    uses: &[&Use],
    batch: u32,
    param_grads: ParamGrads,
) -> Result<Stack> {
    let input_grad = uses.iter().any(|u| u.dinput.is_some());
    let options = PassOptions {
        batch: batch * uses.len() as u32,
        train: true,
        update_running: true,
        param_grads,
        input_grad,
        backward: true,
    };
    if let [u] = uses {
        let buffers = PassBuffers {
            input: Some(u.input.clone()),
            output: Some(u.output.clone()),
            doutput: Some(u.doutput.clone()),
            dinput: u.dinput.clone(),
            add_to_dinput: input_grad,
            rng: None,
        };
        return Ok(Stack {
            pass: Pass::new(gpu, net, options, buffers)?,
            batch: options.batch,
            gather: vec![],
            scatter: vec![],
            grads_in: vec![],
            grads_out: vec![],
        });
    }
    let pass = Pass::new(gpu, net, options, PassBuffers::default())?;
    let b = batch as usize;
    let (x_len, y_len) = (b * net.graph.input().len(), b * net.graph.output().len());
    let mut s = Stack {
        batch: options.batch,
        gather: vec![],
        scatter: vec![],
        grads_in: vec![],
        grads_out: vec![],
        pass,
    };
    for (i, u) in uses.iter().enumerate() {
        let p = &s.pass;
        s.gather.push(copy_range(
            gpu,
            &u.input,
            0,
            &p.input,
            i * x_len,
            x_len,
            false,
        )?);
        s.scatter.push(copy_range(
            gpu,
            &p.output,
            i * y_len,
            &u.output,
            0,
            y_len,
            false,
        )?);
        s.grads_in.push(copy_range(
            gpu,
            &u.doutput,
            0,
            &p.doutput,
            i * y_len,
            y_len,
            false,
        )?);
        if let (Some(to), Some(from)) = (&u.dinput, &p.dinput) {
            s.grads_out
                .push(copy_range(gpu, from, i * x_len, to, 0, x_len, true)?);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::{groups, stackable};
    use crate::model::Norm;
    use crate::train::recipes::cyclegan_run::CycleGanRun;

    /// WebGPU's default binding, 128 MiB, in floats.
    const BINDING: usize = (128 << 20) / 4;

    #[test]
    fn the_family_defaults_stack_until_a_tensor_passes_a_binding() {
        let nets = CycleGanRun::new(256, 3, 3).nets().expect("nets");
        assert!(stackable(&nets.g_a, 1, 3, BINDING), "batch 1, three uses");
        assert!(stackable(&nets.d_a, 1, 2, BINDING));
        // At batch 3 the generator's 64 planes of 262² (the last conv's padded input) take
        // 4.4 M floats an image: 6 images fit a binding, 9 do not, so those uses run alone.
        assert!(stackable(&nets.g_a, 3, 2, BINDING));
        assert!(!stackable(&nets.g_a, 3, 3, BINDING));
        assert!(!stackable(&nets.g_a, u32::MAX, 2, BINDING), "overflow");
        for run in [
            CycleGanRun {
                norm: Norm::Batch,
                ..CycleGanRun::new(64, 3, 3)
            },
            CycleGanRun {
                use_dropout: true,
                ..CycleGanRun::new(64, 3, 3)
            },
        ] {
            let nets = run.nets().expect("nets");
            assert!(!stackable(&nets.g_a, 1, 2, BINDING), "{:?}", run.norm);
        }
        let batch_norm = CycleGanRun {
            norm: Norm::Batch,
            ..CycleGanRun::new(64, 3, 3)
        };
        assert!(!stackable(
            &batch_norm.nets().expect("nets").d_a,
            1,
            2,
            BINDING
        ));
    }

    #[test]
    fn consecutive_uses_of_a_stackable_network_share_a_pass() {
        // G_A: fake, identity; G_B: fake, identity, cycle; G_A: cycle.
        let uses = [0, 0, 1, 1, 1, 0];
        assert_eq!(
            groups(&uses, |_, _| true),
            vec![vec![0, 1], vec![2, 3, 4], vec![5]]
        );
        // Without identity: G_A: fake; G_B: fake, cycle; G_A: cycle.
        assert_eq!(
            groups(&[0, 1, 1, 0], |_, _| true),
            vec![vec![0], vec![1, 2], vec![3]]
        );
        // A network that cannot stack (batch norm, dropout), or too big stacked, runs each
        // use alone.
        assert_eq!(
            groups(&uses, |net, _| net == 0),
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
        );
        assert_eq!(
            groups(&uses, |_, count| count < 3),
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
        );
    }
}

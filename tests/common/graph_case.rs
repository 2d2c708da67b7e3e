//! A whole graph on the GPU against its CPU twin (`reference::graph::CpuNet`), forward and
//! backward in train mode, and the twin's gradients against central differences: shared by
//! the graph tests and the preset tests.

use super::*;
use webgan::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions, PassRng};
use webgan::graph::{Graph, Shape3};
use webgan::reference::graph::CpuNet;

/// The draw of the random ops: the counter's word 0 holds the step.
pub const SEED: u64 = 9;
pub const STEP: u32 = 3;

pub fn step_rng() -> PassRng {
    PassRng {
        seed: SEED,
        counters: gpu().storage_from("counters", &[STEP, 0, 0, 0]),
        index: 0,
    }
}

/// One compute pass, submitted.
pub fn record(run: impl FnOnce(&mut wgpu::ComputePass<'_>)) {
    let gpu = gpu();
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        run(&mut pass);
    }
    gpu.queue.submit([encoder.finish()]);
}

pub fn write(buffer: &wgpu::Buffer, values: &[f64]) {
    gpu()
        .queue
        .write_buffer(buffer, 0, bytemuck::cast_slice(&to_f32(values)));
}

/// A train pass (running statistics moved, dropout drawn at [`STEP`]) on random inputs, then
/// its backward from random output gradients: every output, input gradient, parameter
/// gradient and running statistic against the reference. Returns the net and its twin as
/// the pass left them.
pub fn gpu_matches_reference(graph: &Graph, batch: u32) -> (Net, CpuNet) {
    net_matches_reference(Net::new(gpu(), graph.clone(), 7), batch)
}

/// `graph`'s net with every trained parameter drawn in [−1, 1) (spectral norm's u and v left
/// unit vectors): a parameter that starts at zero or one (SAGAN's γ, a conditional batch
/// norm's rows) would leave part of the backward untested.
pub fn with_random_params(graph: Graph) -> Net {
    let net = Net::new(gpu(), graph, 7);
    let mut rng = Rng::new(21);
    for p in net.params.iter().flatten().filter(|p| p.spec.trained()) {
        let len: usize = p.spec.shape.iter().product();
        let values = to_f32(&rng.vec(len));
        gpu()
            .queue
            .write_buffer(&p.value, 0, bytemuck::cast_slice(&values));
    }
    net
}

/// [`gpu_matches_reference`] for a net whose parameters the caller has set (a parameter that
/// starts at zero, as SAGAN's γ does, would leave part of the backward untested).
pub fn net_matches_reference(net: Net, batch: u32) -> (Net, CpuNet) {
    let graph = &net.graph.clone();
    let len = |s: Shape3| batch as usize * s.len();
    let options = PassOptions {
        batch,
        train: true,
        update_running: true,
        param_grads: ParamGrads::Overwrite,
        input_grad: true,
        backward: true,
    };
    let buffers = PassBuffers {
        rng: Some(step_rng()),
        ..Default::default()
    };
    let pass = Pass::new(gpu(), &net, options, buffers).expect("a pass");
    let mut cpu = pollster::block_on(net.to_cpu(gpu())).expect("weights");
    cpu.rng = Some((SEED, STEP));
    let mut rng = Rng::new(11);
    let inputs: Vec<Vec<f64>> = graph.inputs.iter().map(|&s| rng.vec(len(s))).collect();
    for (buffer, x) in pass.inputs.iter().zip(&inputs) {
        write(buffer, x);
    }
    let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
    let acts = cpu.forward_all(&refs, batch, true, true);
    record(|p| pass.record_forward(p));
    for (k, (&t, buffer)) in graph.outputs.iter().zip(&pass.outputs).enumerate() {
        let want = &acts.values[t.0];
        let got = download(buffer, want.len());
        assert_close(&format!("output {k}"), &got, want, 1e-4, 1e-3);
    }

    // Twice, from two output gradients: a gradient the plan writes (rather than adds to) must
    // not keep anything of the first pass's, which fresh zeroed buffers would hide.
    for round in 0..2 {
        let doutputs: Vec<Vec<f64>> = graph
            .outputs
            .iter()
            .map(|&t| rng.vec(len(graph.shape(t))))
            .collect();
        for (buffer, d) in pass.doutputs.iter().zip(&doutputs) {
            write(buffer, d);
        }
        record(|p| pass.record_backward(p));
        let drefs: Vec<&[f64]> = doutputs.iter().map(|d| d.as_slice()).collect();
        let (dinputs, dparams) = cpu.backward_all(&acts, &drefs, batch);
        for (k, (d, want)) in pass.dinputs.iter().zip(&dinputs).enumerate() {
            let d = d.as_ref().expect("input gradients were asked for");
            let got = download(d, want.len());
            assert_close(
                &format!("round {round}: d input {k}"),
                &got,
                want,
                1e-4,
                1e-3,
            );
        }
        for (node, (params, wants)) in net.params.iter().zip(&dparams).enumerate() {
            for (p, want) in params.iter().zip(wants) {
                let what = format!("round {round}: d {} (node {node})", p.spec.name);
                assert_close(&what, &download(&p.grad, want.len()), want, 1e-4, 1e-3);
            }
        }
    }
    // Batch norms moved their running statistics as the reference did.
    for (n, running) in net.running.iter().enumerate() {
        if let (Some(got), Some(want)) = (running, &cpu.running[n]) {
            let got = download(got, want.len());
            assert_close("running statistics", &got, want, 1e-5, 1e-4);
        }
    }
    drop(pass);
    (net, cpu)
}

/// The twin's backward, fan-in included, against central differences of its forward, with
/// parameters drawn in [−0.5, 0.5). `at_most` elements of each input and parameter tensor
/// are probed, spread over it (all of them for `usize::MAX`).
pub fn reference_matches_central_differences(graph: &Graph, batch: u32, at_most: usize) {
    let len = |s: Shape3| batch as usize * s.len();
    let mut rng = Rng::new(5);
    let params: Vec<Vec<Vec<f64>>> = (0..graph.nodes.len())
        .map(|n| {
            graph
                .params_of(n)
                .iter()
                .map(|p| {
                    let len: usize = p.shape.iter().product();
                    rng.vec(len).iter().map(|v| 0.5 * v).collect()
                })
                .collect()
        })
        .collect();
    let running = (0..graph.nodes.len())
        .map(|n| {
            graph.nodes[n]
                .layer
                .op()
                .running(&graph.input_shapes(n))
                .map(|r| r.iter().map(|&v| v as f64).collect())
        })
        .collect();
    let cpu = CpuNet {
        arch: graph.clone(),
        params,
        running,
        rng: Some((SEED, STEP)),
    };
    let inputs: Vec<Vec<f64>> = graph.inputs.iter().map(|&s| rng.vec(len(s))).collect();
    let weights: Vec<Vec<f64>> = graph
        .outputs
        .iter()
        .map(|&t| rng.vec(len(graph.shape(t))))
        .collect();
    let loss = |net: &CpuNet, inputs: &[Vec<f64>]| -> f64 {
        let mut net = net.clone();
        let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
        let acts = net.forward_all(&refs, batch, true, false);
        graph
            .outputs
            .iter()
            .zip(&weights)
            .map(|(t, w)| dot(&acts.values[t.0], w))
            .sum()
    };
    let mut net = cpu.clone();
    let refs: Vec<&[f64]> = inputs.iter().map(|x| x.as_slice()).collect();
    let acts = net.forward_all(&refs, batch, true, false);
    let wrefs: Vec<&[f64]> = weights.iter().map(|w| w.as_slice()).collect();
    let (dinputs, dparams) = net.backward_all(&acts, &wrefs, batch);
    for k in 0..inputs.len() {
        let numeric = numeric_gradient_at(&inputs[k], at_most, |x| {
            let mut changed = inputs.clone();
            changed[k] = x.to_vec();
            loss(&cpu, &changed)
        });
        check_probes(&format!("d input {k}"), &dinputs[k], &numeric);
    }
    for (n, node_params) in cpu.params.iter().enumerate() {
        for (i, p) in node_params.iter().enumerate() {
            let numeric = numeric_gradient_at(p, at_most, |v| {
                let mut changed = cpu.clone();
                changed.params[n][i] = v.to_vec();
                loss(&changed, &inputs)
            });
            let what = format!("d {} param {i}", graph.nodes[n].name);
            check_probes(&what, &dparams[n][i], &numeric);
        }
    }
}

/// (index, central difference) at up to `at_most` indices of `x`, evenly spaced.
pub fn numeric_gradient_at(
    x: &[f64],
    at_most: usize,
    mut loss: impl FnMut(&[f64]) -> f64,
) -> Vec<(usize, f64)> {
    let n = x.len();
    let probes: Vec<usize> = if at_most >= n {
        (0..n).collect()
    } else {
        (0..at_most).map(|k| k * n / at_most).collect()
    };
    let mut x = x.to_vec();
    probes
        .into_iter()
        .map(|i| {
            let keep = x[i];
            let once = numeric_gradient(&[keep], |v| {
                x[i] = v[0];
                loss(&x)
            });
            x[i] = keep;
            (i, once[0])
        })
        .collect()
}

pub fn check_probes(what: &str, analytic: &[f64], numeric: &[(usize, f64)]) {
    let (got, want): (Vec<f64>, Vec<f64>) = numeric.iter().map(|&(i, d)| (analytic[i], d)).unzip();
    assert_gradient(what, &got, &want);
}

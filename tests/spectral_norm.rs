//! Spectral normalisation (torch.nn.utils.spectral_norm) of conv, transposed-conv and dense
//! weights: PyTorch's names, the f64 reference's weight gradient against central differences
//! with u and v fixed, the GPU against the reference on odd shapes in train and eval mode, the
//! power iteration's convergence to the top singular vectors, and a checkpoint round trip.

use crate::common;

use common::graph_case::{gpu_matches_reference, record, write};
use common::*;
use webgan::checkpoint::Checkpoint;
use webgan::graph::op::{Mode, Reference, Shapes};
use webgan::graph::ops::{Conv2d, ConvTranspose2d, Dense};
use webgan::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use webgan::graph::{Graph, Layer, Shape3};
use webgan::reference::spectral_norm::{self as sn, SpectralLayout};

/// A layer, its input and the matrix its spectral norm sees.
struct SnCase {
    layer: Layer,
    input: Shape3,
    layout: SpectralLayout,
}

/// conv 3→5 k3 on 5×3 images: W as [5, 27].
fn conv() -> SnCase {
    SnCase {
        layer: Layer::Conv(Conv2d {
            out_channels: 5,
            kernel: 3,
            stride: 1,
            padding: 1,
            bias: true,
            spectral_norm: true,
        }),
        input: Shape3::new(3, 5, 3),
        layout: SpectralLayout::dim0(5, 27),
    }
}

/// dense 7→4: W as [4, 7].
fn dense() -> SnCase {
    SnCase {
        layer: Layer::Dense(Dense {
            out_features: 4,
            bias: true,
            spectral_norm: true,
        }),
        input: Shape3::new(7, 1, 1),
        layout: SpectralLayout::dim0(4, 7),
    }
}

/// convT 4→3 k3 s2 without bias: [4, 3, 3, 3] seen with dim 1 as [3, 36].
fn conv_transpose() -> SnCase {
    SnCase {
        layer: Layer::ConvTranspose(ConvTranspose2d {
            out_channels: 3,
            kernel: 3,
            stride: 2,
            padding: 1,
            output_padding: 1,
            bias: false,
            spectral_norm: true,
        }),
        input: Shape3::new(4, 3, 2),
        layout: SpectralLayout::dim1(4, 3, 9),
    }
}

fn cases() -> [(&'static str, SnCase); 3] {
    [
        ("conv", conv()),
        ("dense", dense()),
        ("conv_transpose", conv_transpose()),
    ]
}

fn graph(c: &SnCase) -> Graph {
    Graph::sequential("main", c.input, vec![c.layer]).expect("a valid graph")
}

fn unit(rng: &mut Rng, n: usize) -> Vec<f64> {
    let x = rng.vec(n);
    let norm = dot(&x, &x).sqrt();
    x.iter().map(|a| a / norm).collect()
}

#[test]
fn parameters_take_pytorchs_names_and_shapes() {
    let names = |c: &SnCase| -> Vec<(String, Vec<usize>)> {
        graph(c)
            .params_of(0)
            .into_iter()
            .map(|p| (p.name, p.shape))
            .collect()
    };
    let s = |n: &str| n.to_string();
    assert_eq!(
        names(&conv()),
        vec![
            (s("main.0.weight_orig"), vec![5, 3, 3, 3]),
            (s("main.0.bias"), vec![5]),
            (s("main.0.weight_u"), vec![5]),
            (s("main.0.weight_v"), vec![27]),
        ]
    );
    assert_eq!(
        names(&conv_transpose()),
        vec![
            (s("main.0.weight_orig"), vec![4, 3, 3, 3]),
            (s("main.0.weight_u"), vec![3]),
            (s("main.0.weight_v"), vec![36]),
        ]
    );
    let trained: Vec<bool> = graph(&dense())
        .params_of(0)
        .iter()
        .map(|p| p.trained())
        .collect();
    assert_eq!(trained, vec![true, true, false, false]);
}

/// dim = 1 is weight.permute(1, 0, 2, 3).reshape(out, in·k·k): W[o, c·9 + r] = weight[c, o, r].
#[test]
fn dim1_layout_is_pytorchs_permute() {
    let l = SpectralLayout::dim1(4, 3, 9);
    for c in 0..4 {
        for o in 0..3 {
            for r in 0..9 {
                assert_eq!(l.at(o, c * 9 + r), (c * 3 + o) * 9 + r);
            }
        }
    }
    let l = SpectralLayout::dim0(5, 27);
    assert_eq!(l.at(2, 11), 2 * 27 + 11);
}

fn reference<'a>(c: &SnCase, batch: u32, x: &'a [f64], params: &'a [Vec<f64>]) -> Reference<'a> {
    // Leaked so that the shapes outlive the call: a few bytes per test.
    let inputs: &'static [Shape3] = Box::leak(vec![c.input].into_boxed_slice());
    let output = c.layer.op().output(inputs).expect("fits");
    Reference {
        shapes: Shapes {
            batch,
            inputs,
            output,
        },
        x: vec![x],
        params,
        rng: None,
    }
}

/// The reference's dL/dW_orig against central differences of L(W) = ⟨R, layer(x; W / σ(W))⟩
/// with σ(W) = uᵀ W v for the u and v of the iteration at the starting W, held fixed (eval
/// mode on those u, v is exactly that forward).
#[test]
fn weight_gradient_through_sigma_matches_central_differences() {
    for (name, c) in cases() {
        let mut rng = Rng::new(3);
        let batch = 2;
        let x = rng.vec(batch as usize * c.input.len());
        let specs = graph(&c).params_of(0);
        let mut params: Vec<Vec<f64>> = specs
            .iter()
            .map(|p| rng.vec(p.shape.iter().product()))
            .collect();
        let n = params.len();
        params[n - 2] = unit(&mut rng, c.layout.rows);
        params[n - 1] = unit(&mut rng, c.layout.cols);
        let r = reference(&c, batch, &x, &params);
        let dy = rng.vec(r.shapes.output_len());
        let (_, dparams) = c.layer.op().reference_backward(&r, &dy);

        let (u, v) = sn::power_iteration(c.layout, &params[0], &params[n - 2]);
        let eval = Mode {
            train: false,
            update_running: false,
        };
        let numeric = numeric_gradient(&params[0], |w| {
            let mut p = params.clone();
            p[0] = w.to_vec();
            p[n - 2] = u.clone();
            p[n - 1] = v.clone();
            let y = c
                .layer
                .op()
                .reference_forward(&reference(&c, batch, &x, &p), None, eval);
            dot(&y, &dy)
        });
        assert_gradient(&format!("{name}: d weight_orig"), &dparams[0], &numeric);
        // u and v are not trained: no gradient.
        assert!(dparams[n - 2]
            .iter()
            .chain(&dparams[n - 1])
            .all(|&d| d == 0.0));
    }
}

/// One train pass on the GPU against the CPU twin (forward, d input, d weight_orig, d bias),
/// and the u, v it leaves against the twin's, which its forward stored back.
#[test]
fn gpu_matches_reference_in_train_mode() {
    for (name, c) in cases() {
        for batch in [1, 3] {
            let (net, cpu) = gpu_matches_reference(&graph(&c), batch);
            let n = cpu.params[0].len();
            let (u, v) = (&cpu.params[0][n - 2], &cpu.params[0][n - 1]);
            let got_u = download(&net.params[0][n - 2].value, c.layout.rows);
            let got_v = download(&net.params[0][n - 1].value, c.layout.cols);
            assert_close(&format!("{name}: weight_u"), &got_u, u, 1e-5, 1e-4);
            assert_close(&format!("{name}: weight_v"), &got_v, v, 1e-5, 1e-4);
        }
    }
}

fn forward_pass(net: &Net, batch: u32, train: bool) -> Pass {
    let options = PassOptions {
        batch,
        train,
        update_running: false,
        param_grads: ParamGrads::Skip,
        input_grad: false,
        backward: false,
    };
    Pass::new(gpu(), net, options, PassBuffers::default()).expect("a pass")
}

/// Eval mode: σ from the stored u and v, which stay as they were.
#[test]
fn gpu_matches_reference_in_eval_mode() {
    for (name, c) in cases() {
        let batch = 2;
        let net = Net::new(gpu(), graph(&c), 5);
        let mut cpu = pollster::block_on(net.to_cpu(gpu())).expect("weights");
        let pass = forward_pass(&net, batch, false);
        let x = Rng::new(4).vec(batch as usize * c.input.len());
        write(&pass.input, &x);
        record(|p| pass.record_forward(p));
        let (want, _) = cpu.forward(&x, batch, false, false);
        let got = download(&pass.output, want.len());
        assert_close(&format!("{name}: eval output"), &got, &want, 1e-4, 1e-3);
        let n = cpu.params[0].len();
        let u = download(&net.params[0][n - 2].value, c.layout.rows);
        assert_eq!(u, cpu.params[0][n - 2], "{name}: eval moved u");
    }
}

/// W with a planted top singular value 3 (left a, right b) over small noise.
fn planted(l: SpectralLayout, rng: &mut Rng) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (a, b) = (unit(rng, l.rows), unit(rng, l.cols));
    let mut w: Vec<f64> = rng.vec(l.len()).iter().map(|e| 0.05 * e).collect();
    for r in 0..l.rows {
        for c in 0..l.cols {
            w[l.at(r, c)] += 3.0 * a[r] * b[c];
        }
    }
    (w.iter().map(|&e| e as f32 as f64).collect(), a, b)
}

/// Train-mode forwards, one power iteration each, carry u and v (persisted between passes)
/// to W's top singular vectors and σ to its largest singular value.
#[test]
fn u_converges_to_the_top_singular_vector() {
    for (name, c) in cases() {
        let mut rng = Rng::new(8);
        let (w, _, _) = planted(c.layout, &mut rng);
        // The truth, from many f64 iterations.
        let mut u_star = unit(&mut rng, c.layout.rows);
        let mut v_star = vec![0.0; c.layout.cols];
        for _ in 0..2000 {
            (u_star, v_star) = sn::power_iteration(c.layout, &w, &u_star);
        }
        let sigma_star = sn::sigma(c.layout, &w, &u_star, &v_star);

        let net = Net::new(gpu(), graph(&c), 6);
        write(&net.params[0][0].value, &w);
        let pass = forward_pass(&net, 1, true);
        let n = net.params[0].len();
        let u0 = download(&net.params[0][n - 2].value, c.layout.rows);
        record(|p| (0..30).for_each(|_| pass.record_forward(p)));
        let u = download(&net.params[0][n - 2].value, c.layout.rows);
        let v = download(&net.params[0][n - 1].value, c.layout.cols);
        let align = |a: &[f64], b: &[f64]| dot(a, b).abs();
        assert!(
            align(&u, &u_star) > 1.0 - 1e-5,
            "{name}: |⟨u, u*⟩| = {} after 30 steps (from {})",
            align(&u, &u_star),
            align(&u0, &u_star)
        );
        assert!(align(&v, &v_star) > 1.0 - 1e-5, "{name}: v");
        let sigma = sn::sigma(c.layout, &w, &u, &v);
        assert!(
            (sigma - sigma_star).abs() < 1e-4 * sigma_star,
            "{name}: σ {sigma} vs {sigma_star}"
        );
    }
}

/// A spectrally normalised net saves weight_orig, bias, weight_u and weight_v under PyTorch's
/// names (no `weight`), and a fresh net that loads them holds the same values, u and v as the
/// iteration left them included.
#[test]
fn checkpoint_round_trip_keeps_pytorchs_names_and_u() {
    let c = conv();
    let net = Net::new(gpu(), graph(&c), 7);
    let pass = forward_pass(&net, 1, true);
    record(|p| pass.record_forward(p));
    let mut ck = Checkpoint::new();
    pollster::block_on(webgan::train::save_weights(gpu(), &mut ck, &net, "netD")).expect("saved");
    let bytes = ck.to_bytes().expect("bytes");
    let back = Checkpoint::from_bytes(&bytes).expect("read back");
    let mut names: Vec<&String> = back.tensors.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "netD.main.0.bias",
            "netD.main.0.weight_orig",
            "netD.main.0.weight_u",
            "netD.main.0.weight_v"
        ]
    );
    let fresh = Net::new(gpu(), graph(&c), 8);
    webgan::train::load_weights(gpu(), &back, &fresh, "netD").expect("loaded");
    for (a, b) in net.all_params().zip(fresh.all_params()) {
        let (a, b) = (download(&a.value, a.len()), download(&b.value, b.len()));
        assert_eq!(a, b, "{}", net.params[0][0].spec.name);
    }
}

/// Spectral norm off: the same tensors, names and dispatches as before it existed.
#[test]
fn off_changes_nothing() {
    let layer = Layer::Conv(Conv2d {
        out_channels: 5,
        kernel: 3,
        stride: 1,
        padding: 1,
        bias: true,
        spectral_norm: false,
    });
    let g = Graph::sequential("main", Shape3::new(3, 5, 3), vec![layer]).expect("graph");
    let names: Vec<String> = g.params_of(0).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["main.0.weight", "main.0.bias"]);
    let net = Net::new(gpu(), g, 1);
    assert_eq!(forward_pass(&net, 2, true).dispatches(true).len(), 1);
}

/// For python/tests/test_spectral_norm.py: with WEBGAN_SPECTRAL_FIXTURE set, writes there, per
/// case, the net's tensors before a step (`{case}.main.0.*`), an input `{case}.x`, the output of
/// a train-mode forward `{case}.y_train`, the u and v it leaves (`{case}.u_after`, `.v_after`)
/// and the output of an eval-mode forward after it `{case}.y_eval`. Without the variable it
/// only checks that the file would be made.
#[test]
fn write_pytorch_fixture() {
    use webgan::checkpoint::Tensor;
    let mut ck = Checkpoint::new();
    let batch = 2;
    for (name, c) in cases() {
        let net = Net::new(gpu(), graph(&c), 11);
        pollster::block_on(webgan::train::save_weights(gpu(), &mut ck, &net, name)).expect("saved");
        let x = Rng::new(12).vec(batch as usize * c.input.len());
        let mut put = |what: &str, shape: Vec<usize>, values: &[f64]| {
            let tensor = Tensor::new(shape, to_f32(values)).expect("a tensor");
            ck.tensors.insert(format!("{name}.{what}"), tensor);
        };
        let s = c.input;
        let shape = |s: Shape3| match c.layer {
            Layer::Dense(_) => vec![batch as usize, s.len()],
            _ => vec![batch as usize, s.c as usize, s.h as usize, s.w as usize],
        };
        put("x", shape(s), &x);
        let out = c.layer.op().output(&[s]).expect("fits");
        let n = net.params[0].len();
        for (train, what) in [(true, "y_train"), (false, "y_eval")] {
            let pass = forward_pass(&net, batch, train);
            write(&pass.input, &x);
            record(|p| pass.record_forward(p));
            put(
                what,
                shape(out),
                &download(&pass.output, batch as usize * out.len()),
            );
            if train {
                let u = download(&net.params[0][n - 2].value, c.layout.rows);
                let v = download(&net.params[0][n - 1].value, c.layout.cols);
                put("u_after", vec![u.len()], &u);
                put("v_after", vec![v.len()], &v);
            }
        }
    }
    let bytes = ck.to_bytes().expect("bytes");
    if let Ok(path) = std::env::var("WEBGAN_SPECTRAL_FIXTURE") {
        std::fs::write(&path, bytes).expect("fixture written");
    }
}

/// The optimizer steps weight_orig and the bias but never u and v, even with gradients in
/// their (unused) gradient buffers and WGAN clipping on: only the power iteration moves them.
#[test]
fn optimizer_leaves_u_and_v_alone() {
    use webgan::kernels::optim::AdamConfig;
    use webgan::train::recipe::{NetOptimizer, Slots};
    let c = dense();
    let net = Net::new(gpu(), graph(&c), 3);
    let before: Vec<Vec<f64>> = net
        .all_params()
        .map(|p| download(&p.value, p.len()))
        .collect();
    for p in net.all_params() {
        write(&p.grad, &vec![1.0; p.len()]);
    }
    let slots = Slots::new(gpu(), "counters", &["adam"]);
    let adam = webgan::train::Optimizer::Adam(AdamConfig::default());
    let optimizer =
        NetOptimizer::new(gpu(), &[&net], adam, &slots, "adam", Some(0.01)).expect("an optimizer");
    record(|p| optimizer.dispatches().for_each(|d| d.record(p)));
    for (p, was) in net.all_params().zip(&before) {
        let now = download(&p.value, p.len());
        assert_eq!(
            now == *was,
            !p.spec.trained(),
            "{} moved or stayed",
            p.spec.name
        );
    }
}

/// D's step in miniature: two train passes over one net (real, then fake), both forwards
/// before both backwards, the second pass adding into the gradients. Each pass iterates u once
/// (the second from the first's u), and each backward must use its own pass's σ, u and v,
/// although the second forward has moved the persisted ones by then.
#[test]
fn two_passes_accumulate_each_with_its_own_u() {
    for (name, c) in cases() {
        let batch = 2;
        let net = Net::new(gpu(), graph(&c), 9);
        let cpu = pollster::block_on(net.to_cpu(gpu())).expect("weights");
        let pass = |param_grads| {
            let options = PassOptions {
                batch,
                train: true,
                update_running: false,
                param_grads,
                input_grad: false,
                backward: true,
            };
            Pass::new(gpu(), &net, options, PassBuffers::default()).expect("a pass")
        };
        let (real, fake) = (pass(ParamGrads::Overwrite), pass(ParamGrads::Accumulate));
        let mut twin = cpu.clone();
        let mut twin_grads: Vec<Vec<f64>> = Vec::new();
        let mut rng = Rng::new(10);
        let mut params = cpu.params[0].clone();
        let n = params.len();
        let mut want: Vec<Vec<f64>> = params.iter().map(|p| vec![0.0; p.len()]).collect();
        for p in [&real, &fake] {
            let x = rng.vec(batch as usize * c.input.len());
            let r = reference(&c, batch, &x, &params);
            let dy = rng.vec(r.shapes.output_len());
            write(&p.input, &x);
            write(&p.doutput, &dy);
            let (_, dparams) = c.layer.op().reference_backward(&r, &dy);
            // The CPU twin keeps u itself: its second forward starts where its first left.
            let acts = twin.forward_all(&[&x], batch, true, false);
            let (_, twin_d) = twin.backward_all(&acts, &[&dy], batch);
            twin_grads.resize(twin_d[0].len(), vec![]);
            for (sum, d) in twin_grads.iter_mut().zip(&twin_d[0]) {
                sum.resize(d.len(), 0.0);
                sum.iter_mut().zip(d).for_each(|(a, b)| *a += b);
            }
            want.iter_mut()
                .zip(&dparams)
                .for_each(|(w, d)| w.iter_mut().zip(d).for_each(|(a, b)| *a += b));
            // The next pass iterates from the u this one left.
            let (u, v) = sn::power_iteration(c.layout, &params[0], &params[n - 2]);
            (params[n - 2], params[n - 1]) = (u, v);
        }
        record(|p| {
            real.record_forward(p);
            fake.record_forward(p);
            real.record_backward(p);
            fake.record_backward(p);
        });
        for (k, p) in net.params[0]
            .iter()
            .enumerate()
            .filter(|(_, p)| p.spec.trained())
        {
            let got = download(&p.grad, p.len());
            let what = format!("{name}: d {}", p.spec.name);
            assert_close(&what, &got, &want[k], 1e-4, 1e-3);
        }
        let u = download(&net.params[0][n - 2].value, c.layout.rows);
        assert_close(
            &format!("{name}: u after two passes"),
            &u,
            &params[n - 2],
            1e-5,
            1e-4,
        );
        let twin_u = &twin.params[0][n - 2];
        assert_close(
            &format!("{name}: twin's u"),
            twin_u,
            &params[n - 2],
            0.0,
            0.0,
        );
        let what = format!("{name}: twin's d weight_orig");
        assert_close(&what, &twin_grads[0], &want[0], 1e-12, 1e-9);
    }
}

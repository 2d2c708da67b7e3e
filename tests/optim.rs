use crate::common;

use common::{assert_close, gpu, Rng};
use webgan::kernels::optim::{clip, ema, ema_copy, tick, Adam, AdamConfig, Sgd, SgdConfig};
use webgan::kernels::Dispatch;
use webgan::reference::optim as reference;
use webgan::Error;

// The GPU repeats the reference's f32 operations one for one, except pow and sqrt, which WGSL
// does not require to be correctly rounded. pow(β2, t) is exp2(t·log2 β2), with log2 allowed
// 2^-21 absolute error: ~5e-4 relative in 1 − β2^t at t = 1, ~2.5e-4 in Adam's step of about
// lr = 1e-3, so a few 1e-7 over five steps (lavapipe: 3e-7). SGD and clip come out bit for bit.
const PARAM_ATOL: f64 = 1e-6;
const PARAM_RTOL: f64 = 1e-6;
// m, v and SGD's buffer see no pow: only a fused multiply-add could move them, by an ulp.
const STATE_ATOL: f64 = 1e-9;
const STATE_RTOL: f64 = 1e-6;

/// The tensors of one model: odd lengths, none a multiple of the 256-thread workgroup, and
/// (1027) one whose last thread of Adam's four elements a thread has three.
const LENS: [usize; 3] = [1000, 1, 1027];
const STEPS: usize = 5;

fn rand_f32(rng: &mut Rng, n: usize) -> Vec<f32> {
    rng.vec(n).iter().map(|&x| x as f32).collect()
}

fn storage(data: &[f32]) -> wgpu::Buffer {
    gpu().storage_from("test", data)
}

fn read(b: &wgpu::Buffer, len: usize) -> Vec<f64> {
    let v = gpu().read_f32_blocking(b).expect("readback");
    v[..len].iter().map(|&x| x as f64).collect()
}

fn assert_state(what: &str, got: &wgpu::Buffer, want: &[f32], atol: f64, rtol: f64) {
    let want: Vec<f64> = want.iter().map(|&x| x as f64).collect();
    assert_close(what, &read(got, want.len()), &want, atol, rtol);
}

/// One tensor's parameters, gradients for every step (scaled to vary in size), and state.
struct Tensor {
    param: Vec<f32>,
    grads: Vec<Vec<f32>>,
    state: [Vec<f32>; 2],
    param_b: wgpu::Buffer,
    grads_b: Vec<wgpu::Buffer>,
    state_b: [wgpu::Buffer; 2],
}

fn tensor(rng: &mut Rng, len: usize) -> Tensor {
    let param = rand_f32(rng, len);
    let grads: Vec<Vec<f32>> = (0..STEPS)
        .map(|s| {
            rand_f32(rng, len)
                .iter()
                .map(|g| g * (s + 1) as f32)
                .collect()
        })
        .collect();
    Tensor {
        param_b: storage(&param),
        grads_b: grads.iter().map(|g| storage(g)).collect(),
        state_b: [storage(&vec![0.0; len]), storage(&vec![0.0; len])],
        param,
        grads,
        state: [vec![0.0; len], vec![0.0; len]],
    }
}

fn check(what: &str, tensors: &[Tensor], state_used: usize) {
    for t in tensors {
        let what = format!("{what} len={}", t.param.len());
        assert_state(&what, &t.param_b, &t.param, PARAM_ATOL, PARAM_RTOL);
        for s in 0..state_used {
            assert_state(&what, &t.state_b[s], &t.state[s], STATE_ATOL, STATE_RTOL);
        }
    }
}

/// Adam on two tensors for five steps, as one submission (tick, update, update) × 5 or as
/// one submission per step; the learning rate changes after step 3 in the second case.
fn adam_run(config: AdamConfig, one_submission: bool) {
    let g = gpu();
    let mut rng = Rng::new(10 + one_submission as u64);
    let mut tensors: Vec<Tensor> = LENS.iter().map(|&n| tensor(&mut rng, n)).collect();
    // Slot 1 of 2 (slot 0 stays with another optimizer), so the index is tested.
    let counter = g.storage_from("counter", &[7u32, 0]);
    let mut adam = Adam::new(g, config, &counter, 1).expect("valid config");
    let later_lr = config.lr * 0.5;
    let mut recorded: Vec<Dispatch> = Vec::new();
    for step in 0..STEPS {
        let mut ds = vec![adam.tick(g).expect("tick")];
        for t in &tensors {
            let [m, v] = &t.state_b;
            let d = adam.update(g, &t.param_b, &t.grads_b[step], m, v, t.param.len());
            let d = d.expect("valid update");
            // Whole vec4s take the vec4 kernel (1000 here), others the f32 one (1, 1027).
            let entry = if t.param.len() % 4 == 0 {
                "adam4"
            } else {
                "adam"
            };
            assert_eq!(d.kernels()[0].1, entry, "len {}", t.param.len());
            ds.push(d);
        }
        if one_submission {
            recorded.extend(ds);
        } else {
            if step == 3 {
                adam.set_lr(g, later_lr).expect("valid lr");
            }
            g.run(&ds.iter().collect::<Vec<_>>());
        }
    }
    if one_submission {
        g.run(&recorded.iter().collect::<Vec<_>>());
    }
    let counts = g.read_u32_blocking(&counter).expect("readback");
    assert_eq!(counts, [7, STEPS as u32], "counter after {STEPS} ticks");
    for step in 0..STEPS {
        let mut c = config;
        if !one_submission && step >= 3 {
            c.lr = later_lr;
        }
        for t in &mut tensors {
            let [m, v] = &mut t.state;
            reference::adam(&mut t.param, &t.grads[step], m, v, step as u32 + 1, &c);
        }
    }
    check(&format!("adam {config:?}"), &tensors, 2);
}

#[test]
fn shader_validates() {
    use webgan::kernels::optim::{SHADER, SHADER_VEC4};
    for shader in [SHADER, SHADER_VEC4] {
        let module = naga::front::wgsl::parse_str(shader.source)
            .unwrap_or_else(|e| panic!("{} parses: {e}", shader.name));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} validates: {e}", shader.name));
    }
}

const DCGAN: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
    weight_decay: 1e-2,
};

#[test]
fn adam_in_one_submission_matches_reference() {
    adam_run(AdamConfig::default(), true);
    adam_run(DCGAN, true);
}

#[test]
fn adam_in_separate_submissions_matches_reference() {
    adam_run(AdamConfig::default(), false);
    adam_run(DCGAN, false);
}

fn sgd_run(config: SgdConfig, one_submission: bool) {
    let g = gpu();
    let mut rng = Rng::new(20 + one_submission as u64);
    let mut tensors: Vec<Tensor> = LENS.iter().map(|&n| tensor(&mut rng, n)).collect();
    let mut sgd = Sgd::new(g, config).expect("valid config");
    let later_lr = config.lr * 0.5;
    let mut recorded: Vec<Dispatch> = Vec::new();
    for step in 0..STEPS {
        let mut ds = Vec::new();
        for t in &tensors {
            let d = sgd.update(
                g,
                &t.param_b,
                &t.grads_b[step],
                &t.state_b[0],
                t.param.len(),
            );
            ds.push(d.expect("valid update"));
        }
        if one_submission {
            recorded.extend(ds);
        } else {
            if step == 3 {
                sgd.set_lr(g, later_lr).expect("valid lr");
            }
            g.run(&ds.iter().collect::<Vec<_>>());
        }
    }
    if one_submission {
        g.run(&recorded.iter().collect::<Vec<_>>());
    }
    for step in 0..STEPS {
        let mut c = config;
        if !one_submission && step >= 3 {
            c.lr = later_lr;
        }
        for t in &mut tensors {
            reference::sgd(&mut t.param, &t.grads[step], &mut t.state[0], &c);
        }
    }
    check(&format!("sgd {config:?}"), &tensors, 1);
}

#[test]
fn sgd_momentum_matches_reference() {
    for one_submission in [true, false] {
        let plain = SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 0.0,
        };
        sgd_run(plain, one_submission);
        let decayed = SgdConfig {
            lr: 0.05,
            momentum: 0.5,
            weight_decay: 1e-2,
        };
        sgd_run(decayed, one_submission);
    }
}

#[test]
fn clip_is_exact() {
    let g = gpu();
    let mut rng = Rng::new(30);
    for (len, c) in [(1000, 0.01), (1, 0.5), (300, 0.0)] {
        let mut param = rand_f32(&mut rng, len);
        let b = storage(&param);
        g.run(&[&clip(g, &b, len, c).expect("valid clip")]);
        reference::clip(&mut param, c);
        // clamp only selects: no rounding, so bit for bit.
        assert_state(&format!("clip len={len} c={c}"), &b, &param, 0.0, 0.0);
    }
}

/// More than 65,535 workgroups of 256: the grid folds into y, and every element is reached.
#[test]
fn clip_reaches_every_element_of_a_folded_grid() {
    let g = gpu();
    let len = 65_535 * 256 + 3;
    let mut param: Vec<f32> = (0..len).map(|i| (i % 7) as f32 - 3.0).collect();
    let b = storage(&param);
    g.run(&[&clip(g, &b, len, 1.5).expect("valid clip")]);
    reference::clip(&mut param, 1.5);
    let got = g.read_f32_blocking(&b).expect("readback");
    let first_wrong = got[..len].iter().zip(&param).position(|(a, b)| a != b);
    assert_eq!(first_wrong, None, "clip of {len} elements");
}

/// G_ema as a trainer keeps it: copy G, then after each of five steps (G's weights changed)
/// one ema update, all in one submission. β = 0.999 (StyleGAN), 0.5, and the ends 0 and 1.
/// The shader does the reference's two products and one sum in f32, so bit for bit (lavapipe
/// does not fuse them; a driver that contracted one product into an FMA would move avg by an ulp).
#[test]
fn ema_matches_reference_bit_for_bit() {
    let g = gpu();
    let mut rng = Rng::new(40);
    for len in [1000, 1, 257] {
        for beta in [0.999, 0.5, 0.0, 1.0] {
            let weights: Vec<Vec<f32>> = (0..=STEPS).map(|_| rand_f32(&mut rng, len)).collect();
            let weights_b: Vec<wgpu::Buffer> = weights.iter().map(|w| storage(w)).collect();
            let avg_b = storage(&rand_f32(&mut rng, len));
            let mut recorded = vec![ema_copy(g, &avg_b, &weights_b[0], len).expect("valid copy")];
            for w in &weights_b[1..] {
                recorded.push(ema(g, &avg_b, w, len, beta).expect("valid ema"));
            }
            g.run(&recorded.iter().collect::<Vec<_>>());
            let mut avg = weights[0].clone();
            for w in &weights[1..] {
                reference::ema(&mut avg, w, beta);
            }
            assert_state(&format!("ema len={len} β={beta}"), &avg_b, &avg, 0.0, 0.0);
        }
    }
    // β = 1 leaves the copy, β = 0 is the last weights: the reference's ends are right too.
    let (w0, w1) = (vec![1.5f32, -2.0], vec![0.25f32, 3.0]);
    let mut keep = w0.clone();
    reference::ema(&mut keep, &w1, 1.0);
    assert_eq!(keep, w0);
    reference::ema(&mut keep, &w1, 0.0);
    assert_eq!(keep, w1);
}

/// The copy is exact, and the average reaches every element of a folded grid.
#[test]
fn ema_reaches_every_element_of_a_folded_grid() {
    let g = gpu();
    let len = 65_535 * 256 + 3;
    let param: Vec<f32> = (0..len).map(|i| (i % 7) as f32 - 3.0).collect();
    let (param_b, avg_b) = (storage(&param), storage(&vec![1.0f32; len]));
    g.run(&[&ema(g, &avg_b, &param_b, len, 0.75).expect("valid ema")]);
    let mut avg = vec![1.0f32; len];
    reference::ema(&mut avg, &param, 0.75);
    let got = g.read_f32_blocking(&avg_b).expect("readback");
    let first_wrong = got[..len].iter().zip(&avg).position(|(a, b)| a != b);
    assert_eq!(first_wrong, None, "ema of {len} elements");
    g.run(&[&ema_copy(g, &avg_b, &param_b, len).expect("valid copy")]);
    let got = g.read_f32_blocking(&avg_b).expect("readback");
    assert!(got[..len] == param[..], "ema_copy of {len} elements");
}

#[test]
fn ema_refuses_bad_arguments() {
    let g = gpu();
    let (avg, param) = (storage(&[0.0; 8]), storage(&[0.0; 8]));
    for beta in [-0.1, 1.5, f32::NAN, f32::INFINITY] {
        let r = ema(g, &avg, &param, 8, beta);
        assert!(matches!(r, Err(Error::Invalid(_))), "β = {beta}");
    }
    for len in [0, 9] {
        let r = ema(g, &avg, &param, len, 0.999);
        assert!(matches!(r, Err(Error::Shape { .. })), "len {len}");
        let r = ema_copy(g, &avg, &param, len);
        assert!(matches!(r, Err(Error::Shape { .. })), "copy len {len}");
    }
    let same = ema(g, &avg, &avg, 8, 0.999);
    assert!(matches!(same, Err(Error::Invalid(_))), "avg as param");
    let same = ema_copy(g, &param, &param, 8);
    assert!(matches!(same, Err(Error::Invalid(_))), "copy onto itself");
}

#[test]
fn refuses_bad_arguments() {
    let g = gpu();
    let (p, small, counter) = (storage(&[0.0; 8]), storage(&[0.0; 4]), storage(&[0.0; 1]));
    let bad = AdamConfig {
        beta1: 1.0,
        ..Default::default()
    };
    assert!(matches!(
        Adam::new(g, bad, &counter, 0),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        Adam::new(g, AdamConfig::default(), &counter, 1),
        Err(Error::Shape { .. })
    ));
    let mut adam = Adam::new(g, AdamConfig::default(), &counter, 0).expect("valid");
    assert!(matches!(adam.set_lr(g, f32::NAN), Err(Error::Invalid(_))));
    assert_eq!(
        adam.config().lr,
        AdamConfig::default().lr,
        "a refused lr is not kept"
    );
    let short = adam.update(g, &p, &p, &p, &small, 8);
    assert!(matches!(short, Err(Error::Shape { .. })), "v too short");
    let empty = adam.update(g, &p, &p, &p, &p, 0);
    assert!(matches!(empty, Err(Error::Shape { .. })), "len 0");
    let negative = SgdConfig {
        lr: -0.1,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    assert!(matches!(Sgd::new(g, negative), Err(Error::Invalid(_))));
    assert!(matches!(clip(g, &p, 8, -1.0), Err(Error::Invalid(_))));
    assert!(matches!(clip(g, &p, 9, 1.0), Err(Error::Shape { .. })));
    assert!(matches!(tick(g, &counter, 1), Err(Error::Shape { .. })));
}

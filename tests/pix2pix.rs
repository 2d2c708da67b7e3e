//! The pix2pix recipe (a U-Net G with dropout and batch norm, a PatchGAN D on the stacked
//! pair, GAN + λ·L1, one crop and flip for both images of a pair) against its CPU twin, and as
//! the trainer drives it: a checkpoint that resumes bit for bit.
use crate::common;

use std::sync::Arc;

use common::assert_close;
use webgan::kernels::optim::SgdConfig;
use webgan::reference::graph::CpuNet;
use webgan::reference::pix2pix::CpuPix2Pix;
use webgan::train::recipe::Recipe;
use webgan::train::recipes::pix2pix::{GanMode, Pix2Pix, Pix2PixRun};
use webgan::train::{GpuDataset, Optimizer, Trainer};
use webgan::Gpu;

fn gpu() -> Arc<Gpu> {
    Arc::new(Gpu::new_blocking().expect("GPU tests need an adapter"))
}

fn bytes(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

/// The reference's networks at their smallest: 32×32 pairs (a five-level U-Net), widths 2,
/// a one-layer PatchGAN, batch 2, loaded at 36 and cropped.
fn tiny(input_nc: u32, output_nc: u32) -> Pix2PixRun {
    let sgd = Optimizer::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.5,
        weight_decay: 0.0,
    });
    Pix2PixRun {
        ngf: 2,
        ndf: 2,
        n_layers_d: 1,
        batch: 2,
        g_optimizer: sgd,
        d_optimizer: sgd,
        ..Pix2PixRun::new(32, input_nc, output_nc).unwrap()
    }
}

/// 5 pairs at the run's load size.
fn pairs(run: &Pix2PixRun) -> (Vec<u8>, Vec<u8>) {
    let side = run.load_side() as usize;
    (
        bytes(5 * run.input_nc as usize * side * side, 1),
        bytes(5 * run.output_nc as usize * side * side, 2),
    )
}

fn upload(gpu: &Gpu, run: &Pix2PixRun, (a, b): &(Vec<u8>, Vec<u8>)) -> [GpuDataset; 2] {
    let side = run.load_side();
    let row = |c: u32| (c * side * side) as usize;
    [
        GpuDataset::upload(gpu, a, row(run.input_nc)).unwrap(),
        GpuDataset::upload(gpu, b, row(run.output_nc)).unwrap(),
    ]
}

fn to_cpu(gpu: &Gpu, net: &webgan::graph::program::Net) -> CpuNet {
    pollster::block_on(net.to_cpu(gpu)).unwrap()
}

fn twin_steps(run: Pix2PixRun, steps: u32) {
    let gpu = gpu();
    let data = pairs(&run);
    let mut t = Trainer::<Pix2Pix>::start(gpu.clone(), run, upload(&gpu, &run, &data)).unwrap();
    let mut twin = CpuPix2Pix::new(run, to_cpu(&gpu, &t.recipe.g), to_cpu(&gpu, &t.recipe.d));
    for step in 1..=steps {
        let want = twin.step(&data.0, &data.1);
        t.train(1).unwrap();
        let values = gpu.read_f32_blocking(&t.recipe.stats().buffer).unwrap();
        for ((name, got), (_, want)) in t.recipe.losses(&values).into_iter().zip(want) {
            assert_close(
                &format!("step {step}: loss {name}"),
                &[got as f64],
                &[want],
                2e-5,
                2e-3,
            );
        }
        for (trained, cpu) in t.recipe.nets().iter().zip([&twin.g, &twin.d]) {
            let got = to_cpu(&gpu, trained.net);
            for (node, (g, w)) in got.params.iter().zip(&cpu.params).enumerate() {
                for (k, (g, w)) in g.iter().zip(w).enumerate() {
                    let what = format!("step {step}: {} node {node} param {k}", trained.name);
                    assert_close(&what, g, w, 2e-5, 2e-3);
                }
            }
            for (node, (g, w)) in got.running.iter().zip(&cpu.running).enumerate() {
                if let (Some(g), Some(w)) = (g, w) {
                    let what = format!("step {step}: {} node {node} running", trained.name);
                    assert_close(&what, &g[..g.len() - 1], &w[..w.len() - 1], 2e-5, 2e-3);
                }
            }
        }
    }
}

#[test]
fn three_pix2pix_steps_match_the_cpu_twin() {
    twin_steps(tiny(3, 3), 3);
}

#[test]
fn gray_to_colour_with_lsgan_and_no_jitter_matches_the_cpu_twin() {
    let run = Pix2PixRun {
        gan_mode: GanMode::Lsgan,
        load_size: 0,
        flip: false,
        ..tiny(1, 3)
    };
    twin_steps(run, 2);
}

#[test]
fn a_checkpoint_resumes_bit_for_bit() {
    let gpu = gpu();
    let run = tiny(3, 3);
    let data = pairs(&run);
    let values = |t: &Trainer<Pix2Pix>| -> Vec<Vec<f32>> {
        t.recipe
            .nets()
            .iter()
            .flat_map(|n| n.net.all_params())
            .map(|p| gpu.read_f32_blocking(&p.value).unwrap())
            .collect()
    };
    let mut straight =
        Trainer::<Pix2Pix>::start(gpu.clone(), run, upload(&gpu, &run, &data)).unwrap();
    straight.train(2).unwrap();
    let saved = pollster::block_on(straight.save()).unwrap();
    straight.train(2).unwrap();
    let mut resumed =
        Trainer::<Pix2Pix>::continue_with(gpu.clone(), &saved, upload(&gpu, &run, &data), run)
            .unwrap();
    resumed.train(2).unwrap();
    assert_eq!(values(&resumed), values(&straight));
    assert_eq!(webgan::train::checkpoint_family(&saved).unwrap(), "pix2pix");
}

#[test]
fn the_configuration_round_trips_and_bad_ones_are_refused() {
    let run = tiny(1, 3);
    assert_eq!(Pix2PixRun::from_json(&run.to_json()).unwrap(), run);
    assert!(
        Pix2PixRun::new(48, 3, 3).is_err(),
        "a U-Net needs a power of two"
    );
    let refused = |f: &dyn Fn(&mut Pix2PixRun)| {
        let mut r = tiny(3, 3);
        f(&mut r);
        r.check().expect_err("refused").to_string()
    };
    assert!(refused(&|r| r.batch = 0).contains("batch"));
    assert!(refused(&|r| r.lambda_l1 = f32::NAN).contains("λ_L1"));
    assert!(refused(&|r| r.load_size = 20).contains("load size"));
    assert!(refused(&|r| r.output_nc = 4).contains("1 channel"));
    let mut huge = Pix2PixRun::new(1024, 3, 3).unwrap();
    huge.batch = 64;
    huge.load_size = 0;
    assert!(huge
        .check()
        .unwrap_err()
        .to_string()
        .contains("too large for a GPU"));
}

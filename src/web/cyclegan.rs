//! The session's CycleGAN: two unpaired domains (a zip's trainA/ and trainB/, held at the side
//! each step crops from), the four networks trained on them with the reference's recipe, the
//! translations of fixed held-out examples (A | G_A(A) | G_B(G_A(A)), then B | G_B(B) |
//! G_A(G_B(B))) read back for the page to draw (`translate.rs` shows them, and a person's own
//! picture translated either way).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::device::{invalid_buffer, scoped};
use super::options::Options;
use super::session::{no_run, Data, Run, Session};
use super::{js_error, set};
use crate::data::{Dataset, ImageSpec, Unpaired};
use crate::train::recipes::cyclegan::CycleGan;
use crate::train::recipes::cyclegan_preview::CycleGanPreview;
use crate::train::recipes::cyclegan_run::{CycleGanRun, LinearDecay};
use crate::train::{GpuDataset, Trainer};
use crate::{Gpu, Result};

/// Held-out examples of each domain (or pairs, for pix2pix) in the preview.
const PREVIEW: usize = 4;

/// A CycleGAN in training and its preview.
pub(super) struct CycleRun {
    pub(super) trainer: Trainer<CycleGan>,
    /// Both domains at the run's load side (the session's own when the sides agree).
    data: Rc<Unpaired>,
    preview: CycleGanPreview,
}

#[wasm_bindgen]
impl Session {
    /// Decodes a zip of two unpaired domains into the session for CycleGAN at `size` pixels
    /// (see `zip::decode_unpaired` for which images); a zip that cannot be used leaves the data
    /// there was. Returns the zip's report with the domains' summary as `dataset`.
    #[wasm_bindgen(js_name = loadUnpairedZip)]
    pub fn load_unpaired_zip(
        &mut self,
        bytes: &[u8],
        size: u32,
        max_images: Option<u32>,
        progress: &js_sys::Function,
    ) -> std::result::Result<JsValue, JsError> {
        let (domains, report) = super::zip::decode_unpaired(bytes, size, max_images, progress)?;
        set(&report, "dataset", &domains_summary(&domains));
        self.data = Some(Data::Domains(Rc::new(domains)));
        Ok(report.into())
    }

    /// Takes two domains in WGDS form (and their held-out examples, if any), as `runDomains`
    /// gave them: the autosave's. Returns their summary.
    #[wasm_bindgen(js_name = setDomains)]
    pub fn set_domains(
        &mut self,
        a: &[u8],
        b: &[u8],
        held_out_a: Option<Vec<u8>>,
        held_out_b: Option<Vec<u8>>,
    ) -> std::result::Result<JsValue, JsError> {
        let decode = |bytes: Option<Vec<u8>>| bytes.map(|b| Dataset::decode(&b)).transpose();
        let domains = Unpaired {
            a: Dataset::decode(a).map_err(js_error)?,
            b: Dataset::decode(b).map_err(js_error)?,
            held_out_a: decode(held_out_a).map_err(js_error)?,
            held_out_b: decode(held_out_b).map_err(js_error)?,
        };
        let summary = domains_summary(&domains);
        self.data = Some(Data::Domains(Rc::new(domains)));
        Ok(summary)
    }

    /// The domains the run trains on, in WGDS form: `{ a, b, heldOutA, heldOutB }` (the last
    /// two absent when the zip held none), what the autosave keeps beside the checkpoint.
    #[wasm_bindgen(js_name = runDomains)]
    pub fn run_domains(&self) -> std::result::Result<JsValue, JsError> {
        let d = &self.cyclegan()?.data;
        let held_out = [&d.held_out_a, &d.held_out_b];
        Ok(super::translate::sides_object(&d.a, &d.b, held_out))
    }

    /// Builds a new CycleGAN on the domains loaded from the page's options (JSON: `size`,
    /// `ngf`, `ndf`, `n_blocks`, `n_layers_D`, `pool_size`, `batch_size`, `lambda_A`,
    /// `lambda_B`, `lambda_identity`, `lr_g`, `beta1_g`, `lr_d`, `beta1_d`, `n_epochs`,
    /// `n_epochs_decay`, `flip`, `seed`), the rest the reference's defaults. Resolves to
    /// `{ gParams, dParams, classes, step, examples }`.
    #[wasm_bindgen(js_name = startCycleGan)]
    pub async fn start_cyclegan(&mut self, options: &str) -> std::result::Result<JsValue, JsError> {
        let (a, b) = match &self.data {
            Some(Data::Domains(d)) => (d.a.count(), d.b.count()),
            _ => return Err(JsError::new(NO_DOMAINS)),
        };
        let run = run_from_options(options, a, b).map_err(js_error)?;
        self.build_cyclegan(run, None).await
    }
}

impl CycleRun {
    /// `{ step, finite, D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B, lr }` of the last
    /// step submitted (waiting for it), under the reference's names; `lr` is the fraction of
    /// the learning rates the schedule has reached.
    pub(super) async fn stats(&self) -> std::result::Result<JsValue, JsError> {
        let values: Vec<f32> = self
            .trainer
            .read_named_stats()
            .await
            .map_err(js_error)?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let losses = self.trainer.recipe.losses(&values);
        let o = js_sys::Object::new();
        let step = self.trainer.step;
        set(&o, "step", &(step as f64).into());
        set(
            &o,
            "finite",
            &losses.iter().all(|(_, v)| v.is_finite()).into(),
        );
        for (name, v) in losses {
            set(&o, name, &v.into());
        }
        // The rate of the last step trained.
        let lr = self.trainer.recipe.lr_factor(step.saturating_sub(1));
        set(&o, "lr", &lr.into());
        Ok(o.into())
    }

    pub(super) async fn grid(
        &self,
        gpu: &Gpu,
    ) -> std::result::Result<(u32, u32, Vec<u8>), JsError> {
        self.preview.grid(gpu).await.map_err(js_error)
    }
}

/// What CycleGAN is told without two domains to train on.
const NO_DOMAINS: &str = "CycleGAN learns to translate between two sets of images: drop a zip with trainA/ and trainB/ folders (and testA/, testB/ held out, if any)";

impl Session {
    pub(super) fn cyclegan(&self) -> std::result::Result<&CycleRun, JsError> {
        match self.run.as_ref().ok_or_else(no_run)? {
            Run::CycleGan(run) => Ok(run),
            other => Err(other.not("CycleGAN")),
        }
    }

    /// A run of `run` on the domains loaded, new or continuing `checkpoint`. The run there
    /// was stays until this one is built.
    pub(super) async fn build_cyclegan(
        &mut self,
        run: CycleGanRun,
        checkpoint: Option<&[u8]>,
    ) -> std::result::Result<JsValue, JsError> {
        self.alive()?;
        let domains = match &self.data {
            Some(Data::Domains(d)) => d.clone(),
            _ => {
                return Err(JsError::new(&match checkpoint {
                    Some(_) => format!("this checkpoint holds a CycleGAN run, and the dataset loaded is not two domains: {}", lowercase_first(NO_DOMAINS)),
                    None => NO_DOMAINS.into(),
                }))
            }
        };
        let data = fitted(&domains, &run).map_err(js_error)?;
        let (ex_a, n_a) = examples(&data.held_out_a, &data.a, run.size).map_err(js_error)?;
        let (ex_b, n_b) = examples(&data.held_out_b, &data.b, run.size).map_err(js_error)?;
        let n = n_a.min(n_b) as u32;
        let break_build = std::mem::take(&mut self.break_next_build);
        let gpu = self.gpu.clone();
        let built = scoped(&gpu, || {
            if break_build {
                invalid_buffer(&gpu);
            }
            let upload = |d: &Dataset| GpuDataset::from_dataset(&gpu, d, false).map(|(g, _)| g);
            let on_gpu = [upload(&data.a)?, upload(&data.b)?];
            let trainer = match checkpoint {
                Some(bytes) => Trainer::<CycleGan>::continue_with(gpu.clone(), bytes, on_gpu, run),
                None => Trainer::<CycleGan>::start(gpu.clone(), run, on_gpu),
            }?;
            let preview = CycleGanPreview::new(&gpu, &trainer.recipe, &ex_a, &ex_b, n)?;
            Ok((trainer, preview))
        })
        .await;
        let what = format!(
            "CycleGAN at {0}×{0}, batch {1} (width {2})",
            run.size,
            run.recipe.batch,
            run.ngf.max(run.ndf)
        );
        let (trainer, preview) = built
            .map_err(|refusal| refusal.sentence(&what))?
            .map_err(js_error)?;
        let info = js_sys::Object::new();
        let params = |net: &crate::graph::program::Net| net.param_count() as u32;
        set(&info, "gParams", &params(&trainer.recipe.g_a).into());
        set(&info, "dParams", &params(&trainer.recipe.d_a).into());
        set(&info, "classes", &0.into());
        set(&info, "step", &(trainer.step as f64).into());
        set(&info, "examples", &n.into());
        self.run = Some(Run::CycleGan(Box::new(CycleRun {
            trainer,
            data,
            preview,
        })));
        Ok(info.into())
    }
}

/// The run a page's options (see `startCycleGan`) ask for, on domains of `a` and `b` images:
/// every size checked before anything is allocated.
fn run_from_options(text: &str, a: usize, b: usize) -> Result<CycleGanRun> {
    let o = Options::parse(text, "CycleGAN")?;
    let mut run = CycleGanRun::new(o.whole("size")?, 3, 3);
    run.ngf = o.whole("ngf")?;
    run.ndf = o.whole("ndf")?;
    run.n_blocks = o.whole("n_blocks")?;
    run.n_layers_d = o.whole("n_layers_D")?;
    let r = &mut run.recipe;
    r.pool_size = o.whole("pool_size")?;
    r.batch = o.whole("batch_size")?;
    r.lambda_a = o.number("lambda_A")? as f32;
    r.lambda_b = o.number("lambda_B")? as f32;
    r.lambda_identity = o.number("lambda_identity")? as f32;
    r.g_optimizer = o.adam("lr_g", "beta1_g")?;
    r.d_optimizer = o.adam("lr_d", "beta1_d")?;
    r.flip = o.flag("flip", true);
    r.seed = o.seed()?;
    let clamp = |n: usize| n.min(u32::MAX as usize) as u32;
    run.decay = LinearDecay {
        epoch_steps: LinearDecay::epoch_steps(clamp(a), clamp(b), r.batch),
        n_epochs: o.whole("n_epochs")?,
        n_epochs_decay: o.whole("n_epochs_decay")?,
    };
    run.check()?;
    Ok(run)
}

/// Both domains at the side `run` loads them at (and the channels it takes), resized when the
/// zip was decoded for another size; the same data when it was not.
fn fitted(domains: &Rc<Unpaired>, run: &CycleGanRun) -> Result<Rc<Unpaired>> {
    let load = run.load_side();
    let spec_a = ImageSpec {
        size: load,
        channels: run.input_nc,
    };
    let spec_b = ImageSpec {
        size: load,
        channels: run.output_nc,
    };
    if domains.a.spec == spec_a && domains.b.spec == spec_b {
        return Ok(domains.clone());
    }
    let fit = |d: &Dataset, spec| {
        if d.spec == spec {
            Ok(d.clone())
        } else {
            d.converted(spec)
        }
    };
    Ok(Rc::new(Unpaired {
        a: fit(&domains.a, spec_a)?,
        b: fit(&domains.b, spec_b)?,
        held_out_a: domains.held_out_a.clone(),
        held_out_b: domains.held_out_b.clone(),
    }))
}

/// Up to [`PREVIEW`] examples of a domain (or of one side of pix2pix's pairs) at the networks'
/// `size`, as u8 rows: its held-out images when it has some, else the first of its training
/// images. Returns them and their
/// count.
pub(super) fn examples(
    held_out: &Option<Dataset>,
    train: &Dataset,
    size: u32,
) -> Result<(Vec<u8>, usize)> {
    let source = held_out.as_ref().filter(|d| d.count() > 0).unwrap_or(train);
    let n = PREVIEW.min(source.count());
    let first =
        Dataset::unconditional(source.spec, source.pixels[..n * source.row_len()].to_vec())?;
    let spec = ImageSpec {
        size,
        channels: train.spec.channels,
    };
    let d = first.converted(spec)?;
    Ok((d.pixels, n))
}

/// What the dataset panel shows of two domains: `{ images, size, channels, classes: [[folder,
/// count]], heldOut: [a, b], domains: true }`.
fn domains_summary(d: &Unpaired) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "images", &((d.a.count() + d.b.count()) as u32).into());
    set(&o, "size", &d.a.spec.size.into());
    set(&o, "channels", &d.a.spec.channels.into());
    let domains = js_sys::Array::new();
    for (name, domain) in [("trainA", &d.a), ("trainB", &d.b)] {
        domains.push(&js_sys::Array::of2(
            &name.into(),
            &(domain.count() as u32).into(),
        ));
    }
    set(&o, "classes", &js_sys::Array::new());
    set(&o, "domains", &domains);
    let held = |h: &Option<Dataset>| h.as_ref().map_or(0, Dataset::count) as u32;
    set(
        &o,
        "heldOut",
        &js_sys::Array::of2(&held(&d.held_out_a).into(), &held(&d.held_out_b).into()),
    );
    o.into()
}

pub(super) fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

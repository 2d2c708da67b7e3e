//! The session's pix2pix: aligned pairs (a zip's A/ and B/ folders matched by name, or pictures
//! holding A and B side by side; both sides held at the side each step crops from), netG and
//! netD trained on them with the reference's recipe, and fixed pairs shown as input | output |
//! target (the held-out split's when the zip has one, else the first training pairs), read back
//! for the page to draw.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::cyclegan::{examples, lowercase_first};
use super::device::{invalid_buffer, scoped};
use super::options::Options;
use super::session::{no_run, Data, Run, Session};
use super::{js_error, set};
use crate::data::{Dataset, ImageSpec, Pairs};
use crate::train::recipes::cyclegan_run::LinearDecay;
use crate::train::recipes::pix2pix::{self as recipe, GanMode, Pix2Pix};
use crate::train::recipes::pix2pix_preview::Pix2PixPreview;
use crate::train::{GpuDataset, Trainer};
use crate::{Error, Gpu, Result};

/// A pix2pix in training and its preview.
pub(super) struct Pix2PixRun {
    pub(super) trainer: Trainer<Pix2Pix>,
    /// Both sides at the run's load side (the session's own when the sides agree).
    data: Rc<Pairs>,
    preview: Pix2PixPreview,
}

#[wasm_bindgen]
impl Session {
    /// Decodes a zip of pairs into the session for pix2pix at `size` pixels (see
    /// `zip::decode_pairs` for which images); a zip that cannot be used leaves the data there
    /// was. Returns the zip's report with the pairs' summary as `dataset`.
    #[wasm_bindgen(js_name = loadPairedZip)]
    pub fn load_paired_zip(
        &mut self,
        bytes: &[u8],
        size: u32,
        max_images: Option<u32>,
        progress: &js_sys::Function,
    ) -> std::result::Result<JsValue, JsError> {
        let (pairs, report) = super::zip::decode_pairs(bytes, size, max_images, progress)?;
        set(&report, "dataset", &pairs_summary(&pairs));
        self.data = Some(Data::Pairs(Rc::new(pairs)));
        Ok(report.into())
    }

    /// Takes pairs in WGDS form, A's and B's row for row (and their held-out pairs, if any), as
    /// `runPairs` gave them: the autosave's. Returns their summary.
    #[wasm_bindgen(js_name = setPairs)]
    pub fn set_pairs(
        &mut self,
        a: &[u8],
        b: &[u8],
        held_out_a: Option<Vec<u8>>,
        held_out_b: Option<Vec<u8>>,
    ) -> std::result::Result<JsValue, JsError> {
        let decode = |bytes: Option<Vec<u8>>| bytes.map(|b| Dataset::decode(&b)).transpose();
        let pairs = Pairs {
            a: Dataset::decode(a).map_err(js_error)?,
            b: Dataset::decode(b).map_err(js_error)?,
            held_out_a: decode(held_out_a).map_err(js_error)?,
            held_out_b: decode(held_out_b).map_err(js_error)?,
        };
        let count = |d: &Option<Dataset>| d.as_ref().map(Dataset::count);
        if pairs.a.count() != pairs.b.count()
            || count(&pairs.held_out_a) != count(&pairs.held_out_b)
        {
            return Err(JsError::new(
                "the stored pairs do not line up (as many A images as B images): load the zip again",
            ));
        }
        let summary = pairs_summary(&pairs);
        self.data = Some(Data::Pairs(Rc::new(pairs)));
        Ok(summary)
    }

    /// The pairs the run trains on, in WGDS form: `{ a, b, heldOutA, heldOutB }` (the last two
    /// absent when the zip held none), what the autosave keeps beside the checkpoint.
    #[wasm_bindgen(js_name = runPairs)]
    pub fn run_pairs(&self) -> std::result::Result<JsValue, JsError> {
        let d = &self.pix2pix()?.data;
        let held_out = [&d.held_out_a, &d.held_out_b];
        Ok(super::translate::sides_object(&d.a, &d.b, held_out))
    }

    /// Builds a new pix2pix on the pairs loaded from the page's options (JSON, under the
    /// reference's names: `size`, `ngf`, `ndf`, `n_layers_D`, `gan_mode`, `lambda_L1`,
    /// `batch_size`, `lr_g`, `beta1_g`, `lr_d`, `beta1_d`, `n_epochs`, `n_epochs_decay`,
    /// `flip`, `seed`), the rest the reference's defaults (a U-Net to 1×1 with batch norm and
    /// dropout). Resolves to `{ gParams, dParams, classes, step, examples, heldOut }`.
    #[wasm_bindgen(js_name = startPix2Pix)]
    pub async fn start_pix2pix(&mut self, options: &str) -> std::result::Result<JsValue, JsError> {
        let pairs = match &self.data {
            Some(Data::Pairs(p)) => p.count(),
            _ => return Err(JsError::new(NO_PAIRS)),
        };
        let run = run_from_options(options, pairs).map_err(js_error)?;
        self.build_pix2pix(run, None).await
    }
}

impl Pix2PixRun {
    /// `{ step, finite, G_GAN, G_L1, D_real, D_fake, lr }` of the last step submitted (waiting
    /// for it), under the reference's names (G_L1 weighted by λ_L1, as the reference logs it);
    /// `lr` is the fraction of the learning rates the schedule has reached.
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
        let lr = self.trainer.recipe.run.decay.factor(step.saturating_sub(1));
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

/// What pix2pix is told without pairs to train on.
const NO_PAIRS: &str = "pix2pix learns to translate A into B from aligned pairs: drop a zip with A/ and B/ folders of pictures matched by name, or of pictures holding A and B side by side (in train/ and val/ folders)";

impl Session {
    fn pix2pix(&self) -> std::result::Result<&Pix2PixRun, JsError> {
        match self.run.as_ref().ok_or_else(no_run)? {
            Run::Pix2Pix(run) => Ok(run),
            other => Err(other.not("pix2pix")),
        }
    }

    /// A run of `run` on the pairs loaded, new or continuing `checkpoint`. The run there was
    /// stays until this one is built.
    pub(super) async fn build_pix2pix(
        &mut self,
        run: recipe::Pix2PixRun,
        checkpoint: Option<&[u8]>,
    ) -> std::result::Result<JsValue, JsError> {
        self.alive()?;
        let pairs = match &self.data {
            Some(Data::Pairs(p)) => p.clone(),
            _ if checkpoint.is_some() => {
                let why = lowercase_first(NO_PAIRS);
                return Err(JsError::new(&format!(
                    "this checkpoint holds a pix2pix run, and the dataset loaded is not pairs: {why}"
                )));
            }
            _ => return Err(JsError::new(NO_PAIRS)),
        };
        let data = fitted(&pairs, &run).map_err(js_error)?;
        // Held-out pairs when the zip has some (both sides or neither), else the first training
        // pairs: the same rows of A and B either way.
        let (ex_a, n_a) = examples(&data.held_out_a, &data.a, run.size).map_err(js_error)?;
        let (ex_b, n_b) = examples(&data.held_out_b, &data.b, run.size).map_err(js_error)?;
        let n = n_a.min(n_b) as u32;
        let held_out = data.held_out_a.as_ref().is_some_and(|d| d.count() > 0);
        let break_build = std::mem::take(&mut self.break_next_build);
        let gpu = self.gpu.clone();
        let built = scoped(&gpu, || {
            if break_build {
                invalid_buffer(&gpu);
            }
            let upload = |d: &Dataset| GpuDataset::from_dataset(&gpu, d, false).map(|(g, _)| g);
            let on_gpu = [upload(&data.a)?, upload(&data.b)?];
            let trainer = match checkpoint {
                Some(bytes) => Trainer::<Pix2Pix>::continue_with(gpu.clone(), bytes, on_gpu, run),
                None => Trainer::<Pix2Pix>::start(gpu.clone(), run, on_gpu),
            }?;
            let preview = Pix2PixPreview::new(&gpu, &trainer.recipe, &ex_a, &ex_b, n)?;
            Ok((trainer, preview))
        })
        .await;
        let what = format!(
            "pix2pix at {0}×{0}, batch {1} (width {2})",
            run.size,
            run.batch,
            run.ngf.max(run.ndf)
        );
        let (trainer, preview) = built
            .map_err(|refusal| refusal.sentence(&what))?
            .map_err(js_error)?;
        let info = js_sys::Object::new();
        set(
            &info,
            "gParams",
            &(trainer.recipe.g.param_count() as u32).into(),
        );
        set(
            &info,
            "dParams",
            &(trainer.recipe.d.param_count() as u32).into(),
        );
        set(&info, "classes", &0.into());
        set(&info, "step", &(trainer.step as f64).into());
        set(&info, "examples", &n.into());
        set(&info, "heldOut", &held_out.into());
        self.run = Some(Run::Pix2Pix(Box::new(Pix2PixRun {
            trainer,
            data,
            preview,
        })));
        Ok(info.into())
    }
}

/// The run a page's options (see `startPix2Pix`) ask for, on `pairs` pairs: every size checked
/// before anything is allocated.
fn run_from_options(text: &str, pairs: usize) -> Result<recipe::Pix2PixRun> {
    let o = Options::parse(text, "pix2pix")?;
    let mut run = recipe::Pix2PixRun::new(o.whole("size")?, 3, 3)?;
    run.ngf = o.whole("ngf")?;
    run.ndf = o.whole("ndf")?;
    run.n_layers_d = o.whole("n_layers_D")?;
    if let Some(mode) = o.text("gan_mode")? {
        run.gan_mode = GanMode::parse(mode)?;
    }
    run.lambda_l1 = o.number("lambda_L1")? as f32;
    run.batch = o.whole("batch_size")?;
    run.g_optimizer = o.adam("lr_g", "beta1_g")?;
    run.d_optimizer = o.adam("lr_d", "beta1_d")?;
    run.flip = o.flag("flip", true);
    run.seed = o.seed()?;
    let pairs = pairs.min(u32::MAX as usize) as u32;
    if pairs == 0 {
        return Err(Error::Invalid(NO_PAIRS.into()));
    }
    run.decay = LinearDecay {
        epoch_steps: LinearDecay::epoch_steps(pairs, pairs, run.batch),
        n_epochs: o.whole("n_epochs")?,
        n_epochs_decay: o.whole("n_epochs_decay")?,
    };
    run.check()?;
    Ok(run)
}

/// Both sides at the side `run` loads them at (and the channels it takes), resized when the zip
/// was decoded for another size; the same data when it was not.
fn fitted(pairs: &Rc<Pairs>, run: &recipe::Pix2PixRun) -> Result<Rc<Pairs>> {
    let load = run.load_side();
    let spec_a = ImageSpec {
        size: load,
        channels: run.input_nc,
    };
    let spec_b = ImageSpec {
        size: load,
        channels: run.output_nc,
    };
    if pairs.a.spec == spec_a && pairs.b.spec == spec_b {
        return Ok(pairs.clone());
    }
    let fit = |d: &Dataset, spec| {
        if d.spec == spec {
            Ok(d.clone())
        } else {
            d.converted(spec)
        }
    };
    Ok(Rc::new(Pairs {
        a: fit(&pairs.a, spec_a)?,
        b: fit(&pairs.b, spec_b)?,
        held_out_a: pairs.held_out_a.clone(),
        held_out_b: pairs.held_out_b.clone(),
    }))
}

/// What the dataset panel shows of pairs: `{ images, pairs, size, channels, classes: [],
/// heldOut, paired: true }`.
fn pairs_summary(p: &Pairs) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "images", &((2 * p.count()) as u32).into());
    set(&o, "pairs", &(p.count() as u32).into());
    set(&o, "size", &p.a.spec.size.into());
    set(&o, "channels", &p.a.spec.channels.into());
    set(&o, "classes", &js_sys::Array::new());
    let held = p.held_out_a.as_ref().map_or(0, Dataset::count) as u32;
    set(&o, "heldOut", &held.into());
    set(&o, "paired", &true.into());
    o.into()
}

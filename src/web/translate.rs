//! What the page shows of an image-to-image run (CycleGAN, pix2pix): its fixed examples as the
//! generators translate them now, and a person's own picture translated by one generator.

use wasm_bindgen::prelude::*;

use super::session::{no_run, png, Run, Session};
use super::{image_object, js_error, set};
use crate::data::{load_picture, ImageSpec, LoadLimits};
use crate::graph::program::Net;
use crate::train::sample::{interleaved, Grid};
use crate::train::translate::Translator;
use crate::Gpu;

#[wasm_bindgen]
impl Session {
    /// The fixed examples and their translations as they are now, a row per example (CycleGAN:
    /// A | G_A(A) | G_B(G_A(A)), then B's; pix2pix: input | output | target):
    /// `{ width, height, rgba }`.
    pub async fn preview(&self) -> Result<JsValue, JsError> {
        self.alive()?;
        let grid = match self.run()? {
            Run::CycleGan(r) => r.grid(&self.gpu).await?,
            Run::Pix2Pix(r) => r.grid(&self.gpu).await?,
            Run::Dcgan(_) => return Err(not_translating()),
        };
        Ok(image_object(grid))
    }

    /// Translates one picture (`name` and its file's bytes) with CycleGAN's G_A (`a_to_b`) or
    /// G_B, or with pix2pix's G (A to B only), at the model's size: `{ width, height, rgba }`
    /// of the picture beside its translation, and `png`, the translation alone.
    pub async fn translate(
        &self,
        name: &str,
        bytes: &[u8],
        a_to_b: bool,
    ) -> Result<JsValue, JsError> {
        self.alive()?;
        let (net, size, channels) = match self.run.as_ref().ok_or_else(no_run)? {
            Run::CycleGan(r) => {
                let (c, nets) = (&r.trainer.config, &r.trainer.recipe);
                if a_to_b {
                    (&nets.g_a, c.size, c.input_nc)
                } else {
                    (&nets.g_b, c.size, c.output_nc)
                }
            }
            Run::Pix2Pix(r) => {
                if !a_to_b {
                    return Err(JsError::new(
                        "a pix2pix generator translates A into B only: B → A takes a CycleGAN run",
                    ));
                }
                let c = &r.trainer.config;
                (&r.trainer.recipe.g, c.size, c.input_nc)
            }
            Run::Dcgan(_) => return Err(not_translating()),
        };
        translate_picture(&self.gpu, net, size, channels, name, bytes).await
    }
}

/// What a DCGAN run is told when asked to translate.
pub(super) fn not_translating() -> JsError {
    JsError::new(
        "this is a DCGAN run, which draws images from noise: translating takes a CycleGAN run (a zip with trainA/ and trainB/) or a pix2pix run (a zip of pairs)",
    )
}

/// `net` (in eval mode) on one picture loaded at `size` pixels and `channels`: the picture
/// beside its translation, and the translation alone as PNG bytes.
pub(super) async fn translate_picture(
    gpu: &Gpu,
    net: &Net,
    size: u32,
    channels: u32,
    name: &str,
    bytes: &[u8],
) -> Result<JsValue, JsError> {
    let spec = ImageSpec { size, channels };
    let picture = load_picture(name, bytes, spec, &LoadLimits::default()).map_err(js_error)?;
    let input: Vec<f32> = picture
        .pixels
        .iter()
        .map(|&v| v as f32 / 127.5 - 1.0)
        .collect();
    let t = Translator::new(gpu, net, 1, None).map_err(js_error)?;
    t.set_images(gpu, &input).map_err(js_error)?;
    let output = Translator::run_all(gpu, &[&t])
        .await
        .map_err(js_error)?
        .remove(0);
    let out_channels = net.graph.output().c as usize;
    let side = size as usize;
    // The picture and its translation side by side, a gray one spread to RGB beside colour.
    let shown = channels.max(out_channels as u32) as usize;
    let mut grid = Grid::new(2, shown, side, 2);
    grid.place(0, &input.repeat(shown / channels as usize));
    grid.place(1, &output.repeat(shown / out_channels));
    let o = image_object(grid.rgba());
    let translated = interleaved(&output, out_channels, side);
    let rgba: Vec<u8> = translated
        .chunks(out_channels)
        .flat_map(|p| {
            let at = |k: usize| p[k.min(p.len() - 1)];
            [at(0), at(1), at(2), 255]
        })
        .collect();
    let file = png((size, size, rgba))?;
    set(
        o.unchecked_ref(),
        "png",
        &js_sys::Uint8Array::from(&file[..]).into(),
    );
    Ok(o)
}

/// Two sides of an image-to-image dataset in WGDS form, `{ a, b, heldOutA, heldOutB }` (the
/// last two absent when there are none): what the autosave keeps beside the checkpoint.
pub(super) fn sides_object(
    a: &crate::data::Dataset,
    b: &crate::data::Dataset,
    held_out: [&Option<crate::data::Dataset>; 2],
) -> JsValue {
    let o = js_sys::Object::new();
    let bytes = |d: &crate::data::Dataset| JsValue::from(js_sys::Uint8Array::from(&d.encode()[..]));
    set(&o, "a", &bytes(a));
    set(&o, "b", &bytes(b));
    for (key, held_out) in [("heldOutA", held_out[0]), ("heldOutB", held_out[1])] {
        if let Some(h) = held_out {
            set(&o, key, &bytes(h));
        }
    }
    o.into()
}

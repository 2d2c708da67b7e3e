//! The page's options for an image-to-image run: a JSON object under the reference's option
//! names, each value checked as it is read, so that a bad one is named in the sentence the page
//! shows.

use serde_json::Value;

use crate::kernels::optim::AdamConfig;
use crate::train::Optimizer;
use crate::{Error, Result};

/// The options of one family's run (`family` names it in errors: "CycleGAN", "pix2pix").
pub(super) struct Options {
    v: Value,
    family: &'static str,
}

impl Options {
    pub(super) fn parse(text: &str, family: &'static str) -> Result<Options> {
        let v = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("the {family} options are not JSON: {e}")))?;
        Ok(Options { v, family })
    }

    pub(super) fn number(&self, key: &str) -> Result<f64> {
        self.v
            .get(key)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
            .ok_or_else(|| Error::Invalid(format!("{}'s {key} must be a number", self.family)))
    }

    pub(super) fn whole(&self, key: &str) -> Result<u32> {
        let x = self.number(key)?;
        (x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64)
            .then_some(x as u32)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}'s {key} must be a whole number, not {x}",
                    self.family
                ))
            })
    }

    /// Adam at the learning rate `lr` and β1 `beta1` name, the rest its defaults.
    pub(super) fn adam(&self, lr: &str, beta1: &str) -> Result<Optimizer> {
        Ok(Optimizer::Adam(AdamConfig {
            lr: self.number(lr)? as f32,
            beta1: self.number(beta1)? as f32,
            ..AdamConfig::default()
        }))
    }

    /// A yes or no, `default` when absent.
    pub(super) fn flag(&self, key: &str, default: bool) -> bool {
        self.v.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A text option, when present.
    pub(super) fn text(&self, key: &str) -> Result<Option<&str>> {
        match self.v.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Error::Invalid(format!(
                "{}'s {key} must be a word, not {other}",
                self.family
            ))),
        }
    }

    /// The seed, as a string (JSON numbers lose whole numbers past 2^53) or a number; 1 when
    /// absent.
    pub(super) fn seed(&self) -> Result<u64> {
        match self.v.get("seed") {
            Some(Value::String(s)) => s.parse().ok(),
            Some(n) => n.as_u64(),
            None => Some(1),
        }
        .ok_or_else(|| Error::Invalid(format!("{}'s seed must be a whole number", self.family)))
    }
}

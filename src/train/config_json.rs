//! The training configuration as JSON, for a checkpoint's metadata: everything needed to build
//! the same trainer again.

use serde_json::{json, Value};

use crate::kernels::optim::{AdamConfig, SgdConfig};
use crate::model::infogan::Codes;
use crate::model::presets::{ModelConfig, Preset};
use crate::train::{Augmentations, GanLoss, Optimizer, Prior, TrainConfig};
use crate::{Error, Result};

pub(crate) fn optimizer_json(o: &Optimizer) -> Value {
    match o {
        Optimizer::Adam(c) => {
            json!({"kind": "adam", "lr": c.lr, "beta1": c.beta1, "beta2": c.beta2, "eps": c.eps, "weight_decay": c.weight_decay})
        }
        Optimizer::Sgd(c) => {
            json!({"kind": "sgd", "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay})
        }
    }
}

pub fn to_json(c: &TrainConfig) -> String {
    json!({
        "preset": c.model.preset.name(),
        "nz": c.model.nz, "ngf": c.model.ngf, "ndf": c.model.ndf,
        "channels": c.model.channels, "classes": c.model.classes,
        "categorical": c.model.codes.categorical, "continuous": c.model.codes.continuous,
        "info_reg_coeff": c.info_reg_coeff,
        "batch": c.batch, "d_steps": c.d_steps, "loss": c.loss.name(),
        "label_smoothing": c.label_smoothing,
        "d_optimizer": optimizer_json(&c.d_optimizer), "g_optimizer": optimizer_json(&c.g_optimizer),
        "prior": match c.prior { Prior::Normal => "normal", Prior::Uniform => "uniform" },
        "clip": c.clip,
        "ema": c.ema,
        "augment": c.augment.name(),
        "lambda_gp": c.lambda_gp,
        "r1": c.r1,
        "r1_every": c.r1_every,
        // A string: JSON numbers lose u64 precision in some readers.
        "seed": c.seed.to_string(),
    })
    .to_string()
}

pub(crate) struct Fields<'a>(pub(crate) &'a Value);

impl Fields<'_> {
    pub(crate) fn get(&self, key: &str) -> Result<&Value> {
        self.0
            .get(key)
            .ok_or_else(|| Error::Checkpoint(format!("the configuration has no `{key}`")))
    }
    pub(crate) fn u32(&self, key: &str) -> Result<u32> {
        self.get(key)?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| Error::Checkpoint(format!("`{key}` is not a whole number")))
    }
    pub(crate) fn f32(&self, key: &str) -> Result<f32> {
        self.get(key)?
            .as_f64()
            .map(|v| v as f32)
            .ok_or_else(|| Error::Checkpoint(format!("`{key}` is not a number")))
    }
    pub(crate) fn str(&self, key: &str) -> Result<&str> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| Error::Checkpoint(format!("`{key}` is not a string")))
    }
}

pub(crate) fn optimizer_from(v: &Value) -> Result<Optimizer> {
    let f = Fields(v);
    match f.str("kind")? {
        "adam" => Ok(Optimizer::Adam(AdamConfig {
            lr: f.f32("lr")?,
            beta1: f.f32("beta1")?,
            beta2: f.f32("beta2")?,
            eps: f.f32("eps")?,
            weight_decay: f.f32("weight_decay")?,
        })),
        "sgd" => Ok(Optimizer::Sgd(SgdConfig {
            lr: f.f32("lr")?,
            momentum: f.f32("momentum")?,
            weight_decay: f.f32("weight_decay")?,
        })),
        other => Err(Error::Checkpoint(format!("unknown optimizer `{other}`"))),
    }
}

pub fn from_json(text: &str) -> Result<TrainConfig> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::Checkpoint(format!("the configuration is not valid JSON: {e}")))?;
    let f = Fields(&v);
    let preset = Preset::parse(f.str("preset")?)?;
    let c = TrainConfig {
        model: ModelConfig {
            preset,
            nz: f.u32("nz")?,
            ngf: f.u32("ngf")?,
            ndf: f.u32("ndf")?,
            channels: f.u32("channels")?,
            classes: f.u32("classes")?,
            // Absent before InfoGAN (and from a page that leaves them out): the preset's.
            codes: Codes {
                categorical: match v.get("categorical") {
                    None | Some(Value::Null) => ModelConfig::new(preset).codes.categorical,
                    Some(_) => f.u32("categorical")?,
                },
                continuous: match v.get("continuous") {
                    None | Some(Value::Null) => ModelConfig::new(preset).codes.continuous,
                    Some(_) => f.u32("continuous")?,
                },
            },
        },
        batch: f.u32("batch")?,
        d_steps: f.u32("d_steps")?,
        loss: GanLoss::parse(f.str("loss")?)?,
        label_smoothing: f.f32("label_smoothing")?,
        d_optimizer: optimizer_from(f.get("d_optimizer")?)?,
        g_optimizer: optimizer_from(f.get("g_optimizer")?)?,
        prior: match f.str("prior")? {
            "normal" => Prior::Normal,
            "uniform" => Prior::Uniform,
            other => return Err(Error::Checkpoint(format!("unknown prior `{other}`"))),
        },
        clip: f.f32("clip")?,
        seed: f
            .str("seed")?
            .parse()
            .map_err(|_| Error::Checkpoint("`seed` is not a whole number".into()))?,
        // Absent from checkpoints written before it existed: no moving average.
        ema: match v.get("ema") {
            None | Some(Value::Null) => None,
            Some(_) => Some(f.f32("ema")?),
        },
        augment: match v.get("augment") {
            None | Some(Value::Null) => Augmentations::default(),
            Some(_) => Augmentations::parse(f.str("augment")?)?,
        },
        // Absent from checkpoints written before the penalties: WGAN-GP's 10, no R1.
        lambda_gp: match v.get("lambda_gp") {
            None | Some(Value::Null) => 10.0,
            Some(_) => f.f32("lambda_gp")?,
        },
        r1: match v.get("r1") {
            None | Some(Value::Null) => None,
            Some(_) => Some(f.f32("r1")?),
        },
        // Absent before lazy R1: every D update.
        r1_every: match v.get("r1_every") {
            None | Some(Value::Null) => 1,
            Some(_) => f.u32("r1_every")?,
        },
        info_reg_coeff: match v.get("info_reg_coeff") {
            None | Some(Value::Null) => 1.0,
            Some(_) => f.f32("info_reg_coeff")?,
        },
    };
    c.check()?;
    Ok(c)
}

impl TrainConfig {
    /// The configuration as the JSON a checkpoint's metadata holds (and the page sends).
    pub fn to_json(&self) -> String {
        to_json(self)
    }

    /// Reads [`TrainConfig::to_json`]'s form, checking every field.
    pub fn from_json(text: &str) -> Result<TrainConfig> {
        from_json(text)
    }
}

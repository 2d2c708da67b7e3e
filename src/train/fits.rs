//! Whether a run fits WebGPU's limits, worked out from the configuration alone: every
//! parameter and every activation of a batch is one buffer, and none may pass the 128 MiB a
//! storage binding may hold. Checked before anything is allocated, so a width or batch a person
//! types too large is a sentence, not a device error (or gigabytes of weights initialised on the
//! CPU first).

use crate::graph::Graph;
use crate::train::{TrainConfig, MAX_BINDING_BYTES};
use crate::{Error, Result};

/// The largest buffer of `net` at `batch`: (bytes, what it is).
pub(crate) fn largest(net: &Graph, batch: u64) -> (u64, String) {
    let mut best = (0u64, String::new());
    let mut consider = |bytes: u64, what: String| {
        if bytes > best.0 {
            best = (bytes, what);
        }
    };
    for (i, node) in net.nodes.iter().enumerate() {
        for p in net.params_of(i) {
            let len: u64 = p.shape.iter().map(|&d| d as u64).product();
            consider(4 * len, format!("weights {}", p.name));
        }
        for input in net.input_shapes(i) {
            consider(
                4 * batch * input.len() as u64,
                format!("input to layer {}", node.name),
            );
        }
    }
    for &t in &net.outputs {
        let what = match net.producer(t) {
            Some(n) => format!("output ({})", net.nodes[n].name),
            None => "output".to_string(),
        };
        consider(4 * batch * net.shape(t).len() as u64, what);
    }
    best
}

impl TrainConfig {
    /// Refuses a run one of whose buffers would pass [`MAX_BINDING_BYTES`], naming it.
    pub fn check_fits(&self) -> Result<()> {
        let (g, d) = self.model.build_for(self.penalised())?;
        let batch = self.batch as u64;
        for (net, who) in [(&g, "G"), (&d, "D")] {
            let (bytes, what) = largest(net, batch);
            if bytes > MAX_BINDING_BYTES as u64 {
                return Err(Error::Invalid(format!(
                    "a {} of width {} at batch {} is too large for a GPU: {who}'s {what} would take {} MiB, and one GPU buffer holds {} MiB; choose a smaller batch, width (ngf, ndf) or preset",
                    self.model.preset.name(),
                    self.model.ngf.max(self.model.ndf),
                    self.batch,
                    bytes >> 20,
                    MAX_BINDING_BYTES >> 20
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets::Preset;

    #[test]
    fn the_defaults_fit_and_huge_widths_and_batches_do_not() {
        for preset in Preset::ALL {
            let mut c = TrainConfig::new(preset);
            assert!(c.check_fits().is_ok(), "{} at its batch", preset.name());
            // All but sagan64 fit at PyTorch's dcgan64 batch too.
            c.batch = 128;
            let fits = c.check_fits().is_ok();
            assert_eq!(fits, preset != Preset::Sagan64, "{}", preset.name());
        }
        // sagan64's 32×32 attention map is 4 MiB an image: 32 fit one binding, 64 do not.
        let mut sagan = TrainConfig::new(Preset::Sagan64);
        assert_eq!(sagan.batch, 32);
        sagan.batch = 64;
        let e = sagan.check_fits().expect_err("a 256 MiB map").to_string();
        assert!(e.contains("attn2") && e.contains("256 MiB"), "{e}");
        let mut wide = TrainConfig::new(Preset::Dcgan64);
        wide.model.ngf = 1024;
        let e = wide.check_fits().expect_err("a 2 GiB weight").to_string();
        assert!(
            e.contains("G's weights main.3.weight would take 2048 MiB"),
            "{e}"
        );
        let mut big = TrainConfig::new(Preset::Dcgan64);
        big.batch = 4096;
        let e = big
            .check_fits()
            .expect_err("a 4096-image batch")
            .to_string();
        assert!(e.contains("batch 4096") && e.contains("128 MiB"), "{e}");
    }
}

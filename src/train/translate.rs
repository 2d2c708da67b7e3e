//! Translating images with an image-to-image generator: the network in eval mode on a fixed
//! batch of inputs, built once and run as often as a person wants to look.

use crate::gpu::Gpu;
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::{Error, Result};

pub struct Translator {
    pub count: u32,
    pass: Pass,
    input_len: usize,
    output_len: usize,
}

impl Translator {
    /// `net` on `count` images (padded to two: batch norm's shape checks need a pair). With
    /// `input`, it reads that buffer (another translator's output: a cycle) instead of its own.
    pub fn new(
        gpu: &Gpu,
        net: &Net,
        count: u32,
        input: Option<&wgpu::Buffer>,
    ) -> Result<Translator> {
        if count == 0 {
            return Err(Error::Invalid("nothing to translate: no images".into()));
        }
        let batch = count.max(2);
        let eval = PassOptions {
            batch,
            train: false,
            update_running: false,
            param_grads: ParamGrads::Skip,
            input_grad: false,
            backward: false,
        };
        let buffers = PassBuffers {
            input: input.cloned(),
            ..Default::default()
        };
        Ok(Translator {
            count,
            pass: Pass::new(gpu, net, eval, buffers)?,
            input_len: net.graph.input().len(),
            output_len: net.graph.output().len(),
        })
    }

    /// The images to translate, [count, channels, h, w] in [−1, 1].
    pub fn set_images(&self, gpu: &Gpu, images: &[f32]) -> Result<()> {
        if images.len() != self.count as usize * self.input_len {
            return Err(Error::Invalid(format!(
                "{} values are not {} images of {} values",
                images.len(),
                self.count,
                self.input_len
            )));
        }
        gpu.queue
            .write_buffer(&self.pass.input, 0, bytemuck::cast_slice(images));
        Ok(())
    }

    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.pass.record_forward(pass);
    }

    /// The buffer the translations are written to.
    pub fn output(&self) -> &wgpu::Buffer {
        &self.pass.output
    }

    /// Runs `translators` in order in one submission and reads each one's translations.
    pub async fn run_all(gpu: &Gpu, translators: &[&Translator]) -> Result<Vec<Vec<f32>>> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            translators.iter().for_each(|t| t.record(&mut pass));
        }
        gpu.queue.submit([encoder.finish()]);
        let mut out = Vec::with_capacity(translators.len());
        for t in translators {
            let mut v = gpu.read_f32(t.output()).await?;
            v.truncate(t.count as usize * t.output_len);
            out.push(v);
        }
        Ok(out)
    }
}

//! The feature space of the quality measure: a small convolutional classifier that webgan trains
//! with its own kernels on the dataset's classes. Its 64 penultimate activations are the features
//! in which real and generated images are compared (as Inception's are for FID). A dataset
//! without classes cannot train it; its features then come from the same network at its DCGAN
//! initialisation, a fixed random projection (a weaker but still consistent yardstick).

use std::sync::Arc;

use crate::gpu::Gpu;
use crate::graph::ops::{BatchNorm2d, Conv2d, Dense, Reshape};
use crate::graph::program::{Net, ParamGrads, Pass, PassBuffers, PassOptions};
use crate::graph::{Graph, Layer, Shape3};
use crate::kernels::activation::Activation;
use crate::kernels::condition;
use crate::kernels::loss::LossOptions;
use crate::kernels::optim::{Adam, AdamConfig};
use crate::kernels::random::{self, Distribution};
use crate::kernels::softmax;
use crate::kernels::{tensor, Dispatch};
use crate::train::GpuDataset;
use crate::{Error, Result};

/// Width of the feature vector.
pub const FEATURES: u32 = 64;
const BATCH: u32 = 64;

/// The feature network for images of `image` shape: strided convolutions down to at most 8×8,
/// then a dense layer to the features.
pub fn feature_net(image: Shape3) -> Result<Graph> {
    let lrelu = Layer::Activation(Activation::LeakyRelu(0.2));
    let mut layers = vec![];
    let (mut size, mut channels) = (image.h, 16);
    let mut first = true;
    while size > 8 {
        layers.push(Layer::Conv(Conv2d {
            out_channels: channels,
            kernel: 4,
            stride: 2,
            padding: 1,
            bias: false,
            spectral_norm: false,
        }));
        // Batch norm after every convolution but the first, as in DCGAN's discriminator.
        if !first {
            layers.push(Layer::BatchNorm(BatchNorm2d::AFFINE));
        }
        first = false;
        layers.push(lrelu);
        size = size.div_ceil(2);
        channels *= 2;
    }
    let flat = Graph::sequential("features", image, layers.clone())?.output();
    layers.push(Layer::Reshape(Reshape(Shape3::new(
        flat.len() as u32,
        1,
        1,
    ))));
    layers.push(Layer::Dense(Dense {
        out_features: FEATURES,
        bias: true,
        spectral_norm: false,
    }));
    layers.push(lrelu);
    Graph::sequential("features", image, layers)
}

/// A trained (or, without classes, initial) feature network.
pub struct Classifier {
    pub gpu: Arc<Gpu>,
    pub features: Net,
    pub head: Net,
    /// Accuracy on the last training batches, when trained.
    pub accuracy: Option<f32>,
}

impl Classifier {
    /// Trains for `steps` batches on `dataset`'s classes (Adam 1e-3), or returns the network at
    /// its initialisation when the dataset has none.
    pub async fn train(
        gpu: Arc<Gpu>,
        dataset: &GpuDataset,
        image: Shape3,
        steps: u32,
        seed: u64,
    ) -> Result<Classifier> {
        if dataset.row_len as usize != image.len() {
            return Err(Error::Invalid(format!(
                "the dataset's images have {} values, not {}",
                dataset.row_len,
                image.len()
            )));
        }
        let features = Net::new(&gpu, feature_net(image)?, seed ^ 0xfea7);
        let classes = dataset.classes.max(1);
        let head = Net::new(
            &gpu,
            Graph::sequential(
                "head",
                Shape3::new(FEATURES, 1, 1),
                vec![Layer::Dense(Dense {
                    out_features: classes,
                    bias: true,
                    spectral_norm: false,
                })],
            )?,
            seed ^ 0x4ead,
        );
        let Some(labels) = &dataset.labels else {
            return Ok(Classifier {
                gpu,
                features,
                head,
                accuracy: None,
            });
        };
        let train = PassOptions {
            batch: BATCH,
            train: true,
            update_running: true,
            param_grads: ParamGrads::Overwrite,
            input_grad: false,
            backward: true,
        };
        let f_pass = Pass::new(&gpu, &features, train, PassBuffers::default())?;
        let h_pass = Pass::new(
            &gpu,
            &head,
            PassOptions {
                input_grad: true,
                ..train
            },
            PassBuffers {
                input: Some(f_pass.output.clone()),
                dinput: Some(f_pass.doutput.clone()),
                ..Default::default()
            },
        )?;
        let counters = gpu.storage("classifier counters", 2);
        let stats = gpu.storage("classifier stats", 2);
        let (index, batch_labels) = (
            gpu.storage("classifier batch", BATCH as usize),
            gpu.storage("classifier labels", BATCH as usize),
        );
        let b = BATCH as usize;
        let glue: Vec<Dispatch> = vec![
            random::advance(&gpu, &counters, 0)?,
            random::fill(
                &gpu,
                Distribution::Indices(dataset.count),
                seed,
                crate::streams::CLASSIFIER_INDICES,
                &counters,
                0,
                &index,
                b,
            )?,
            tensor::gather_u8(
                &gpu,
                &dataset.pixels,
                dataset.count as usize,
                dataset.row_len as usize,
                &index,
                b,
                &f_pass.input,
            )?,
            condition::gather_labels(
                &gpu,
                labels,
                dataset.count as usize,
                &index,
                BATCH,
                &batch_labels,
            )?,
        ];
        let loss = softmax::cross_entropy(
            &gpu,
            &h_pass.output,
            &batch_labels,
            BATCH,
            classes,
            &h_pass.doutput,
            &stats,
            0,
            LossOptions::default(),
        )?;
        let adam = Adam::new(
            &gpu,
            AdamConfig {
                lr: 1e-3,
                ..AdamConfig::default()
            },
            &counters,
            1,
        )?;
        let mut updates = vec![adam.tick(&gpu)?];
        for p in features.all_params().chain(head.all_params()) {
            updates.push(adam.update(
                &gpu,
                &p.value,
                &p.grad,
                &p.state[0],
                &p.state[1],
                p.len(),
            )?);
        }
        let mut done = 0;
        while done < steps {
            let burst = (steps - done).min(16);
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for _ in 0..burst {
                    glue.iter().for_each(|d| d.record(&mut pass));
                    f_pass.record_forward(&mut pass);
                    h_pass.record_forward(&mut pass);
                    loss.record(&mut pass);
                    h_pass.record_backward(&mut pass);
                    f_pass.record_backward(&mut pass);
                    updates.iter().for_each(|d| d.record(&mut pass));
                }
            }
            gpu.queue.submit([encoder.finish()]);
            done += burst;
        }
        let s = gpu.read_f32(&stats).await?;
        Ok(Classifier {
            gpu,
            features,
            head,
            accuracy: Some(s[1] / BATCH as f32),
        })
    }
}

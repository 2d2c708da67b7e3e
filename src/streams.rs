//! Every RNG stream webgan draws from, in one place, for the GPU and the reference alike.
//!
//! A draw is named by (seed, stream, step): two purposes that shared a stream would see the
//! same numbers (a latent walk's ends the same as the quality measure's noise, say), so each
//! purpose has its own stream or its own range of them, and the ranges do not meet.

/// The real batch's dataset indices, per D step.
pub const BATCH_INDICES: u32 = 1;
/// The second domain's batch of a two-domain recipe (CycleGAN's B).
pub const SECOND_BATCH_INDICES: u32 = 4;
/// z for G, per D step and G step.
pub const NOISE: u32 = 2;
/// The classes of a conditional G's fakes, or the values of InfoGAN's categorical code (a
/// model has one or the other).
pub const FAKE_CLASSES: u32 = 3;
/// InfoGAN's continuous codes, per D step and G step.
pub const CONTINUOUS_CODES: u32 = 6;
/// WGAN-GP's interpolation weights, one per sample, per D step.
pub const PENALTY_MIX: u32 = 5;
/// DiffAugment's per-sample parameters, one stream per augmented pass:
/// AUGMENT ..= AUGMENT + MAX_AUGMENT_PASSES - 1. The real and the fake batch (and each of
/// several D passes per step) need their own, or they would be translated and cut alike.
pub const AUGMENT: u32 = 10;
pub const MAX_AUGMENT_PASSES: u32 = 10;
/// CycleGAN's image pools (a history of fakes D is shown), one stream per pool:
/// IMAGE_POOL ..= IMAGE_POOL + MAX_IMAGE_POOLS - 1. fake_A's and fake_B's pools need their
/// own, or both would keep or swap the same batch positions every step.
pub const IMAGE_POOL: u32 = 20;
pub const MAX_IMAGE_POOLS: u32 = 10;
/// The quality classifier's batch indices.
pub const CLASSIFIER_INDICES: u32 = 7;
/// The fixed noise behind a run's sample grid (and `webgan sample --seed`); never used by
/// training.
pub const FIXED_NOISE: u32 = 9;
/// The generated images of the quality measure, step = chunk.
pub const QUALITY_NOISE: u32 = 30;
/// InfoGAN's continuous codes of those images, step = chunk.
pub const QUALITY_CODES: u32 = 8;
/// Dropout masks, one stream per dropout layer: DROPOUT ..= DROPOUT + MAX_DROPOUT_LAYERS - 1.
/// Two layers that shared a stream would drop the same elements of their tensors every step.
pub const DROPOUT: u32 = 40;
pub const MAX_DROPOUT_LAYERS: u32 = 50;
/// pix2pix's and CycleGAN's random crops and flips, one stream per independently jittered
/// batch: JITTER ..= JITTER + MAX_JITTERS - 1. Both images of a pix2pix pair take the same
/// stream, as they must be cropped alike; CycleGAN's two domains take one each, or A and B
/// would be cropped alike every step.
pub const JITTER: u32 = 90;
pub const MAX_JITTERS: u32 = 10;
/// Latent walks, one stream per walk: WALKS ..= WALKS + MAX_WALKS - 1.
const WALKS: u32 = 100;
pub const MAX_WALKS: u32 = 800;
/// Parameter initialisation: [`INIT_PER_LAYER`] streams per layer from here up, a layer's k-th
/// tensor drawing from its k-th (the weight from the first, as before spectral norm brought
/// layers with three random tensors: weight_orig, weight_u, weight_v).
pub const INIT: u32 = 1000;
pub const INIT_PER_LAYER: u32 = 8;

/// The stream of latent walk `i` (a row of `webgan interpolate`, the page's walk).
pub fn walk(i: u32) -> u32 {
    assert!(i < MAX_WALKS, "walk {i} is past the walks' streams");
    WALKS + i
}

/// The stream of augmented pass `k`'s parameters (real batch, fake batch, …).
pub fn augment(k: u32) -> u32 {
    assert!(
        k < MAX_AUGMENT_PASSES,
        "augmented pass {k} is past the augmentation streams"
    );
    AUGMENT + k
}

/// The stream of image pool `k`'s decisions (fake_A's pool, fake_B's, …).
pub fn image_pool(k: u32) -> u32 {
    assert!(
        k < MAX_IMAGE_POOLS,
        "image pool {k} is past the image pools' streams"
    );
    IMAGE_POOL + k
}

/// The stream of jittered batch `k`'s crops and flips (pix2pix's pair, CycleGAN's A, its B).
pub fn jitter(k: u32) -> u32 {
    assert!(
        k < MAX_JITTERS,
        "jittered batch {k} is past the jitter streams"
    );
    JITTER + k
}

/// The stream of dropout layer `k`'s masks.
pub fn dropout(k: u32) -> u32 {
    assert!(
        k < MAX_DROPOUT_LAYERS,
        "dropout layer {k} is past the dropout streams"
    );
    DROPOUT + k
}

/// The stream of layer `k`'s initialisation.
pub fn init(k: u32) -> u32 {
    INIT + k * INIT_PER_LAYER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_purposes_share_a_stream() {
        let mut singles = vec![
            BATCH_INDICES,
            SECOND_BATCH_INDICES,
            NOISE,
            FAKE_CLASSES,
            CLASSIFIER_INDICES,
            FIXED_NOISE,
            QUALITY_NOISE,
        ];
        singles.sort_unstable();
        singles.dedup();
        assert_eq!(singles.len(), 7);
        let walks = walk(0)..=walk(MAX_WALKS - 1);
        let dropouts = dropout(0)..=dropout(MAX_DROPOUT_LAYERS - 1);
        let augments = augment(0)..=augment(MAX_AUGMENT_PASSES - 1);
        let pools = image_pool(0)..=image_pool(MAX_IMAGE_POOLS - 1);
        let jitters = jitter(0)..=jitter(MAX_JITTERS - 1);
        assert!(singles.iter().all(|s| !walks.contains(s)
            && !dropouts.contains(s)
            && !augments.contains(s)
            && !pools.contains(s)
            && !jitters.contains(s)
            && *s < INIT));
        assert!(*augments.end() < *pools.start());
        assert!(*pools.end() < *dropouts.start());
        assert!(*dropouts.end() < *jitters.start() && *jitters.end() < *walks.start());
        assert!(*walks.end() < INIT);
    }
}

//! Class conditioning kernels against the reference, on odd sizes.

use crate::common;

use common::*;
use webgan::kernels::condition::{self, ConditionShape};
use webgan::reference;

#[test]
fn labels_onehot_and_channel_slices_match_reference() {
    let g = gpu();
    for s in [
        ConditionShape {
            batch: 1,
            channels: 1,
            pixels: 1,
            classes: 1,
        },
        ConditionShape {
            batch: 3,
            channels: 5,
            pixels: 1,
            classes: 10,
        },
        ConditionShape {
            batch: 5,
            channels: 3,
            pixels: 7 * 5,
            classes: 4,
        },
        ConditionShape {
            batch: 2,
            channels: 1,
            pixels: 300,
            classes: 2,
        },
    ] {
        let mut rng = Rng::new(12);
        // A dataset of 9 labels; the batch picks some by index, as the trainer does.
        let labels: Vec<u32> = (0..9).map(|_| rng.below(s.classes as u64) as u32).collect();
        let index: Vec<u32> = (0..s.batch).map(|_| rng.below(9) as u32).collect();
        let picked: Vec<u32> = index.iter().map(|&i| labels[i as usize]).collect();
        let x = rng.vec(s.plain_len());
        let (labels_b, index_b) = (
            g.storage_from("labels", &labels),
            g.storage_from("index", &index),
        );
        let picked_b = g.storage("picked", s.batch as usize);
        let (xb, out, back) = (
            upload(&x),
            g.storage("out", s.conditioned_len()),
            g.storage("back", s.plain_len()),
        );
        g.run(&[
            &condition::gather_labels(g, &labels_b, 9, &index_b, s.batch, &picked_b).unwrap(),
            &condition::append_onehot(g, &s, &xb, &picked_b, &out).unwrap(),
            &condition::take_channels(g, &s, &out, &back).unwrap(),
        ]);
        assert_eq!(
            &g.read_u32_blocking(&picked_b).unwrap()[..s.batch as usize],
            &picked[..],
            "{s:?}"
        );
        let want = reference::condition::append_onehot(&s, &x, &picked);
        assert_eq!(
            download(&out, want.len()),
            want,
            "{s:?}: copies and 0/1 are exact"
        );
        assert_eq!(
            download(&back, x.len()),
            reference::condition::take_channels(&s, &want),
            "{s:?}"
        );
        assert_eq!(reference::condition::take_channels(&s, &want), x);
    }
}

#[test]
fn bad_shapes_are_refused() {
    let g = gpu();
    let s = ConditionShape {
        batch: 2,
        channels: 3,
        pixels: 4,
        classes: 0,
    };
    let b = g.storage("b", 100);
    assert!(
        condition::append_onehot(g, &s, &b, &b, &b).is_err(),
        "zero classes"
    );
    let s = ConditionShape { classes: 10, ..s };
    let small = g.storage("small", 24);
    assert!(
        condition::append_onehot(g, &s, &small, &small, &small).is_err(),
        "output too short"
    );
}

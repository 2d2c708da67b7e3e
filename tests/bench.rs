//! The kernel benchmark's table, on a tiny batch: every layer's three passes are timed, and
//! with `entries` each dispatch of a pass is timed alone under its entry point. Only the shape
//! of the report is checked here; speed belongs to the benchmark itself.

use crate::common;

use common::gpu;
use webgan::bench;

#[test]
fn kernel_table_names_each_pass_and_its_entries() {
    let g = gpu();
    let mut reported = 0;
    let timings = bench::kernels(g, "dcgan28", 2, 0.0, true, &[], |_| reported += 1)
        .expect("the dcgan28 layers at batch 2");
    assert_eq!(
        reported,
        timings.len(),
        "every timing is reported as it comes"
    );
    // Six layers (G's dense and two transposed convs, D's two convs and its dense), three
    // passes each.
    assert_eq!(timings.len(), 18);
    for t in &timings {
        assert!(t.ms.is_finite() && t.ms >= 0.0, "{}: {} ms", t.kernel, t.ms);
        assert!(!t.entries.is_empty(), "{} has no entries", t.kernel);
        assert!(
            t.entries.iter().any(|(e, _)| *e == "main"),
            "{}: every pass has a GEMM, got {:?}",
            t.kernel,
            t.entries
        );
    }
    // G's output layer (one channel) goes through columns: its forward ends with col2im, and
    // its 64-channel input of 14×14 pixels is read in place, unpacked.
    let out = timings
        .iter()
        .find(|t| t.kernel.contains("64→1") && t.kernel.ends_with("forward"))
        .expect("G's output layer");
    let names: Vec<_> = out.entries.iter().map(|(e, _)| *e).collect();
    assert_eq!(names, ["pack_a", "main", "col2im"]);

    let plain = bench::kernels(g, "matmul", 1, 0.0, false, &[], |_| {}).expect("the matmul");
    assert!(plain.iter().all(|t| t.entries.is_empty()));
}

#[test]
fn kernel_table_keeps_only_the_layers_asked_for() {
    let only = ["convT 64→1 ".to_string(), "conv 1→64 ".to_string()];
    let timings = bench::kernels(gpu(), "dcgan28", 2, 0.0, false, &only, |_| {})
        .expect("two dcgan28 layers at batch 2");
    let names: Vec<_> = timings.iter().map(|t| t.kernel.as_str()).collect();
    assert_eq!(names.len(), 6, "two layers, three passes each: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.contains("64→1") || n.contains("1→64")),
        "{names:?}"
    );
    let presets = ["dcgan28".to_string(), "dcgan64".to_string()];
    assert!(bench::any_layer_named(&presets, &only));
    assert!(
        !bench::any_layer_named(&presets, &["conv 2→64".to_string()]),
        "a name no layer has is caught before any timing"
    );
}

#[test]
fn attention_rows_follow_the_matmul_and_count_the_backward_twice() {
    let timings = bench::kernels(gpu(), "attention", 1, 0.0, true, &[], |_| {})
        .expect("the attention block at batch 1");
    let names: Vec<_> = timings.iter().map(|t| t.kernel.as_str()).collect();
    assert_eq!(
        names,
        [
            "matmul 1024³ forward",
            "self-attention forward",
            "self-attention backward"
        ]
    );
    let (forward, backward) = (&timings[1], &timings[2]);
    assert!(forward.gflop > 0.0 && (backward.gflop - 2.0 * forward.gflop).abs() < 1e-9);
    // Each dispatch timed alone: the convs, the two products, the softmax, the residual.
    assert!(forward.entries.iter().any(|(e, _)| *e == "softmax_forward"));
    assert!(forward.entries.iter().all(|&(_, ms)| ms > 0.0));
}

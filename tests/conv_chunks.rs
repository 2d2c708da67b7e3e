//! Batches too large for the conv scratch buffers are cut into chunks of images. The buffers
//! are made tiny here, so that ordinary odd shapes need several chunks, and every pass must
//! still match the reference (a weight gradient sums over chunks; gathers write each chunk's
//! own images). Its own test binary: the scratch size is fixed at the device's first conv.

mod common;

use common::layer_case::*;
use common::*;
use webgan::kernels::conv2d::{Conv2dShape, Padding};
use webgan::kernels::conv_transpose2d::ConvTranspose2dShape;
use webgan::kernels::dense::DenseShape;
use webgan::reference;

#[test]
fn batches_cut_into_chunks_match_reference() {
    let g = gpu();
    assert!(
        g.init_conv_scratch(4000, 4000),
        "nothing may use the scratch before this test sizes it"
    );
    let mut rng = Rng::new(21);

    let conv = Conv2dShape {
        batch: 5,
        in_channels: 3,
        out_channels: 7,
        height: 9,
        width: 11,
        kernel_h: 3,
        kernel_w: 3,
        stride: 2,
        padding: Padding::Explicit(1),
    };
    let (x, w, b) = (
        rng.vec(conv.input_len()),
        rng.vec(conv.weight_len()),
        rng.vec(7),
    );
    let dy = rng.vec(conv.output_len().unwrap());
    // Each pass packs one GEMM per chunk: more dispatches than the three of a whole batch.
    let forward = conv
        .forward(g, &upload(&x), &upload(&w), None, &g.storage("y", dy.len()))
        .unwrap();
    assert!(
        forward.dispatch_count() > 3,
        "batch 5 should not fit 4000 floats of scratch in one chunk"
    );
    let y = reference::conv2d::forward(&conv, &x, &w, Some(&b));
    let (dx, dw, db) = reference::conv2d::backward(&conv, &x, &w, &dy);
    let case = Case {
        name: format!("{conv:?}"),
        x: &x,
        w: &w,
        b: &b,
        dy: &dy,
        want: (y, dx, dw, db),
    };
    check_on_gpu(case, &|x, w, b, y, dy, dx, dw, db, acc| {
        vec![
            conv.forward(g, x, w, Some(b), y).unwrap(),
            conv.backward_input(g, dy, w, dx, acc).unwrap(),
            conv.backward_weight(g, x, dy, dw, acc).unwrap(),
            conv.backward_bias(g, dy, db, acc).unwrap(),
        ]
    });

    let convt = ConvTranspose2dShape {
        batch: 5,
        in_channels: 6,
        out_channels: 3,
        height: 5,
        width: 4,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    };
    let (x, w, b) = (
        rng.vec(convt.input_len()),
        rng.vec(convt.weight_len()),
        rng.vec(3),
    );
    let dy = rng.vec(convt.output_len().unwrap());
    let y = reference::conv_transpose2d::forward(&convt, &x, &w, Some(&b));
    let (dx, dw, db) = reference::conv_transpose2d::backward(&convt, &x, &w, &dy);
    let case = Case {
        name: format!("{convt:?}"),
        x: &x,
        w: &w,
        b: &b,
        dy: &dy,
        want: (y, dx, dw, db),
    };
    check_on_gpu(case, &|x, w, b, y, dy, dx, dw, db, acc| {
        vec![
            convt.forward(g, x, w, Some(b), y).unwrap(),
            convt.backward_input(g, dy, w, dx, acc).unwrap(),
            convt.backward_weight(g, x, dy, dw, acc).unwrap(),
            convt.backward_bias(g, dy, db, acc).unwrap(),
        ]
    });

    // 17 images need 24 packed columns of 204 floats: more than 4000.
    let dense = DenseShape {
        batch: 17,
        in_features: 201,
        out_features: 13,
    };
    let (x, w, b) = (rng.vec(17 * 201), rng.vec(13 * 201), rng.vec(13));
    let dy = rng.vec(17 * 13);
    let y = reference::dense::forward(&dense, &x, &w, Some(&b));
    let (dx, dw, db) = reference::dense::backward(&dense, &x, &w, &dy);
    let case = Case {
        name: format!("{dense:?}"),
        x: &x,
        w: &w,
        b: &b,
        dy: &dy,
        want: (y, dx, dw, db),
    };
    check_on_gpu(case, &|x, w, b, y, dy, dx, dw, db, acc| {
        vec![
            dense.forward(g, x, w, Some(b), y).unwrap(),
            dense.backward_input(g, dy, w, dx, acc).unwrap(),
            dense.backward_weight(g, x, dy, dw, acc).unwrap(),
            dense.backward_bias(g, dy, db, acc).unwrap(),
        ]
    });

    // One image whose operands cannot fit is a shape error, not a wrong answer.
    let huge = Conv2dShape {
        batch: 1,
        in_channels: 64,
        out_channels: 8,
        height: 16,
        width: 16,
        ..conv
    };
    let err = huge
        .forward(
            g,
            &g.storage("x", huge.input_len()),
            &g.storage("w", huge.weight_len()),
            None,
            &g.storage("y", huge.output_len().unwrap()),
        )
        .err()
        .expect("should not fit");
    assert!(err.to_string().contains("scratch"), "{err}");
}

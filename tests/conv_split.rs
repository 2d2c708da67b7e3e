//! One image too large for a binding is cut into pieces: a gather's reduction into groups of
//! x's channels (each group's sum added into out, the bias with the first, the rectifier with
//! the last), a weight gradient's into bands of pixels (summed band by band). The binding is
//! capped low here, so that small odd shapes are cut as CycleGAN's and pix2pix's large images
//! are at 128 MiB, and every pass must still match the reference. Its own test binary: the cap
//! and the scratch size hold for the whole device.

mod common;

use common::layer_case::*;
use common::*;
use webgan::kernels::conv2d::{Conv2dShape, Padding};
use webgan::kernels::conv_transpose2d::ConvTranspose2dShape;
use webgan::kernels::dense::DenseShape;

/// Floats a conv may bind at once here: a few hundred columns of a few channels.
const CAP: usize = 2500;

/// Pack A, pack B and the GEMM: what a pass of one chunk and no split records.
const ONE_CHUNK: usize = 3;

#[test]
fn images_past_the_binding_are_cut_and_match_the_reference() {
    let g = gpu();
    assert!(
        g.init_conv_scratch(600, 600),
        "nothing may use the scratch before this test sizes it"
    );
    g.cap_conv_binding(CAP);
    // Stride 1, odd sizes: B is 64 × 104 floats per image; its groups are 2, 2, 2 and 1 of
    // 7 channels. The input gradient (from 5 channels, 48 × 104) and the weight gradient
    // (100 pixels × 64 columns: bands of 36 pixels, across rows of 11) are cut too.
    let conv = Conv2dShape {
        batch: 2,
        in_channels: 7,
        out_channels: 5,
        height: 9,
        width: 11,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        padding: Padding::Explicit(1),
    };
    // Stride 2 and 4-wide taps (the weight gradient's two-row pack path), 13 × 10.
    let conv2 = Conv2dShape {
        batch: 3,
        in_channels: 6,
        out_channels: 9,
        height: 13,
        width: 10,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: Padding::Explicit(1),
    };
    // Up-sampling 4 × 4 stride 2 whose phases share one B of 9 shifts per channel: groups of
    // 5, 5 and 4 channels.
    let convt = ConvTranspose2dShape {
        batch: 2,
        in_channels: 14,
        out_channels: 5,
        height: 7,
        width: 6,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    };
    // Phases of their own: 3 × 3 stride 2, to 15 × 13.
    let convt_odd = ConvTranspose2dShape {
        in_channels: 9,
        out_channels: 6,
        height: 8,
        width: 7,
        kernel_h: 3,
        kernel_w: 3,
        padding: 1,
        output_padding: 0,
        ..convt
    };
    // Stride 1, 5 × 5 taps.
    let convt_1 = ConvTranspose2dShape {
        in_channels: 8,
        out_channels: 6,
        height: 7,
        width: 5,
        kernel_h: 5,
        kernel_w: 5,
        stride: 1,
        padding: 2,
        output_padding: 0,
        ..convt
    };
    // Up-sampling one image to 8 channels: the GEMM reads A from the weights in place, group
    // by group of channels (no pack A: two dispatches a piece).
    let convt_8 = ConvTranspose2dShape {
        batch: 1,
        out_channels: 8,
        ..convt
    };
    // A dense layer: one image's 401 features pack 404 × 8 floats.
    let dense = DenseShape {
        batch: 3,
        in_features: 401,
        out_features: 13,
    };
    for (name, dispatches) in [
        ("conv", pass_dispatches(&conv)),
        ("conv stride 2", pass_dispatches(&conv2)),
        ("convT", pass_dispatches(&convt)),
        ("convT odd", pass_dispatches(&convt_odd)),
        ("convT stride 1", pass_dispatches(&convt_1)),
    ] {
        // Forward, input gradient and weight gradient: more pieces than images.
        for (pass, count) in dispatches[..3].iter().enumerate() {
            assert!(
                *count > 3 * ONE_CHUNK,
                "{name}: pass {pass} should be cut: {count} dispatches"
            );
        }
    }
    assert!(pass_dispatches(&dense)[0] > 3 * ONE_CHUNK);
    // Pack B and the GEMM per group of channels.
    let forward_8 = pass_dispatches(&convt_8)[0];
    assert!(
        forward_8 > 2 && forward_8.is_multiple_of(2),
        "convT to 8: the forward pass should be cut: {forward_8} dispatches"
    );
    check_layer(&conv, 41);
    check_layer(&conv2, 42);
    check_layer(&convt, 43);
    check_layer(&convt_odd, 44);
    check_layer(&convt_1, 45);
    check_layer(&dense, 46);
    check_layer(&convt_8, 53);
    // The epilogue's rectifier applies to the whole sum: once, by the last group.
    for slope in [0.0, 0.2] {
        check_rectified(&conv, slope, true, 47);
        check_rectified(&conv2, slope, false, 48);
        check_rectified(&convt, slope, true, 49);
        check_rectified(&convt_odd, slope, true, 50);
        check_rectified(&convt_8, slope, true, 54);
    }

    // A conv to 3 channels from 16 would go through columns (27 rows of taps at each of x's
    // 144 pixels), but its columns exceed the cap: it takes the packed GEMM, cut by channels.
    let few = Conv2dShape {
        batch: 1,
        in_channels: 16,
        out_channels: 3,
        height: 12,
        width: 12,
        ..conv
    };
    let forward = &zeroed_passes(&few)[0];
    assert!(
        !forward.apart().iter().any(|d| d.label == "col_gather"),
        "the columns do not fit the cap"
    );
    check_layer(&few, 51);
    check_rectified(&few, 0.2, true, 52);

    // One channel of one image past the cap is refused in a sentence.
    let tall = Conv2dShape {
        batch: 1,
        in_channels: 2,
        out_channels: 3,
        height: 40,
        width: 40,
        ..conv
    };
    let err = tall
        .forward(
            g,
            &g.storage("x", tall.input_len()),
            &g.storage("w", tall.weight_len()),
            None,
            &g.storage("y", tall.output_len().unwrap()),
            None,
        )
        .err()
        .expect("9 taps of 1600 pixels should not fit 2500 floats");
    assert!(err.to_string().contains("binds at once"), "{err}");
}

//! The conv scratch buffers: batches too large for them are cut into chunks of images, and a
//! layer whose weights or single image need more makes them grow. The buffers start tiny here,
//! so that ordinary odd shapes need several chunks, and every pass must still match the
//! reference (a weight gradient sums over chunks; gathers write each chunk's own images). Its
//! own test binary: the scratch size is set before the device's first conv.

mod common;

use common::layer_case::*;
use common::*;
use webgan::kernels::conv2d::{Conv2dShape, Padding};
use webgan::kernels::conv_transpose2d::ConvTranspose2dShape;
use webgan::kernels::dense::DenseShape;

/// Pack A, pack B and the GEMM: what a pass of one chunk and no split records.
const ONE_CHUNK: usize = 3;

#[test]
fn scratch_chunks_batches_and_grows_for_wide_layers() {
    let g = gpu();
    assert!(
        g.init_conv_scratch(4000, 4000),
        "nothing may use the scratch before this test sizes it"
    );
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
    // 17 images need 24 packed columns of 204 floats: more than 4000.
    let dense = DenseShape {
        batch: 17,
        in_features: 201,
        out_features: 13,
    };
    let convt = ConvTranspose2dShape {
        batch: 5,
        in_channels: 6,
        // Five, not fewer: a forward pass to four channels or fewer skips the packs.
        out_channels: 5,
        height: 5,
        width: 4,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    };
    // One output channel goes through columns: 20 channels of 63 pixels pack 1280 floats per
    // image, so five images take two chunks, and so does the input gradient of a conv from
    // one channel (to 20, back down to 9 × 7).
    let convt_one = ConvTranspose2dShape {
        in_channels: 20,
        out_channels: 1,
        height: 9,
        width: 7,
        ..convt
    };
    let conv_one = Conv2dShape {
        in_channels: 1,
        out_channels: 20,
        height: 18,
        width: 14,
        kernel_h: 4,
        kernel_w: 4,
        ..conv
    };
    // Operands the GEMM reads in place, unpacked, across chunks: a weight gradient's output
    // gradient of 4 × 7 pixels, a transposed conv's input of 8 channels of 6 × 6 pixels.
    let conv_in_place = Conv2dShape {
        height: 8,
        width: 14,
        ..conv
    };
    let convt_in_place = ConvTranspose2dShape {
        batch: 20,
        in_channels: 8,
        out_channels: 1,
        height: 6,
        width: 6,
        ..convt
    };
    // A dense layer's weight gradient reads x in place, image batch0 + k for row k of B.
    let dense_in_place = DenseShape {
        in_features: 240,
        ..dense
    };
    let in_place = pass_dispatches(&dense_in_place)[2];
    assert_eq!(
        in_place, 4,
        "pack A and the GEMM, in two chunks (16 images and 1)"
    );
    let in_place = pass_dispatches(&conv_in_place)[2];
    assert!(
        in_place >= 4,
        "pack B and the GEMM, in more than one chunk: got {in_place} dispatches"
    );
    for (name, dispatches) in [
        (
            "convT to one channel read in place",
            pass_dispatches(&convt_in_place)[0],
        ),
        ("conv", pass_dispatches(&conv)[0]),
        ("dense", pass_dispatches(&dense)[0]),
        ("convT", pass_dispatches(&convt)[0]),
        ("convT to one channel", pass_dispatches(&convt_one)[0]),
        (
            "d input of a conv from one channel",
            pass_dispatches(&conv_one)[1],
        ),
    ] {
        assert!(dispatches > ONE_CHUNK + 1, "{name} should be chunked");
    }
    check_layer(&conv, 21);
    check_layer(&dense, 22);
    check_layer(&convt, 23);
    check_layer(&convt_one, 25);
    check_layer(&conv_one, 26);
    check_layer(&conv_in_place, 27);
    check_layer(&convt_in_place, 28);
    check_layer(&dense_in_place, 29);

    // One image of this layer packs 576 × 64 floats: the scratch grows, and the result holds.
    let wide = Conv2dShape {
        batch: 2,
        in_channels: 64,
        out_channels: 8,
        height: 16,
        width: 16,
        ..conv
    };
    check_layer(&wide, 24);

    // One image whose packs exceed what a device binds is cut into groups of channels (see
    // conv_split.rs); one channel of one that still does (81 × 518400 floats against 128 MiB)
    // is a shape error that says so.
    let huge = Conv2dShape {
        batch: 1,
        in_channels: 1,
        out_channels: 1,
        height: 720,
        width: 720,
        kernel_h: 9,
        kernel_w: 9,
        stride: 1,
        padding: Padding::Explicit(4),
    };
    let err = huge
        .forward(
            g,
            &g.storage("x", huge.input_len()),
            &g.storage("w", huge.weight_len()),
            None,
            &g.storage("y", huge.output_len().unwrap()),
            None,
        )
        .err()
        .expect("should not fit a 128 MiB binding");
    assert!(err.to_string().contains("binds at once"), "{err}");

    // The same for the columns of a transposed conv to one channel: 81 taps at each of
    // 720 × 720 input pixels are 42 M floats, though x and its packs are small.
    let tall = ConvTranspose2dShape {
        batch: 1,
        in_channels: 1,
        out_channels: 1,
        height: 720,
        width: 720,
        kernel_h: 9,
        kernel_w: 9,
        stride: 1,
        padding: 0,
        output_padding: 0,
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
        .expect("columns of 42 M floats should not fit a 128 MiB binding");
    let message = err.to_string();
    assert!(
        message.contains("conv_transpose2d") && message.contains("binds at once"),
        "{message}"
    );
}

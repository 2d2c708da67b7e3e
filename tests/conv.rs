//! dense, conv2d and transposed conv2d: the references against central differences, and the
//! GPU's implicit-GEMM engine against the references on awkward shapes (tolerances in
//! `common/layer_case.rs`).

use crate::common;

use common::layer_case::*;
use common::*;
use webgan::kernels::conv2d::{Conv2dShape, Padding};
use webgan::kernels::conv_transpose2d::ConvTranspose2dShape;
use webgan::kernels::dense::DenseShape;
use webgan::reference;

#[test]
fn dense_reference_gradients_match_central_differences() {
    let s = DenseShape {
        batch: 3,
        in_features: 5,
        out_features: 4,
    };
    let mut rng = Rng::new(1);
    let (x, w, b) = (rng.vec(15), rng.vec(20), rng.vec(4));
    let proj = rng.vec(12);
    let (dx, dw, db) = reference::dense::backward(&s, &x, &w, &proj);
    let f =
        |x: &[f64], w: &[f64], b: &[f64]| dot(&proj, &reference::dense::forward(&s, x, w, Some(b)));
    assert_gradient("dense dinput", &dx, &numeric_gradient(&x, |x| f(x, &w, &b)));
    assert_gradient(
        "dense dweight",
        &dw,
        &numeric_gradient(&w, |w| f(&x, w, &b)),
    );
    assert_gradient("dense dbias", &db, &numeric_gradient(&b, |b| f(&x, &w, b)));
}

/// A square-kernel convolution.
#[allow(clippy::too_many_arguments)]
fn conv2d(
    batch: u32,
    ci: u32,
    co: u32,
    h: u32,
    w: u32,
    k: u32,
    stride: u32,
    padding: Padding,
) -> Conv2dShape {
    Conv2dShape {
        batch,
        in_channels: ci,
        out_channels: co,
        height: h,
        width: w,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
    }
}

fn conv_shapes() -> Vec<Conv2dShape> {
    let s = conv2d;
    vec![
        s(1, 1, 1, 3, 5, 3, 1, Padding::Explicit(0)),
        s(2, 3, 5, 7, 7, 3, 2, Padding::Explicit(1)),
        s(1, 2, 3, 5, 3, 5, 1, Padding::Explicit(2)),
        s(3, 5, 7, 8, 6, 4, 2, Padding::Explicit(1)),
        s(2, 3, 2, 7, 5, 4, 2, Padding::Same),
        s(1, 2, 3, 6, 7, 3, 1, Padding::Same),
        s(1, 1, 2, 5, 5, 2, 2, Padding::Same),
        Conv2dShape {
            kernel_h: 3,
            kernel_w: 5,
            ..s(2, 2, 3, 6, 9, 0, 1, Padding::Explicit(1))
        },
        // 8 channels in, kernel 2 · stride, few columns: the input gradient reads A from the
        // weights in place (see convt_shapes).
        s(2, 8, 5, 7, 6, 4, 2, Padding::Explicit(1)),
        // And at stride 1, where a vec4 of A is 4 taps in a row of a channel's kernel: 4 × 4
        // (the PatchGAN's), and 3 × 4 (12 taps a channel).
        s(1, 8, 3, 6, 5, 4, 1, Padding::Explicit(1)),
        Conv2dShape {
            kernel_h: 3,
            kernel_w: 4,
            ..s(1, 16, 2, 5, 7, 0, 1, Padding::Explicit(1))
        },
        // `same` with a 2×5 kernel pads 0 rows on top but 2 columns on the left.
        Conv2dShape {
            kernel_h: 2,
            kernel_w: 5,
            ..s(1, 2, 3, 5, 6, 0, 1, Padding::Same)
        },
    ]
}

#[test]
fn conv2d_reference_gradients_match_central_differences() {
    for s in conv_shapes().into_iter().take(6) {
        let mut rng = Rng::new(2);
        let x = rng.vec(s.input_len());
        let w = rng.vec(s.weight_len());
        let b = rng.vec(s.out_channels as usize);
        let proj = rng.vec(s.output_len().unwrap());
        let (dx, dw, db) = reference::conv2d::backward(&s, &x, &w, &proj);
        let f = |x: &[f64], w: &[f64], b: &[f64]| {
            dot(&proj, &reference::conv2d::forward(&s, x, w, Some(b)))
        };
        assert_gradient(
            &format!("conv2d dinput {s:?}"),
            &dx,
            &numeric_gradient(&x, |x| f(x, &w, &b)),
        );
        assert_gradient(
            &format!("conv2d dweight {s:?}"),
            &dw,
            &numeric_gradient(&w, |w| f(&x, w, &b)),
        );
        assert_gradient(
            &format!("conv2d dbias {s:?}"),
            &db,
            &numeric_gradient(&b, |b| f(&x, &w, b)),
        );
    }
}

#[test]
fn conv2d_same_padding_matches_tensorflow() {
    // 5 wide, kernel 4, stride 2 → out 3, total padding (3−1)·2 + 4 − 5 = 3: 1 left, 2 right.
    let s = Conv2dShape {
        batch: 1,
        in_channels: 1,
        out_channels: 1,
        height: 5,
        width: 5,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: Padding::Same,
    };
    assert_eq!(s.output().unwrap(), (3, 3, 1, 1));
    // Kernel 2, stride 1 on 4 pixels: total padding 1, all of it at the bottom/right.
    let s = Conv2dShape {
        height: 4,
        width: 4,
        kernel_h: 2,
        kernel_w: 2,
        stride: 1,
        ..s
    };
    assert_eq!(s.output().unwrap(), (4, 4, 0, 0));
    // With all-ones input and weights, the last output pixel sees the padded zeros only on
    // the bottom/right: a 1×1 window → 1; the first sees the full 2×2 → 4.
    let out = reference::conv2d::forward(&s, &[1.0; 16], &[1.0; 4], None);
    assert_eq!((out[0], out[15]), (4.0, 1.0));
}

/// A square-kernel transposed convolution.
#[allow(clippy::too_many_arguments)]
fn convt(
    batch: u32,
    ci: u32,
    co: u32,
    h: u32,
    w: u32,
    k: u32,
    stride: u32,
    padding: u32,
    output_padding: u32,
) -> ConvTranspose2dShape {
    ConvTranspose2dShape {
        batch,
        in_channels: ci,
        out_channels: co,
        height: h,
        width: w,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
        output_padding,
    }
}

fn convt_shapes() -> Vec<ConvTranspose2dShape> {
    let s = convt;
    vec![
        s(1, 1, 1, 3, 5, 3, 1, 0, 0),
        s(2, 3, 5, 4, 4, 4, 2, 1, 0),
        s(1, 2, 3, 3, 5, 5, 2, 2, 1),
        s(3, 5, 7, 7, 7, 4, 2, 1, 0),
        s(2, 3, 2, 3, 3, 3, 2, 1, 1),
        s(1, 4, 3, 1, 1, 4, 1, 0, 0),
        // 8 and 16 channels out, kernel 2 · stride, few columns: the GEMM reads A from the
        // weights in place, one channel's 2 × 2 taps of a phase per vec4.
        s(2, 3, 8, 3, 4, 4, 2, 1, 0),
        s(1, 5, 16, 4, 3, 2, 1, 0, 0),
        s(2, 3, 8, 3, 4, 4, 1, 1, 0),
    ]
}

#[test]
fn conv_transpose2d_reference_gradients_match_central_differences() {
    for s in convt_shapes() {
        let mut rng = Rng::new(3);
        let x = rng.vec(s.input_len());
        let w = rng.vec(s.weight_len());
        let b = rng.vec(s.out_channels as usize);
        let proj = rng.vec(s.output_len().unwrap());
        let (dx, dw, db) = reference::conv_transpose2d::backward(&s, &x, &w, &proj);
        let f = |x: &[f64], w: &[f64], b: &[f64]| {
            dot(
                &proj,
                &reference::conv_transpose2d::forward(&s, x, w, Some(b)),
            )
        };
        assert_gradient(
            &format!("convT dinput {s:?}"),
            &dx,
            &numeric_gradient(&x, |x| f(x, &w, &b)),
        );
        assert_gradient(
            &format!("convT dweight {s:?}"),
            &dw,
            &numeric_gradient(&w, |w| f(&x, w, &b)),
        );
        assert_gradient(
            &format!("convT dbias {s:?}"),
            &db,
            &numeric_gradient(&b, |b| f(&x, &w, b)),
        );
    }
}

#[test]
fn conv_transpose2d_output_sizes_follow_pytorch() {
    // DCGAN's 4×4 stride-2 padding-1 layer doubles the size.
    let s = ConvTranspose2dShape {
        batch: 1,
        in_channels: 1,
        out_channels: 1,
        height: 7,
        width: 7,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    };
    assert_eq!(s.output().unwrap(), (14, 14));
    let s = ConvTranspose2dShape {
        kernel_h: 3,
        kernel_w: 3,
        output_padding: 1,
        ..s
    };
    assert_eq!(s.output().unwrap(), (14, 14));
    assert!(ConvTranspose2dShape {
        output_padding: 2,
        ..s
    }
    .output()
    .is_err());
}

#[test]
fn dense_on_gpu_matches_reference() {
    let shapes = [
        (1, 1, 1),
        (1, 3, 5),
        (7, 13, 3),
        (5, 100, 70),
        (65, 67, 129),
        (2, 300, 1),
    ];
    for (batch, fin, fout) in shapes {
        let s = DenseShape {
            batch,
            in_features: fin,
            out_features: fout,
        };
        check_layer(&s, 4);
    }
}

#[test]
fn conv2d_on_gpu_matches_reference() {
    let mut shapes = conv_shapes();
    // Channels that are not a multiple of the 8-row block, and more than one workgroup of rows.
    shapes.push(Conv2dShape {
        batch: 2,
        in_channels: 3,
        out_channels: 67,
        height: 9,
        width: 9,
        kernel_h: 3,
        kernel_w: 3,
        stride: 2,
        padding: Padding::Explicit(1),
    });
    for s in shapes {
        check_layer(&s, 5);
    }
}

#[test]
fn conv_transpose2d_on_gpu_matches_reference() {
    let mut shapes = convt_shapes();
    shapes.push(ConvTranspose2dShape {
        batch: 2,
        in_channels: 70,
        out_channels: 3,
        height: 3,
        width: 3,
        kernel_h: 4,
        kernel_w: 4,
        stride: 2,
        padding: 1,
        output_padding: 0,
    });
    for s in shapes {
        check_layer(&s, 6);
    }
}

#[test]
fn forward_without_bias_adds_nothing() {
    let g = gpu();
    let s = DenseShape {
        batch: 2,
        in_features: 3,
        out_features: 2,
    };
    let mut rng = Rng::new(7);
    let (x, w) = (rng.vec(6), rng.vec(6));
    let (xb, wb, y) = (upload(&x), upload(&w), g.storage("y", 4));
    g.run(&[&s.forward(g, &xb, &wb, None, &y, None).unwrap()]);
    assert_close(
        "dense no bias",
        &download(&y, 4),
        &reference::dense::forward(&s, &x, &w, None),
        ATOL,
        RTOL,
    );
}

#[test]
fn wrong_buffer_sizes_are_shape_errors() {
    let g = gpu();
    let s = Conv2dShape {
        batch: 2,
        in_channels: 3,
        out_channels: 4,
        height: 5,
        width: 5,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        padding: Padding::Explicit(1),
    };
    let x = g.storage("x", s.input_len());
    let w = g.storage("w", s.weight_len() - 1);
    let y = g.storage("y", s.output_len().unwrap());
    let err = s
        .forward(g, &x, &w, None, &y, None)
        .err()
        .expect("a short weight buffer must be refused");
    assert!(err.to_string().contains("conv2d"), "{err}");
    let bad = Conv2dShape {
        kernel_h: 9,
        kernel_w: 9,
        ..s
    };
    assert!(
        bad.output().is_err(),
        "a kernel larger than the padded input must be refused"
    );
    let zero = Conv2dShape {
        in_channels: 0,
        ..s
    };
    assert!(zero.output().is_err());
}

/// Shapes that reach the engine's special paths: reductions long enough to be split over
/// workgroups (checked by the extra dispatch they record), and transposed convolutions whose
/// stride exceeds the kernel, so that some output phases meet no tap at all (bias only).
#[test]
fn split_reductions_and_empty_phases_match_reference() {
    // A pass is pack A, pack B and the GEMM; a split reduction adds the sum of its slices.
    let unsplit = 3;
    // 3001 inputs, not a multiple of 4: the weights are packed, not read in place.
    let dense = DenseShape {
        batch: 2,
        in_features: 3001,
        out_features: 3,
    };
    assert_eq!(
        pass_dispatches(&dense)[0],
        unsplit + 1,
        "a 3001-long reduction over 6 outputs should be split"
    );
    check_layer(&dense, 10);

    // The weight gradient reduces over batch × 39 × 39 = 3042 pixels into 45 weights (five
    // channels: to fewer, it is summed directly; see the test below).
    let conv = Conv2dShape {
        batch: 2,
        in_channels: 1,
        out_channels: 5,
        height: 39,
        width: 39,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        padding: Padding::Explicit(1),
    };
    let [forward, _, dweight, _] = pass_dispatches(&conv);
    assert_eq!(dweight, unsplit + 1, "the weight gradient should be split");
    assert_eq!(forward, unsplit, "3042 output pixels need no split");
    check_layer(&conv, 11);
    // At 40 × 40 the output gradient is read in place (no pack A), and each split's share of
    // k starts inside an image.
    let conv = Conv2dShape {
        height: 40,
        width: 40,
        ..conv
    };
    assert_eq!(
        pass_dispatches(&conv)[2],
        unsplit,
        "pack B, the split GEMM and the sum"
    );
    check_layer(&conv, 13);
    // A forward pass split over 300 channels into 3 × 3 outputs: its blocks of 8 columns wrap
    // from one image to the next, and each slice places its partial sums column by column.
    let deep = Conv2dShape {
        batch: 3,
        in_channels: 300,
        out_channels: 5,
        height: 3,
        width: 3,
        ..conv
    };
    assert_eq!(
        pass_dispatches(&deep)[0],
        unsplit,
        "pack B, the split GEMM (the weights read in place) and the sum"
    );
    check_layer(&deep, 14);

    let s = |k, stride, padding, output_padding| {
        convt(2, 3, 5, 3, 4, k, stride, padding, output_padding)
    };
    for s in [s(1, 2, 0, 1), s(2, 3, 0, 2), s(3, 3, 1, 0)] {
        check_layer(&s, 12);
    }
}

/// A transposed gather with kernel 2 · stride, or at stride 1 with whole vec4s of taps, reads
/// A from the weights in place (no pack A) for GEMMs of at most 64 columns a phase, and packs
/// it for more, where the GEMM's own loads of A would cost more than the pack.
#[test]
fn weights_are_read_in_place_for_few_columns_only() {
    // Per phase, 2 images of 3 × 4 pixels: 24 columns. Pack B (shared shifts), the GEMM.
    let few = convt(2, 3, 8, 3, 4, 4, 2, 1, 0);
    assert_eq!(pass_dispatches(&few)[0], 2, "weights read in place");
    // 6 images: 72 columns a phase.
    let many = convt(6, 3, 8, 3, 4, 4, 2, 1, 0);
    assert_eq!(pass_dispatches(&many)[0], 3, "weights packed");
    // The input gradient of a 4 × 4 stride-1 conv from 8 channels of 6 × 5 pixels.
    let taps = conv2d(1, 8, 3, 6, 5, 4, 1, Padding::Explicit(1));
    assert_eq!(pass_dispatches(&taps)[1], 2, "taps read in place");
    for (i, shape) in [few, many].into_iter().enumerate() {
        check_layer(&shape, 70 + i as u64);
    }
    check_layer(&taps, 72);
}

/// Weight gradients of convs to at most four channels at stride 1 are summed directly
/// (`weight_few`, then the sum of its slices of output rows where there are several): odd
/// sizes, padding wider and narrower than the kernel, kernels up to 8 wide, one slice or many.
#[test]
fn weight_gradients_to_few_channels_are_summed_directly_and_match_reference() {
    let s = |batch, ci, co, h, w, kh, kw, padding| Conv2dShape {
        kernel_h: kh,
        kernel_w: kw,
        ..conv2d(batch, ci, co, h, w, 0, 1, Padding::Explicit(padding))
    };
    // CycleGAN's last layer (7 × 7 from reflection-padded pixels, to 3 channels), small.
    let last = s(2, 5, 3, 13, 16, 7, 7, 0);
    let [_, _, dweight, _] = pass_dispatches(&last);
    assert_eq!(
        dweight, 2,
        "summed directly in slices, then the slices' sum"
    );
    // One output row of one image: one slice, no sum.
    let one_row = s(1, 3, 2, 3, 9, 3, 3, 0);
    assert_eq!(
        pass_dispatches(&one_row)[2],
        1,
        "one slice writes out itself"
    );
    for (i, shape) in [
        last,
        one_row,
        // The PatchGAN's 1-logit layer: 4 × 4, padding 1.
        s(2, 6, 1, 7, 6, 4, 4, 1),
        // 8 wide, padded past the kernel's reach on one side; 4 channels.
        s(1, 2, 4, 5, 11, 2, 8, 3),
        s(3, 1, 2, 9, 4, 5, 3, 2),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&shape, 60 + i as u64);
    }
}

/// Transposed gathers to at most four channels go through columns (pack A, pack B, a 1×1 GEMM
/// into columns, col2im: four dispatches, where the phased GEMM records three):
/// generators' output layers and the input gradient of a discriminator's first layer. Odd
/// sizes, partial runs of 8 columns, several blocks of 8 rows, strides with empty phases,
/// output padding, tall kernels, a dense layer of few inputs.
#[test]
fn few_output_channels_go_through_columns_and_match_reference() {
    let gen_out = convt(3, 9, 1, 7, 7, 4, 2, 1, 0);
    assert_eq!(
        pass_dispatches(&gen_out)[0],
        4,
        "one output channel goes through columns"
    );
    // Eight input channels of 6 × 6 pixels are B as they lie: no pack B. And their weights,
    // [8][1 · 4 · 4], are A transposed, whole vec4s of 4 channels by whole blocks of 8 rows of
    // taps: read in place for these 36 columns, no pack A.
    assert_eq!(
        pass_dispatches(&convt(3, 8, 1, 6, 2, 4, 2, 1, 0))[0],
        2,
        "x and the weights read in place"
    );
    assert_eq!(
        pass_dispatches(&convt(3, 9, 1, 6, 2, 4, 2, 1, 0))[0],
        4,
        "9 channels are packed"
    );
    let wide = convt(1, 2, 5, 3, 3, 3, 1, 1, 0);
    assert_eq!(
        pass_dispatches(&wide)[0],
        3,
        "five channels take the phased GEMM"
    );
    for (i, s) in [
        gen_out,
        convt(2, 3, 1, 19, 5, 4, 2, 1, 0),
        convt(1, 2, 1, 4, 6, 2, 3, 0, 2),
        convt(2, 3, 1, 9, 4, 6, 1, 2, 0),
        convt(1, 2, 3, 20, 3, 5, 1, 2, 0),
        convt(2, 5, 3, 5, 11, 4, 2, 1, 0),
        convt(2, 3, 4, 4, 3, 3, 2, 1, 1),
        convt(1, 4, 2, 3, 4, 2, 3, 0, 2),
        convt(2, 2, 3, 2, 9, 5, 1, 2, 0),
        convt(1, 3, 1, 6, 17, 4, 2, 1, 0),
        // Read in place: 3 images of 12 pixels (the last block's second vec4 beyond n, blocks
        // across images), 4 channels to 3, a conv's 8-channel output gradient below.
        convt(3, 8, 1, 6, 2, 4, 2, 1, 0),
        convt(2, 4, 3, 2, 6, 3, 1, 1, 0),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&s, 30 + i as u64);
    }
    // So do transposed convs from one pixel of 16 channels or more, of any width (a
    // generator's first layer); fewer channels (the input gradient of a conv to one pixel, a
    // discriminator's last, below) keep the phased GEMM.
    let first = convt(3, 17, 9, 1, 1, 4, 1, 0, 0);
    assert_eq!(
        pass_dispatches(&first)[0],
        4,
        "1×1 → 4×4 goes through columns"
    );
    let narrow = convt(3, 10, 9, 1, 1, 4, 1, 0, 0);
    assert_eq!(
        pass_dispatches(&narrow)[0],
        3,
        "10 channels take the phased GEMM"
    );
    for (i, s) in [first, narrow, convt(2, 16, 6, 1, 1, 3, 2, 1, 0)]
        .into_iter()
        .enumerate()
    {
        check_layer(&s, 46 + i as u64);
    }
    check_layer(
        &Conv2dShape {
            batch: 3,
            in_channels: 9,
            out_channels: 2,
            height: 4,
            width: 4,
            kernel_h: 4,
            kernel_w: 4,
            stride: 1,
            padding: Padding::Explicit(0),
        },
        49,
    );
    // The input gradient of a conv from 1 or 3 channels is a transposed gather to them.
    let conv = |ci, h, w, k, stride, padding| conv2d(2, ci, 6, h, w, k, stride, padding);
    check_layer(&conv(1, 13, 10, 4, 2, Padding::Explicit(1)), 40);
    check_layer(&conv(3, 9, 19, 3, 1, Padding::Same), 41);
    check_layer(&conv(2, 11, 11, 5, 3, Padding::Explicit(2)), 42);
    check_layer(&conv(1, 40, 9, 4, 2, Padding::Explicit(1)), 43);
    check_layer(&conv(1, 21, 7, 5, 1, Padding::Explicit(2)), 44);
    check_layer(
        &Conv2dShape {
            out_channels: 8,
            ..conv(1, 12, 7, 4, 2, Padding::Explicit(1))
        },
        45,
    );
    for fin in 1..=4 {
        check_layer(
            &DenseShape {
                batch: 5,
                in_features: fin,
                out_features: 7,
            },
            50 + fin as u64,
        );
    }
}

/// The GEMM writes a row of its 8 × 8 block as one run of evenly spaced elements where its 8
/// columns lie in one image (or one output row of a phase, or are 8 images of a dense layer),
/// and element by element where they wrap. Shapes where both kinds of block occur, in each mode:
/// gathers over 10×9 and 11×10 outputs, phases 9 and 10 wide, dense layers of 19 images.
/// Convs to at most four channels with a kernel of several taps over 16 channels or more, at
/// stride 1 (CycleGAN's last 7 × 7 layer, a PatchGAN's last 4 × 4 one), go through columns as
/// well: pack A, (pack B,) a 1×1 GEMM over x's pixels into one row per channel and tap, and
/// `col_gather` summing the taps each output pixel reads. Odd sizes, padding 0 and more,
/// kernels 3, 4, 5 and 7, one image and several (blocks of 8 columns across images), x read in
/// place and packed.
#[test]
fn gathers_to_few_channels_go_through_columns_and_match_reference() {
    let entries = |s: &Conv2dShape| -> Vec<&'static str> {
        zeroed_passes(s)[0]
            .apart()
            .iter()
            .map(|d| d.label)
            .collect()
    };
    // 20 channels of 24 × 22 pixels, a multiple of 4: x is B as it lies.
    let last = conv2d(1, 20, 3, 24, 22, 7, 1, Padding::Explicit(0));
    assert_eq!(entries(&last), ["pack_a", "main", "col_gather"]);
    // 9 × 7 pixels: x is packed.
    let odd = conv2d(2, 17, 1, 9, 7, 3, 1, Padding::Explicit(1));
    assert_eq!(entries(&odd), ["pack_a", "pack_b", "main", "col_gather"]);
    // Five channels, 15 channels, stride 2 or a 7 × 7 kernel over 10 × 10 pixels (x four or
    // six times the output) keep the GEMM over packed taps.
    for s in [
        conv2d(1, 20, 5, 10, 10, 7, 1, Padding::Explicit(3)),
        conv2d(1, 15, 3, 10, 10, 7, 1, Padding::Explicit(3)),
        conv2d(1, 20, 3, 10, 10, 3, 2, Padding::Explicit(1)),
        conv2d(1, 20, 3, 10, 10, 7, 1, Padding::Explicit(0)),
    ] {
        assert!(!entries(&s).contains(&"col_gather"), "{s:?}");
    }
    for (i, s) in [
        last,
        odd,
        conv2d(3, 16, 4, 11, 13, 5, 1, Padding::Explicit(2)),
        conv2d(1, 16, 2, 8, 8, 4, 1, Padding::Explicit(1)),
        conv2d(1, 33, 1, 7, 7, 4, 1, Padding::Explicit(1)),
        conv2d(2, 24, 3, 14, 12, 7, 1, Padding::Explicit(3)),
        conv2d(1, 20, 2, 22, 23, 7, 1, Padding::Explicit(0)),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&s, 60 + i as u64);
        check_rectified(&s, 0.2, true, 70 + i as u64);
    }
}

/// GEMMs whose row of 8 × 8 blocks would leave many threads of 8-wide workgroups past its end
/// run 4 × 16 workgroups: a stride-1 input gradient onto 18 × 18 pixels (41 blocks, as
/// CycleGAN's residual blocks), a forward pass onto 9 × 8 (9 blocks), several rows of blocks.
#[test]
fn narrow_workgroups_match_reference() {
    for (i, s) in [
        conv2d(1, 20, 19, 18, 18, 3, 1, Padding::Explicit(0)),
        conv2d(1, 17, 20, 9, 8, 3, 1, Padding::Explicit(1)),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&s, 80 + i as u64);
    }
}

#[test]
fn blocks_stored_as_runs_and_element_by_element_match_reference() {
    let conv = |ci, co, h, w, k, stride, padding| {
        conv2d(2, ci, co, h, w, k, stride, Padding::Explicit(padding))
    };
    check_layer(&conv(6, 11, 10, 9, 3, 1, 1), 60);
    check_layer(&conv(5, 9, 21, 19, 4, 2, 1), 61);
    check_layer(&convt(2, 5, 6, 9, 10, 4, 2, 1, 0), 62);
    check_layer(&convt(1, 7, 13, 11, 10, 3, 1, 1, 0), 63);
    // A weight gradient two blocks wide (16 columns) and three tall takes 2 × 32 workgroups;
    // the transposed conv to one channel, columns two blocks tall, 32 × 2.
    check_layer(&conv(1, 24, 11, 13, 4, 2, 1), 66);
    for (fin, fout) in [(13, 10), (9, 17)] {
        check_layer(
            &DenseShape {
                batch: 19,
                in_features: fin,
                out_features: fout,
            },
            64 + fin as u64,
        );
    }
}

/// Transposed gathers whose phases each take 2 × 2 taps (kernel = 2 · stride) over output
/// grids of one size share one packed B of x at 3 × 3 shifts per channel: transposed convs
/// and conv input gradients at strides 2, 3 and 4, paddings 0 to 3, output padding, a k long
/// enough to be split, several chunks of rows; next to them shapes that keep a B per phase
/// (odd outputs).
#[test]
fn phases_sharing_one_packed_b_match_reference() {
    let conv = |ci, co, h, w, k, stride, padding| {
        conv2d(2, ci, co, h, w, k, stride, Padding::Explicit(padding))
    };
    for (i, s) in [
        convt(2, 5, 9, 7, 7, 4, 2, 1, 0),
        convt(2, 4, 5, 6, 4, 4, 2, 2, 0),
        convt(2, 4, 5, 3, 5, 4, 2, 0, 0),
        convt(3, 6, 11, 5, 3, 6, 3, 0, 0),
        convt(1, 7, 6, 4, 5, 6, 3, 2, 1),
        convt(1, 3, 5, 4, 4, 8, 4, 3, 2),
        convt(1, 300, 9, 2, 2, 4, 2, 1, 0),
        convt(2, 5, 17, 7, 6, 4, 2, 1, 1),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&s, 70 + i as u64);
    }
    // The input gradients of convs with these kernels and strides, from even sizes and odd.
    check_layer(&conv(6, 9, 10, 12, 4, 2, 1), 80);
    check_layer(&conv(5, 7, 12, 9, 6, 3, 0), 81);
    check_layer(&conv(3, 10, 11, 9, 4, 2, 1), 82);
}

/// Operands read as they lie, with no pack: a gather's weights when k is a multiple of 4 (a
/// forward pass is then pack B and the GEMM), a weight gradient's x from one pixel to a whole
/// kernel (dense layers, a generator's first layer: pack A and the GEMM), and the plain product
/// (MODE 4, one GEMM) of a dense layer's input gradient and of a transposed conv from one
/// pixel with no bias, or after packing the weights of a dense layer with fewer outputs than
/// images. Reductions long enough to be split, columns not a multiple of 8, rows
/// beyond one block.
#[test]
fn operands_read_as_they_lie_match_reference() {
    let dense = |batch, in_features, out_features| DenseShape {
        batch,
        in_features,
        out_features,
    };
    // Dispatches of the forward pass, d input and d weight: a pack, a GEMM, a sum of slices.
    for (s, want, why) in [
        (
            dense(7, 12, 20),
            [2, 1, 2],
            "in place: the weights of the forward pass, both operands of d input, x of d weight",
        ),
        (
            dense(2, 4, 3000),
            [2, 2, 2],
            "a 3000-long plain product into 8 outputs (d input) is split: the GEMM and the sum",
        ),
        (
            dense(7, 13, 20),
            [3, 3, 3],
            "13 inputs: every operand packed",
        ),
        // Fewer outputs than images: the images are A as they lie, the weights packed
        // transposed (a discriminator's 1-logit layer), with the bias added per column.
        (
            dense(19, 12, 3),
            [2, 3, 2],
            "forward: pack B (the weights) and the GEMM; 3 outputs: d input packs both",
        ),
        (
            dense(17, 2000, 1),
            [3, 3, 2],
            "forward: pack B, the split GEMM and the sum",
        ),
    ] {
        assert_eq!(pass_dispatches(&s)[..3], want, "{s:?}: {why}");
    }
    for (i, s) in [
        dense(7, 12, 20),
        dense(2, 4, 3000),
        dense(3, 8, 4),
        dense(11, 20, 36),
        dense(19, 12, 3),
        dense(17, 2000, 1),
        dense(64, 392, 1),
    ]
    .into_iter()
    .enumerate()
    {
        check_layer(&s, 90 + i as u64);
    }
    // From one pixel to a 4 × 4 (and a 3 × 3) kernel with no padding; the forward pass has a
    // bias here (so goes through columns), its input and weight gradients read operands in place.
    let first = convt(3, 8, 5, 1, 1, 4, 1, 0, 0);
    assert_eq!(pass_dispatches(&first)[1..3], [2, 2]);
    check_layer(&first, 95);
    check_layer(&convt(2, 12, 4, 1, 1, 3, 2, 0, 0), 96);

    // Without a bias, the forward pass of these is one plain product.
    let g = gpu();
    for (i, s) in [
        first,
        convt(2, 12, 4, 1, 1, 3, 2, 0, 0),
        convt(9, 16, 3, 1, 1, 4, 2, 0, 0),
        convt(2, 600, 2, 1, 1, 2, 1, 0, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rng = Rng::new(97 + i as u64);
        let (x, w) = (rng.vec(s.input_len()), rng.vec(s.weight_len()));
        let n = s.output_len().unwrap();
        let (xb, wb, y) = (upload(&x), upload(&w), g.storage("y", n));
        let d = s.forward(g, &xb, &wb, None, &y, None).unwrap();
        assert!(
            d.dispatch_count() <= 2,
            "{s:?}: one plain product (and the sum of its slices)"
        );
        g.run(&[&d]);
        assert_close(
            &format!("{s:?} forward, no bias"),
            &download(&y, n),
            &reference::conv_transpose2d::forward(&s, &x, &w, None),
            ATOL,
            RTOL,
        );
    }
}

/// The GEMMs above ran with lanes sharing A where the adapter has subgroups: lavapipe and
/// SwiftShader both do, with lanes in order. On lavapipe at 256 bits every subgroup has 8
/// lanes, so they ran the two-row layout that shares B as well (SwiftShader's 4 lanes keep
/// the one-row layout): a machine where that changed would leave the layout untested, and says
/// so here. `WEBGAN_SUBGROUPS=off` (build.sh runs this file again with it) runs them without.
#[test]
fn subgroups_are_used_where_the_adapter_has_them() {
    let g = gpu();
    let off = matches!(
        std::env::var("WEBGAN_SUBGROUPS").as_deref(),
        Ok("off" | "0")
    );
    let name = g.adapter_info.name.to_lowercase();
    let known = name.contains("llvmpipe") || name.contains("swiftshader");
    let has = g.device.features().contains(wgpu::Features::SUBGROUP);
    if off {
        assert!(
            !g.subgroups && g.subgroup_size == 0,
            "WEBGAN_SUBGROUPS=off, yet {name} uses subgroups"
        );
    } else if known {
        assert!(has, "{name} has subgroups (Vulkan 1.1 and later)");
        assert!(
            g.subgroups,
            "{name} has subgroups with lanes in order, yet they are off"
        );
        if name.contains("llvmpipe") && name.contains("256 bits") {
            assert_eq!(
                g.subgroup_size, 8,
                "{name}: subgroups of 8 lanes, for the GEMM's two-row layout"
            );
        }
    }
}

/// A layer followed by a ReLU or leaky ReLU writes its output rectified: on every path of the
/// engine (packed GEMMs, split reductions, columns and col2im, plain products), with a bias
/// and without, against the reference layer then the activation.
#[test]
fn a_rectified_forward_matches_the_layer_then_the_activation() {
    let dense = |batch, in_features, out_features| DenseShape {
        batch,
        in_features,
        out_features,
    };
    for slope in [0.2, 0.0] {
        // Packed; split over a long k; fewer outputs than images (a plain product).
        for s in [dense(7, 13, 9), dense(3, 3001, 5), dense(19, 12, 3)] {
            check_rectified(&s, slope, true, 31);
        }
        for s in conv_shapes() {
            check_rectified(&s, slope, true, 32);
        }
        // Phases, columns (≤ 4 channels), and from one pixel without a bias (a plain product).
        for s in convt_shapes() {
            check_rectified(&s, slope, true, 33);
        }
        let from_one_pixel = ConvTranspose2dShape {
            batch: 5,
            in_channels: 16,
            out_channels: 3,
            height: 1,
            width: 1,
            kernel_h: 4,
            kernel_w: 4,
            stride: 1,
            padding: 0,
            output_padding: 0,
        };
        check_rectified(&from_one_pixel, slope, false, 34);
        check_rectified(&from_one_pixel, slope, true, 35);
    }
    let s = dense(2, 3, 4);
    let (x, w, y) = (
        gpu().storage("x", 6),
        gpu().storage("w", 12),
        gpu().storage("y", 8),
    );
    for slope in [-0.1, f32::NAN, f32::INFINITY] {
        let e = s.forward(gpu(), &x, &w, None, &y, Some(slope));
        assert!(
            e.as_ref().is_err_and(|e| e.to_string().contains("slope")),
            "slope {slope}: {:?}",
            e.err()
        );
    }
}

/// Which of a layer's passes (forward, d input, d weight, d bias) have a GEMM that writes out
/// as vec4s.
fn vec4_passes(layer: &impl Layer) -> Vec<&'static str> {
    let names = ["forward", "d input", "d weight", "d bias"];
    zeroed_passes(layer)
        .iter()
        .zip(names)
        .filter(|(d, _)| {
            d.kernels()
                .contains(&(webgan::kernels::conv::SHADER_VEC4_OUT.name, "main"))
        })
        .map(|(_, name)| name)
        .collect()
}

/// GEMMs whose runs of 4 columns are whole vec4s of out store them as vec4s: a gather onto
/// images of 16 pixels (a conv's forward pass, a transposed conv's input gradient), weight
/// gradients of 4k columns, plain products of 4k columns with a bias per column and without.
/// Each against the reference, accumulating and rectified too; next to shapes that cannot
/// (7 × 7 outputs, 27-column weights, a dense layer of 9 outputs).
#[test]
fn outputs_of_whole_vec4s_are_stored_as_vec4s_and_match_reference() {
    let dense = |batch, in_features, out_features| DenseShape {
        batch,
        in_features,
        out_features,
    };
    let conv = |ci, co, h, w, k, stride, padding| {
        conv2d(2, ci, co, h, w, k, stride, Padding::Explicit(padding))
    };
    let aligned = conv(3, 5, 8, 8, 4, 2, 1);
    assert_eq!(vec4_passes(&aligned), ["forward", "d weight"]);
    check_layer(&aligned, 90);
    let aligned_t = convt(2, 5, 6, 4, 4, 4, 2, 1, 0);
    assert_eq!(vec4_passes(&aligned_t), ["d input", "d weight"]);
    check_layer(&aligned_t, 91);
    // Fewer outputs than images: the forward pass is a plain product, bias per column.
    let aligned_dense = dense(19, 12, 8);
    assert_eq!(
        vec4_passes(&aligned_dense),
        ["forward", "d input", "d weight"]
    );
    check_layer(&aligned_dense, 92);
    for slope in [0.2, 0.0] {
        check_rectified(&aligned, slope, true, 93);
        check_rectified(&aligned_dense, slope, true, 94);
        check_rectified(&aligned_dense, slope, false, 95);
    }
    assert!(vec4_passes(&conv(3, 5, 7, 7, 3, 1, 1)).is_empty());
    assert!(vec4_passes(&dense(7, 13, 9)).is_empty());
}

/// Whether each of a layer's passes (forward, d input, d weight) runs Winograd's transforms.
fn winograd_passes(layer: &impl Layer) -> [bool; 3] {
    let passes = zeroed_passes(layer);
    std::array::from_fn(|i| {
        passes[i]
            .kernels()
            .iter()
            .any(|&(_, entry)| entry.starts_with("wino_"))
    })
}

/// 3 × 3 stride-1 convs of at least 32 channels on both sides run their forward pass and input
/// gradient as Winograd's F(2 × 2, 3 × 3), their weight gradient as F(3 × 3, 2 × 2)
/// (conv_winograd.wgsl): odd sizes, whose last tiles are half used; padding 0, 1 and 2 (the
/// input gradient's own padding 2, 1 and 0); channels that are not a multiple of 4 or of the
/// block; several images; accumulated, with a bias, and rectified. Convs of fewer channels,
/// or strided, keep the packed GEMM.
#[test]
fn winograd_convolutions_match_reference() {
    let shapes = [
        conv2d(2, 33, 40, 7, 5, 3, 1, Padding::Explicit(1)),
        conv2d(1, 32, 35, 6, 6, 3, 1, Padding::Explicit(0)),
        conv2d(3, 36, 32, 5, 9, 3, 1, Padding::Explicit(2)),
        conv2d(1, 32, 32, 4, 3, 3, 1, Padding::Explicit(0)),
    ];
    for (i, s) in shapes.iter().enumerate() {
        assert_eq!(winograd_passes(s), [true; 3], "{s:?}");
        check_layer(s, 80 + i as u64);
        check_rectified(s, 0.2, true, 90 + i as u64);
    }
    // A transposed conv at stride 1: its forward pass is the transposed gather, its input
    // gradient the gather.
    let t = convt(2, 40, 34, 5, 6, 3, 1, 1, 0);
    assert_eq!(winograd_passes(&t), [true; 3]);
    check_layer(&t, 86);
    for narrow in [
        conv2d(1, 31, 40, 6, 6, 3, 1, Padding::Explicit(1)),
        conv2d(1, 40, 31, 6, 6, 3, 1, Padding::Explicit(1)),
        conv2d(1, 40, 40, 6, 6, 3, 2, Padding::Explicit(1)),
    ] {
        assert_eq!(winograd_passes(&narrow), [false; 3], "{narrow:?}");
    }
}

//! The glue kernels of `tensor.wgsl` against `reference::tensor`, on odd shapes.
use crate::common;

use common::{assert_close, download, gpu, upload, Rng};
use webgan::kernels::tensor::{self, Reduction};
use webgan::reference::tensor as reference;

/// Past the end of every output: a kernel that writes beyond its length changes it.
const SENTINEL: f64 = 12345.0;

/// A buffer holding `v` followed by four sentinels.
fn upload_with_tail(v: &[f64]) -> wgpu::Buffer {
    let mut padded = v.to_vec();
    padded.extend([SENTINEL; 4]);
    upload(&padded)
}

/// The first `len` elements of `b`, after checking the sentinels behind them.
fn download_checked(b: &wgpu::Buffer, len: usize) -> Vec<f64> {
    let all = download(b, len + 4);
    assert_eq!(all[len..], [SENTINEL; 4], "written past element {len}");
    all[..len].to_vec()
}

#[test]
fn fill_and_scale() {
    let mut rng = Rng::new(1);
    for len in [1, 300, 1025] {
        let x = rng.vec(len);
        let b = upload_with_tail(&x);
        let d = tensor::fill(gpu(), &b, len, -0.625).expect("fill");
        gpu().run(&[&d]);
        assert!(download_checked(&b, len).iter().all(|&v| v == -0.625));

        let b = upload_with_tail(&x);
        let d = tensor::scale(gpu(), &b, len, 0.3).expect("scale");
        gpu().run(&[&d]);
        // One f32 multiplication, correctly rounded on both sides.
        let want: Vec<f64> = x.iter().map(|&v| (v as f32 * 0.3f32) as f64).collect();
        assert_eq!(download_checked(&b, len), want, "scale, len {len}");
    }
}

/// 2^24 + 300 elements need 65,538 workgroups of 256: more than one grid row (65,535).
#[test]
fn fill_over_the_workgroup_limit_uses_a_second_grid_row() {
    let len = (1 << 24) + 300;
    let b = gpu().storage("big", len + 4);
    let d = tensor::fill(gpu(), &b, len, 2.5).expect("fill");
    gpu().run(&[&d]);
    let got = gpu().read_f32_blocking(&b).expect("readback");
    let wrong = got[..len].iter().position(|&v| v != 2.5);
    assert_eq!(wrong, None, "first element not filled");
    assert_eq!(got[len..], [0.0; 4], "written past the end");
}

fn index_buffer(index: &[u32]) -> wgpu::Buffer {
    gpu().storage_from("index", index)
}

#[test]
fn gather_u8_rows_that_straddle_words() {
    let mut rng = Rng::new(2);
    // 7×5 = 35 and 3 bytes a row: rows start at every offset within a u32 word.
    for (rows, row_len) in [(6, 35), (5, 3), (1, 1)] {
        let data: Vec<u8> = (0..rows * row_len).map(|_| rng.below(256) as u8).collect();
        let src = gpu().storage_from("u8 rows", &data);
        // The last index is out of range and clamps to the last row.
        let index = [rows as u32 - 1, 0, 2 % rows as u32, 1 % rows as u32, 1000];
        let dst = upload_with_tail(&vec![0.0; index.len() * row_len]);
        let d = tensor::gather_u8(gpu(), &src, rows, row_len, &index_buffer(&index), 5, &dst)
            .expect("gather_u8");
        gpu().run(&[&d]);
        let got = download_checked(&dst, index.len() * row_len);
        let want = reference::gather_u8(&data, row_len, &index);
        // v / 127.5 − 1 in f32 against f64: a rounding or two.
        assert_close(
            &format!("gather_u8 {rows}×{row_len}"),
            &got,
            &want,
            1e-6,
            1e-6,
        );
        assert!(got.iter().all(|v| (-1.0..=1.0).contains(v)));
    }
}

#[test]
fn gather_f32_clamps_out_of_range_rows() {
    let mut rng = Rng::new(3);
    let (rows, row_len) = (4, 7);
    let data = rng.vec(rows * row_len);
    let index = [3, 3, 0, 7, 2, u32::MAX];
    let dst = upload_with_tail(&vec![0.0; index.len() * row_len]);
    let d = tensor::gather_f32(
        gpu(),
        &upload(&data),
        rows,
        row_len,
        &index_buffer(&index),
        index.len(),
        &dst,
    )
    .expect("gather_f32");
    gpu().run(&[&d]);
    let got = download_checked(&dst, index.len() * row_len);
    assert_eq!(got, reference::gather_f64(&data, row_len, &index));
}

#[test]
fn channel_sum_overwrites_or_accumulates() {
    let mut rng = Rng::new(4);
    // batch 1; 65 channels (more than a nice power of two); 1 pixel; 300 elements per channel
    // (cut into slices of 16 that cross from one image to the next, the last one shorter);
    // 2,100 and 5,000 (many slices, some past the end).
    for (batch, channels, pixels) in [
        (1, 3, 5),
        (2, 65, 3),
        (3, 4, 1),
        (2, 3, 150),
        (3, 2, 700),
        (1, 1, 5000),
    ] {
        let x = rng.vec(batch * channels * pixels);
        let sums = reference::channel_sum(&x, batch, channels, pixels);
        for accumulate in [false, true] {
            let before = rng.vec(channels);
            let dst = upload_with_tail(&before);
            let d = tensor::channel_sum(
                gpu(),
                batch as u32,
                channels as u32,
                pixels as u32,
                &upload(&x),
                &dst,
                accumulate,
            )
            .expect("channel_sum");
            gpu().run(&[&d]);
            let got = download_checked(&dst, channels);
            let want: Vec<f64> = if accumulate {
                sums.iter().zip(&before).map(|(s, b)| s + b).collect()
            } else {
                sums.clone()
            };
            // f32 sums of up to 5,000 terms in [−1, 1], each rounding ≤ 2^-24 of the partial.
            let what = format!("channel_sum {batch}×{channels}×{pixels}, accumulate {accumulate}");
            assert_close(&what, &got, &want, 1e-5, 1e-5);
        }
    }
}

#[test]
fn reduce_all_kinds() {
    let mut rng = Rng::new(5);
    for len in [1, 300] {
        let mut x = rng.vec(len);
        // Exact zeros: a logit of 0 counts as non-positive.
        for v in x.iter_mut().step_by(7) {
            *v = 0.0;
        }
        let positive = reference::count_positive(&x);
        let cases = [
            (Reduction::Sum, reference::sum(&x)),
            (Reduction::Mean, reference::mean(&x)),
            (Reduction::CountPositive, positive),
            (Reduction::CountNonPositive, len as f64 - positive),
        ];
        for (kind, value) in cases {
            for accumulate in [false, true] {
                let before = [0.5, -1.5, 2.25, 4.0];
                let dst = upload_with_tail(&before);
                let d = tensor::reduce(gpu(), kind, &upload(&x), len, &dst, 2, accumulate)
                    .expect("reduce");
                gpu().run(&[&d]);
                let got = download_checked(&dst, 4);
                let mut want = before;
                want[2] = value + if accumulate { before[2] } else { 0.0 };
                let what = format!("{kind:?} of {len}, accumulate {accumulate}");
                assert_close(&what, &got, &want, 1e-5, 1e-6);
            }
        }
    }
}

/// A slice copied into, out of and added onto another buffer at odd offsets; the rest of dst
/// untouched.
#[test]
fn copy_range_moves_or_adds_a_slice() {
    let mut rng = Rng::new(7);
    for (src_len, src_at, dst_len, dst_at, len) in [
        (300, 0, 900, 600, 300),
        (1025, 513, 700, 3, 512),
        (5, 4, 1, 0, 1),
    ] {
        let x = rng.vec(src_len);
        let y = rng.vec(dst_len);
        for accumulate in [false, true] {
            let src = upload(&x);
            let dst = upload_with_tail(&y);
            let d = tensor::copy_range(gpu(), &src, src_at, &dst, dst_at, len, accumulate)
                .expect("copy_range");
            gpu().run(&[&d]);
            let mut want = y.clone();
            for i in 0..len {
                let v = x[src_at + i] as f32;
                let old = y[dst_at + i] as f32;
                want[dst_at + i] = if accumulate {
                    (old + v) as f64
                } else {
                    v as f64
                };
            }
            let what = format!("{len} from {src_at} to {dst_at}, accumulate {accumulate}");
            assert_eq!(download_checked(&dst, dst_len), want, "{what}");
        }
    }
    let (a, b) = (gpu().storage("a", 10), gpu().storage("b", 10));
    assert!(
        tensor::copy_range(gpu(), &a, 6, &b, 0, 5, false).is_err(),
        "src too short"
    );
    assert!(
        tensor::copy_range(gpu(), &a, 0, &b, 6, 5, false).is_err(),
        "dst too short"
    );
    assert!(
        tensor::copy_range(gpu(), &a, 0, &a, 5, 5, true).is_err(),
        "one buffer"
    );
    assert!(
        tensor::copy_range(gpu(), &a, 0, &b, 0, 0, false).is_err(),
        "nothing"
    );
}

#[test]
fn bad_shapes_are_errors() {
    let small = gpu().storage("small", 10);
    let index = index_buffer(&[0, 1]);
    assert!(tensor::fill(gpu(), &small, 11, 0.0).is_err());
    assert!(tensor::scale(gpu(), &small, 11, 1.0).is_err());
    // 3 rows of 5 bytes do not fit in 12 bytes.
    let bytes = gpu().storage_from("u8", &[0u8; 12]);
    assert!(tensor::gather_u8(gpu(), &bytes, 3, 5, &index, 2, &small).is_err());
    assert!(tensor::gather_u8(gpu(), &bytes, 2, 6, &index, 1, &small).is_ok());
    assert!(tensor::gather_u8(gpu(), &bytes, 0, 6, &index, 2, &small).is_err());
    assert!(tensor::gather_f32(gpu(), &small, 2, 6, &index, 2, &small).is_err());
    assert!(tensor::gather_f32(gpu(), &small, 2, 5, &index, 3, &small).is_err());
    assert!(tensor::channel_sum(gpu(), 2, 3, 2, &small, &small, false).is_err());
    assert!(tensor::channel_sum(gpu(), 1, 11, 0, &small, &small, false).is_err());
    // 2^16 × 2^16 × 2 elements overflow a u32: an error, not a panic or a wrapped check.
    let huge = tensor::channel_sum(gpu(), 1 << 16, 1 << 16, 2, &small, &small, false);
    assert!(huge.is_err());
    assert!(tensor::reduce(gpu(), Reduction::Sum, &small, 10, &small, 10, false).is_err());
    assert!(tensor::reduce(gpu(), Reduction::Sum, &small, 10, &small, 9, false).is_ok());
}

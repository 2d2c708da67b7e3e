//! The joins of `join.wgsl` (channel concatenation, elementwise sum, their backward passes)
//! against `reference::join` on odd shapes, overwriting and accumulating; the reference's
//! backward against central differences.
use crate::common;

use common::{assert_close, assert_gradient, dot, download, gpu, numeric_gradient, upload, Rng};
use webgan::kernels::join::{self, Part};
use webgan::reference::join as reference;

/// Past the end of every output: a kernel that writes beyond its length changes it.
const SENTINEL: f64 = 12345.0;

fn upload_with_tail(v: &[f64]) -> wgpu::Buffer {
    let mut padded = v.to_vec();
    padded.extend([SENTINEL; 4]);
    upload(&padded)
}

/// `v` as the GPU holds it: rounded to f32.
fn f32s(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}

fn download_checked(b: &wgpu::Buffer, len: usize) -> Vec<f64> {
    let all = download(b, len + 4);
    assert_eq!(all[len..], [SENTINEL; 4], "written past element {len}");
    all[..len].to_vec()
}

/// (batch, pixels, channels of each part): one image, one pixel, parts of one channel, three
/// parts, sizes off every multiple of the workgroup.
const SHAPES: &[(usize, usize, &[usize])] = &[
    (1, 1, &[1, 1]),
    (3, 35, &[2, 5]),
    (2, 17, &[3, 1, 4]),
    (5, 64, &[7, 9]),
];

#[test]
fn concat_matches_reference() {
    let mut rng = Rng::new(3);
    for &(batch, pixels, channels) in SHAPES {
        let xs: Vec<Vec<f64>> = channels
            .iter()
            .map(|c| rng.vec(batch * c * pixels))
            .collect();
        let buffers: Vec<wgpu::Buffer> = xs.iter().map(|x| upload(x)).collect();
        let total: usize = channels.iter().sum();
        let out = upload_with_tail(&rng.vec(batch * total * pixels));
        let parts: Vec<Part> = buffers
            .iter()
            .zip(channels)
            .map(|(buffer, &c)| Part {
                buffer,
                channels: c as u32,
                accumulate: false,
            })
            .collect();
        let ds = join::concat(gpu(), batch as u32, pixels as u32, &parts, &out).expect("concat");
        // Channels of a multiple of 4 pixels (64) take the vec4 kernel.
        let entry = if pixels % 4 == 0 {
            "copy_channels4"
        } else {
            "copy_channels"
        };
        assert!(
            ds.iter().all(|d| d.kernels()[0].1 == entry),
            "{pixels} pixels"
        );
        assert_eq!(ds.len(), channels.len(), "one dispatch per part");
        gpu().run(&ds.iter().collect::<Vec<_>>());
        let pairs: Vec<(&[f64], usize)> = xs
            .iter()
            .map(Vec::as_slice)
            .zip(channels.iter().copied())
            .collect();
        let want = f32s(&reference::concat(&pairs, batch, pixels));
        let got = download_checked(&out, want.len());
        // A copy: exact.
        assert_close(
            &format!("concat {batch}×{channels:?}×{pixels}"),
            &got,
            &want,
            0.0,
            0.0,
        );
    }
}

#[test]
fn concat_backward_overwrites_or_accumulates_each_part() {
    let mut rng = Rng::new(4);
    for &(batch, pixels, channels) in SHAPES {
        let total: usize = channels.iter().sum();
        let dout = rng.vec(batch * total * pixels);
        let before: Vec<Vec<f64>> = channels
            .iter()
            .map(|c| rng.vec(batch * c * pixels))
            .collect();
        let buffers: Vec<wgpu::Buffer> = before.iter().map(|d| upload_with_tail(d)).collect();
        // Every other part accumulates, as a tensor that a second consumer also reads.
        let parts: Vec<Part> = buffers
            .iter()
            .zip(channels)
            .enumerate()
            .map(|(i, (buffer, &c))| Part {
                buffer,
                channels: c as u32,
                accumulate: i % 2 == 1,
            })
            .collect();
        let dout_buffer = upload(&dout);
        let ds = join::concat_backward(gpu(), batch as u32, pixels as u32, &dout_buffer, &parts)
            .expect("concat backward");
        gpu().run(&ds.iter().collect::<Vec<_>>());
        let want = reference::concat_backward(&dout, channels, batch, pixels);
        for (i, ((buffer, w), old)) in buffers.iter().zip(&want).zip(&before).enumerate() {
            let w: Vec<f64> = if i % 2 == 1 {
                w.iter()
                    .zip(old)
                    .map(|(g, o)| (*g as f32 + *o as f32) as f64)
                    .collect()
            } else {
                f32s(w)
            };
            let got = download_checked(buffer, w.len());
            assert_close(&format!("d part {i} of {channels:?}"), &got, &w, 0.0, 0.0);
        }
    }
}

#[test]
fn add_and_its_backward_match_reference() {
    let mut rng = Rng::new(5);
    for len in [1, 255, 257, 1000] {
        let (a, b, old) = (rng.vec(len), rng.vec(len), rng.vec(len));
        for accumulate in [false, true] {
            let out = upload_with_tail(&old);
            let d = join::add(gpu(), len, &upload(&a), &upload(&b), &out, accumulate).expect("add");
            // Lengths of a multiple of 4 (1000) take the vec4 kernel.
            let entry = if len % 4 == 0 { "add4" } else { "add" };
            assert_eq!(d.kernels()[0].1, entry, "len {len}");
            gpu().run(&[&d]);
            let sum = reference::add(&a, &b);
            let want: Vec<f64> = sum
                .iter()
                .zip(&old)
                .map(|(s, o)| if accumulate { *s + *o } else { *s })
                .collect();
            // f32 sums of two or three terms against f64.
            assert_close(
                &format!("add {len} {accumulate}"),
                &download_checked(&out, len),
                &want,
                1e-6,
                1e-6,
            );
        }
        let dout = rng.vec(len);
        let (da, db) = (upload_with_tail(&old), upload_with_tail(&old));
        let parts = [
            Part {
                buffer: &da,
                channels: 1,
                accumulate: false,
            },
            Part {
                buffer: &db,
                channels: 1,
                accumulate: true,
            },
        ];
        let ds = join::add_backward(gpu(), len, &upload(&dout), parts).expect("add backward");
        gpu().run(&ds.iter().collect::<Vec<_>>());
        let [want_a, want_b] = reference::add_backward(&dout);
        assert_close("d a", &download_checked(&da, len), &f32s(&want_a), 0.0, 0.0);
        let want_b: Vec<f64> = want_b.iter().zip(&old).map(|(g, o)| g + o).collect();
        assert_close(
            "d b, accumulated",
            &download_checked(&db, len),
            &want_b,
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn reference_backward_matches_central_differences() {
    let mut rng = Rng::new(6);
    let (batch, pixels, channels) = (2, 3, [2usize, 3]);
    let a = rng.vec(batch * channels[0] * pixels);
    let b = rng.vec(batch * channels[1] * pixels);
    let w = rng.vec(batch * 5 * pixels);
    // loss = Σ w · cat(a, b): its gradient in a and b is what concat_backward gives for w.
    let grads = reference::concat_backward(&w, &channels, batch, pixels);
    let numeric_a = numeric_gradient(&a, |a| {
        dot(&w, &reference::concat(&[(a, 2), (&b, 3)], batch, pixels))
    });
    let numeric_b = numeric_gradient(&b, |b| {
        dot(&w, &reference::concat(&[(&a, 2), (b, 3)], batch, pixels))
    });
    assert_gradient("concat d a", &grads[0], &numeric_a);
    assert_gradient("concat d b", &grads[1], &numeric_b);
    // loss = Σ w · (a + b).
    let (x, y, w) = (rng.vec(7), rng.vec(7), rng.vec(7));
    let [dx, dy] = reference::add_backward(&w);
    assert_gradient(
        "add d a",
        &dx,
        &numeric_gradient(&x, |x| dot(&w, &reference::add(x, &y))),
    );
    assert_gradient(
        "add d b",
        &dy,
        &numeric_gradient(&y, |y| dot(&w, &reference::add(&x, y))),
    );
}

#[test]
fn shapes_are_checked_at_the_boundary() {
    let small = gpu().storage("small", 4);
    let part = Part {
        buffer: &small,
        channels: 2,
        accumulate: false,
    };
    // Two channels of 3 pixels for 1 image need 6 elements; the buffer holds 4.
    let e = join::concat(gpu(), 1, 3, &[part], &gpu().storage("out", 64))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("holds 4 elements"), "{e}");
    let e = join::add(gpu(), 0, &small, &small, &small, false)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("0 elements"), "{e}");
}

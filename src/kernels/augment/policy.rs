//! The pure part of DiffAugment, no GPU needed: which augmentations a policy names, the
//! sizes the reference derives from an image's (translation limit, cutout side, the split of
//! each sample's mean), and the layout of each sample's drawn parameters.

use std::fmt;
use std::str::FromStr;

use crate::error::shape_error;
use crate::{Error, Result};

const OP: &str = "augment";

/// Values each thread of a sample's mean sums, about: a 64×64×3 sample is shared by 48
/// threads, a 7×9 one summed by one.
const SEGMENT_VALUES: usize = 256;
const MAX_SEGMENTS: usize = 256;

/// One augmentation of the authors' `AUGMENT_FNS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Brightness, saturation and contrast, one after the other.
    Color,
    /// A whole-pixel shift of up to int(size / 8 + ½) each way, zeros shifted in.
    Translation,
    /// A square of side int(size / 2 + ½) zeroed.
    Cutout,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Color, Kind::Translation, Kind::Cutout];

    /// The name in a policy string, as the reference spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Color => "color",
            Kind::Translation => "translation",
            Kind::Cutout => "cutout",
        }
    }
}

/// The augmentations to apply, in order: the reference's `policy` string, such as
/// `"color,translation,cutout"` (the paper's choice). The empty string is no augmentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy(Vec<Kind>);

impl Policy {
    pub fn new(kinds: &[Kind]) -> Result<Policy> {
        for (i, kind) in kinds.iter().enumerate() {
            if kinds[..i].contains(kind) {
                return Err(Error::Invalid(format!(
                    "the augmentation policy names {} twice; each augmentation draws its \
                     parameters once per sample, so name it once",
                    kind.name()
                )));
            }
        }
        Ok(Policy(kinds.to_vec()))
    }

    pub fn kinds(&self) -> &[Kind] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for Policy {
    type Err = Error;

    /// Names separated by commas, blanks around them ignored.
    fn from_str(s: &str) -> Result<Policy> {
        if s.trim().is_empty() {
            return Ok(Policy::default());
        }
        let kinds = s
            .split(',')
            .map(|name| {
                let name = name.trim();
                Kind::ALL
                    .into_iter()
                    .find(|k| k.name() == name)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "unknown augmentation \"{name}\" in the policy \"{s}\": name color, \
                         translation or cutout, separated by commas"
                        ))
                    })
            })
            .collect::<Result<Vec<Kind>>>()?;
        Policy::new(&kinds)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|k| k.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// Images [batch, channels, height, width].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AugmentShape {
    pub batch: u32,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
}

impl AugmentShape {
    /// Elements of input, output, doutput and dinput.
    pub fn tensor_len(&self) -> usize {
        self.batch as usize * self.sample_len()
    }

    /// C·H·W: the values of one sample, over which contrast takes its mean.
    pub fn sample_len(&self) -> usize {
        self.channels as usize * self.height as usize * self.width as usize
    }

    /// Elements (u32 words) of `params`: [`SampleParams::WORDS`] per sample.
    pub fn params_len(&self) -> usize {
        SampleParams::WORDS * self.batch as usize
    }

    /// [sh, sw]: the reference's int(size · 0.125 + 0.5), in integers; translations are drawn
    /// in [−sh, sh] × [−sw, sw].
    pub fn translation_limit(&self) -> [u32; 2] {
        // (size + 4) / 8 without overflow: int(size / 8 + ½).
        [self.height, self.width].map(|size| size / 8 + (size % 8 + 4) / 8)
    }

    /// [ch, cw]: the side of the cut square, the reference's int(size · 0.5 + 0.5).
    pub fn cutout_size(&self) -> [u32; 2] {
        [self.height, self.width].map(|size| size / 2 + size % 2)
    }

    /// Threads that share each sample's mean: about `SEGMENT_VALUES` values each.
    pub fn segments(&self) -> u32 {
        self.sample_len()
            .div_ceil(SEGMENT_VALUES)
            .clamp(1, MAX_SEGMENTS) as u32
    }

    /// Elements of color's `saved`: [1 + segments, batch], each sample's mean and the partial
    /// sums of its segments.
    pub fn saved_len(&self) -> usize {
        (1 + self.segments() as usize) * self.batch as usize
    }

    pub(super) fn check(&self) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.height == 0 || self.width == 0 {
            return Err(shape_error(
                OP,
                format!("every size must be positive: {self:?}"),
            ));
        }
        // The shader's indices are u32; the translation limit and offsets are i32.
        let large = self.tensor_len() as u64 > u32::MAX as u64
            || self.saved_len() as u64 > u32::MAX as u64
            || self.height.max(self.width) > i32::MAX as u32 / 2;
        if large {
            return Err(shape_error(
                OP,
                format!("{self:?} has more than 2^32 elements"),
            ));
        }
        Ok(())
    }
}

/// One sample's drawn parameters, as `params` holds them: [`SampleParams::WORDS`] u32 words,
/// the factors as f32 bits and the shifts as i32 bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleParams {
    /// b = u − ½, added (brightness).
    pub brightness: f32,
    /// S = 2u, the factor on each pixel's deviation from its channel mean (saturation).
    pub saturation: f32,
    /// K = u + ½, the factor on the deviation from the sample's mean (contrast).
    pub contrast: f32,
    /// [th, tw]: output pixel (i, j) shows input pixel (i + th, j + tw).
    pub shift: [i32; 2],
    /// [oh, ow] as the reference draws them, in [0, size + 1 − side % 2): the cut square
    /// covers rows oh − ch/2 .. oh − ch/2 + ch, clamped into the image (columns alike).
    pub cutout: [u32; 2],
}

impl SampleParams {
    /// Words per sample: two Philox blocks, the last word unused.
    pub const WORDS: usize = 8;

    /// The samples of a `params` buffer read back.
    pub fn from_words(words: &[u32]) -> Vec<SampleParams> {
        words
            .chunks_exact(Self::WORDS)
            .map(|w| SampleParams {
                brightness: f32::from_bits(w[0]),
                saturation: f32::from_bits(w[1]),
                contrast: f32::from_bits(w[2]),
                shift: [w[3] as i32, w[4] as i32],
                cutout: [w[5], w[6]],
            })
            .collect()
    }

    /// The words of `samples`, to upload chosen parameters.
    pub fn to_words(samples: &[SampleParams]) -> Vec<u32> {
        samples
            .iter()
            .flat_map(|s| {
                [
                    s.brightness.to_bits(),
                    s.saturation.to_bits(),
                    s.contrast.to_bits(),
                    s.shift[0] as u32,
                    s.shift[1] as u32,
                    s.cutout[0],
                    s.cutout[1],
                    0,
                ]
            })
            .collect()
    }
}

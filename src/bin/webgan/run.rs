//! The training loop every family shares: bursts of steps, stats and sample grids every so
//! often, checkpoints written atomically, Ctrl-C stopping with a checkpoint, and a clear way
//! back when training diverges.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use webgan::{Error, Result};

use crate::output;

/// What the loop needs of one family's run.
pub trait Training {
    /// Completed steps.
    fn step(&self) -> u64;
    /// Images per step, for images/s.
    fn batch(&self) -> u32;
    /// Records `steps` steps and waits for them.
    fn train(&mut self, steps: u32) -> Result<()>;
    /// The names of [`Training::stats`]' values: metrics.csv's columns.
    fn stat_names(&self) -> Vec<&'static str>;
    /// The stats of the last step (waits for the GPU).
    fn stats(&self) -> Result<Vec<f32>>;
    /// One line for the progress bar from `stats`.
    fn message(&self, stats: &[f32]) -> String;
    /// The grid of samples to write: (width, height, RGBA).
    fn preview(&self) -> Result<(u32, u32, Vec<u8>)>;
    /// The checkpoint's bytes; `Error::Invalid` when the weights diverged.
    fn save(&self) -> Result<Vec<u8>>;
    /// Steps between quality measurements (0: none).
    fn quality_every(&self) -> u64 {
        0
    }
    /// The quality measure now, or None (and no more measuring) when it cannot be had.
    fn measure(&mut self, _bar: &ProgressBar) -> Option<f64> {
        None
    }
    /// Steps until the next step the run must stop at for its own reasons (a learning rate
    /// that changes), so that a burst does not run past it.
    fn until_boundary(&self) -> u64 {
        u64::MAX
    }
    /// Advice for a diverged run: which flags to try.
    fn divergence_advice(&self) -> &'static str;
}

/// Where and how often the loop writes.
pub struct Schedule<'a> {
    pub out: &'a Path,
    pub steps: u64,
    pub every: u64,
    pub checkpoint_every: u64,
    /// The last checkpoint written (or resumed from): its step and path.
    pub saved: Option<(u64, PathBuf)>,
}

/// Whether `step` is one of every `every` (0: never).
fn due(step: u64, every: u64) -> bool {
    every > 0 && step.is_multiple_of(every)
}

/// Training went to NaN: where to go back to, if anywhere.
fn diverged(step: u64, saved: &Option<(u64, PathBuf)>, advice: &str) -> Error {
    Error::Invalid(match saved {
        Some((at, path)) => format!(
            "training diverged by step {step} (a loss or a weight became NaN or infinite); the last checkpoint, at step {at}, is {}: resume from it with {advice}",
            path.display()
        ),
        None => format!(
            "training diverged by step {step} (a loss or a weight became NaN or infinite) before any checkpoint was written: start again with {advice}"
        ),
    })
}

pub fn train(t: &mut dyn Training, mut s: Schedule<'_>) -> Result<ExitCode> {
    std::fs::create_dir_all(s.out.join("samples"))
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", s.out.display())))?;
    let names = t.stat_names();
    let mut metrics = Metrics::open(&s.out.join("metrics.csv"), t.step() > 0, &names)?;
    let checkpoint_path = s.out.join("checkpoint.safetensors");
    // Ctrl-C stops after the burst under way, with a checkpoint.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let bar = ProgressBar::new(s.steps).with_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {elapsed_precise} ETA {eta} {msg}",
        )
        .expect("a valid template"),
    );
    bar.set_position(t.step());
    let start = Instant::now();
    let (mut last_time, mut last_step) = (start, t.step());
    let mut quality_every = t.quality_every();
    while t.step() < s.steps {
        // Bursts of a few steps per submission keep each one short for the GPU's watchdog.
        // Stop on every step some output is due, and after at most 8 steps.
        let step = t.step();
        let until = |every: u64| {
            if every == 0 {
                u64::MAX
            } else {
                every - step % every
            }
        };
        let burst = (s.steps - step)
            .min(until(s.every))
            .min(until(s.checkpoint_every))
            .min(until(quality_every))
            .min(t.until_boundary().max(1))
            .min(8) as u32;
        t.train(burst)?;
        let step = t.step();
        bar.set_position(step);
        let last = step == s.steps;
        let stopped = stop.load(Ordering::SeqCst);
        let checkpoint_due = due(step, s.checkpoint_every) || last || stopped;
        let quality_due = quality_every > 0 && (due(step, quality_every) || last);
        if !(due(step, s.every) || checkpoint_due || quality_due) {
            continue;
        }
        let stats = t.stats()?;
        let now = Instant::now();
        let images_per_s = (step - last_step) as f64 * t.batch() as f64
            / now.duration_since(last_time).as_secs_f64();
        (last_time, last_step) = (now, step);
        let seconds = start.elapsed().as_secs_f64();
        if stats.iter().any(|v| !v.is_finite()) {
            metrics.append(step, seconds, &stats, images_per_s, None)?;
            bar.abandon();
            return Err(diverged(step, &s.saved, t.divergence_advice()));
        }
        let frechet = if quality_due {
            let d = t.measure(&bar);
            if d.is_none() {
                quality_every = 0;
            }
            d
        } else {
            None
        };
        metrics.append(step, seconds, &stats, images_per_s, frechet)?;
        bar.set_message(format!("{} {images_per_s:.0} img/s", t.message(&stats)));
        let grid = t.preview()?;
        output::write_png(&s.out.join(format!("samples/step_{step:07}.png")), &grid)?;
        output::write_png(&s.out.join("samples/latest.png"), &grid)?;
        if checkpoint_due {
            let bytes = match t.save() {
                Ok(bytes) => bytes,
                Err(Error::Invalid(_)) => {
                    bar.abandon();
                    return Err(diverged(step, &s.saved, t.divergence_advice()));
                }
                Err(e) => return Err(e),
            };
            output::write_atomically(&checkpoint_path, &bytes)?;
            s.saved = Some((step, checkpoint_path.clone()));
        }
        if stopped && !last {
            bar.abandon();
            eprintln!(
                "stopped at step {step}: the checkpoint is {}; continue with --resume {} --steps {} --out {}",
                checkpoint_path.display(),
                checkpoint_path.display(),
                s.steps,
                s.out.display()
            );
            return Ok(ExitCode::from(130));
        }
    }
    bar.finish();
    eprintln!(
        // The step reached (a resumed run counts its earlier steps), as the PyTorch twin says it.
        "done: step {} ({:.0} s); samples in {}, checkpoint {}",
        t.step(),
        start.elapsed().as_secs_f64(),
        s.out.join("samples").display(),
        checkpoint_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// metrics.csv: the step, seconds since the start, the family's stats, images/s and the
/// Fréchet distance where measured.
struct Metrics {
    file: std::fs::File,
}

impl Metrics {
    fn open(path: &Path, append: bool, names: &[&str]) -> Result<Metrics> {
        let exists = path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))?;
        let mut m = Metrics { file };
        if !(append && exists) {
            writeln!(
                m.file,
                "step,seconds,{},images_per_s,frechet",
                names.join(",")
            )
            .map_err(output::io)?;
        }
        Ok(m)
    }

    fn append(
        &mut self,
        step: u64,
        seconds: f64,
        stats: &[f32],
        images_per_s: f64,
        frechet: Option<f64>,
    ) -> Result<()> {
        let frechet = frechet.map_or(String::new(), |d| format!("{d:.4}"));
        let values: Vec<String> = stats.iter().map(|v| v.to_string()).collect();
        writeln!(
            self.file,
            "{step},{seconds:.2},{},{images_per_s:.1},{frechet}",
            values.join(",")
        )
        .map_err(output::io)
    }
}

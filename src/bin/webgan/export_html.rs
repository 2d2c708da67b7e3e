//! `webgan export --format html`: the generator page (www/share/, filled in by
//! webgan::share) for a checkpoint, as one HTML file. The page's template, script and style are
//! inside this binary; the wasm package is read from www/pkg (or `--pkg`), where
//! ./build.sh build puts it.

use std::path::{Path, PathBuf};

use webgan::share::{self, page::snippet_paths, PageParts};
use webgan::{Error, Result};

use crate::export::ExportArgs;
use crate::output;

const TEMPLATE: &str = include_str!("../../../www/share/generator.html");
const SCRIPT: &str = include_str!("../../../www/share/generator.js");
const STYLE: &str = include_str!("../../../www/share/generator.css");

/// Where ./build.sh build leaves the wasm package of the source tree this binary came from.
fn default_pkg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/pkg")
}

/// The wasm package as ./build.sh build leaves it.
struct Package {
    /// webgan.js, wasm-bindgen's glue.
    glue: String,
    /// (path, text) of each JavaScript snippet the glue imports.
    snippets: Vec<(String, String)>,
    /// webgan_bg.wasm.
    wasm: Vec<u8>,
}

fn package(dir: &Path) -> Result<Package> {
    let missing = |what: &str| {
        Error::Invalid(format!(
            "the page's {what} is not in {}: build the page first with ./build.sh build (or give --pkg the folder that holds webgan.js and webgan_bg.wasm)",
            dir.display()
        ))
    };
    let glue = std::fs::read_to_string(dir.join("webgan.js")).map_err(|_| missing("webgan.js"))?;
    let wasm = std::fs::read(dir.join("webgan_bg.wasm")).map_err(|_| missing("webgan_bg.wasm"))?;
    let snippets = snippet_paths(&glue)
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(dir.join(&path)).map_err(|_| missing(&path))?;
            Ok((path, text))
        })
        .collect::<Result<_>>()?;
    Ok(Package {
        glue,
        snippets,
        wasm,
    })
}

pub fn export(args: &ExportArgs) -> Result<()> {
    if args.out.is_dir() {
        return Err(Error::Invalid(format!(
            "--out {} is a folder: give a file name, e.g. my-gan.html",
            args.out.display()
        )));
    }
    let bytes = output::read(&args.checkpoint)?;
    let generator = share::generator_only(&bytes, args.half)
        .map_err(|e| Error::Invalid(format!("{}: {e}", args.checkpoint.display())))?;
    let package = package(&args.pkg.clone().unwrap_or_else(default_pkg))?;
    let parts = PageParts {
        html: TEMPLATE,
        script: SCRIPT,
        css: STYLE,
        glue: &package.glue,
        snippets: package.snippets,
        wasm: &package.wasm,
    };
    let page = share::fill(&parts, &generator, args.half)?;
    output::write_atomically(&args.out, page.as_bytes())?;
    eprintln!(
        "wrote {} ({:.1} MB: a {} generator, {:.2} MB of weights{})",
        args.out.display(),
        page.len() as f64 / 1e6,
        generator.model,
        generator.bytes.len() as f64 / 1e6,
        if args.half { " as 16-bit floats" } else { "" }
    );
    Ok(())
}

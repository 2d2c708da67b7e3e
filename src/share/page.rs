//! The generator page: its template (www/share/generator.html) filled in with its style, its
//! script, the wasm and its wasm-bindgen glue, and the generator's weights, into one HTML file
//! that needs no server and no network. Everything binary or foreign goes in base64 inside
//! `<script type="application/octet-stream">` elements, which the browser neither runs nor
//! fetches; the page's script (generator.js) turns the glue and its snippets into blob: modules.

use crate::share::GeneratorFile;
use crate::{Error, Result};

/// What the page is made of, as built: the template, its script and style, and the wasm
/// package (`webgan.js`, the JavaScript snippets it imports, `webgan_bg.wasm`).
pub struct PageParts<'a> {
    pub html: &'a str,
    pub script: &'a str,
    pub css: &'a str,
    pub glue: &'a str,
    /// (path relative to the package, e.g. `snippets/webgan-…/inline0.js`, its text)
    pub snippets: Vec<(String, String)>,
    pub wasm: &'a [u8],
}

/// The snippets the glue imports (`import … from "./snippets/…"`), as paths relative to the
/// package, each once.
pub fn snippet_paths(glue: &str) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for line in glue.lines().filter(|l| l.starts_with("import ")) {
        let quoted = line.split(['"', '\'']).nth(1);
        if let Some(path) = quoted.and_then(|q| q.strip_prefix("./")) {
            if path.starts_with("snippets/") && !paths.iter().any(|p| p == path) {
                paths.push(path.to_string());
            }
        }
    }
    paths
}

/// The page for `generator`: one HTML file. `half` says the weights are stored as F16.
pub fn fill(parts: &PageParts, generator: &GeneratorFile, half: bool) -> Result<String> {
    for (what, text, end) in [
        ("generator.js", parts.script, "</script"),
        ("generator.css", parts.css, "</style"),
    ] {
        if text.to_ascii_lowercase().contains(end) {
            return Err(Error::Invalid(format!(
                "{what} contains `{end}`, which would end its element in the page early"
            )));
        }
    }
    let snippets = serde_json::Value::Object(
        parts
            .snippets
            .iter()
            .map(|(path, text)| (path.clone(), base64(text.as_bytes()).into()))
            .collect(),
    )
    .to_string();
    let value = |name: &str| -> Option<String> {
        Some(match name {
            "style" => parts.css.to_string(),
            "script" => parts.script.to_string(),
            "glue" => base64(parts.glue.as_bytes()),
            "snippets" => snippets.clone(),
            "wasm" => base64(parts.wasm),
            "weights" => base64(&generator.bytes),
            "half" => half.to_string(),
            "family" => generator.family.clone(),
            _ => return None,
        })
    };
    let template = parts.html;
    let mut out = String::with_capacity(template.len() + 2 * parts.wasm.len());
    let mut rest = template;
    // One pass: what is put in is never searched for placeholders itself.
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").map(|e| start + e).ok_or_else(|| {
            Error::Invalid("the page template has a `{{` without its `}}`".into())
        })?;
        let name = &rest[start + 2..end];
        let v = value(name).ok_or_else(|| {
            Error::Invalid(format!(
                "the page template names an unknown part {{{{{name}}}}}"
            ))
        })?;
        out.push_str(&rest[..start]);
        out.push_str(&v);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648), what the browser's `atob` reads.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

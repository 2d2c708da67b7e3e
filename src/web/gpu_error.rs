//! What the browser's WebGPU says when something goes wrong, made into a sentence for a person.
//!
//! Chrome's validation messages go on with a chain of where they happened (" - While calling
//! [Device].CreateBuffer([BufferDescriptor \"x\"])"): the first part says what is wrong, the
//! rest names API objects a person never sees.

/// The first sentence of a WebGPU error message, without its chain, with object names in words
/// and no final full stop (the caller places it in a sentence).
pub(crate) fn brief(message: &str) -> String {
    let first = message
        .split(" - While")
        .next()
        .unwrap_or(message)
        .split(". This adapter")
        .next()
        .unwrap_or(message);
    let mut out = String::new();
    let mut rest = first;
    // "[Buffer \"dataset\"]" → "buffer \"dataset\"", "[Device]" → "device".
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        out.push_str(&words(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    // "BufferUsage::(MapRead|MapWrite)" → "(MapRead|MapWrite)".
    while let Some(at) = out.find("::") {
        let start = out[..at]
            .rfind(|c: char| !c.is_alphanumeric())
            .map_or(0, |i| i + 1);
        out.replace_range(start..at + 2, "");
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // The first sentence says what is wrong; the next ones, how WebGPU's rules go.
    let first = out.split(". ").next().unwrap_or(&out);
    first.trim_end_matches('.').trim().to_string()
}

/// Whether the message is about a limit of the device (a buffer, binding or dispatch too
/// large), that is whether a smaller model would fit.
pub(crate) fn is_limit(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "limit",
        "maximum",
        "max ",
        "exceed",
        "larger than",
        "too large",
    ]
    .iter()
    .any(|w| m.contains(w))
}

/// `BindGroupDescriptor "x"` → `bind group descriptor "x"`.
fn words(name: &str) -> String {
    let mut out = String::new();
    let (kind, label) = name.split_once(' ').unwrap_or((name, ""));
    for (i, c) in kind.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    if !label.is_empty() {
        out.push(' ');
        out.push_str(label);
    }
    out
}

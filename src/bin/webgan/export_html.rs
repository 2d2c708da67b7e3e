//! `webgan export --format html`: not built yet (a placeholder that the HTML export replaces).

use webgan::{Error, Result};

use crate::export::ExportArgs;

pub fn export(_args: &ExportArgs) -> Result<()> {
    Err(Error::Invalid(
        "--format html is not built yet: use --format onnx".into(),
    ))
}

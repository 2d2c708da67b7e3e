//! placeholder: filled in by its kernel family

//! A trained generator as one self-contained web page: the generator's weights alone
//! (`weights.rs`), and the page that draws from them on the visitor's GPU, filled in from its
//! template in www/share/ (`page.rs`). The native `webgan export --format html` and the training
//! page's "Share as a web page" both go through here, so the two write the same page.

pub mod page;
pub mod weights;

pub use page::{fill, PageParts};
pub use weights::{generator_names, generator_only, GeneratorFile};

//! IO for [`BidiAgent::run`](crate::BidiAgent::run) that lives in this crate: text in a
//! terminal ([`BidiTextIO`]). Audio IO is in `bidi-audio`.

mod text;

pub use text::{BidiTextIO, TextInput, TextOutput};

//! The pure codec: bidi events to Nova Sonic's input events ([`encode`]), Nova Sonic's
//! output events to bidi events ([`parse`], [`Decoder`]), and history replay ([`history`]).
//! No I/O here: the connection and the simulator drive it.

mod decode;
pub mod encode;
mod history;

pub use decode::{CodecError, Decoded, Decoder, INTERRUPTED_TEXT, NovaEvent, Stage, parse};
pub use encode::NovaRole;
pub use history::{MAX_MESSAGE_BYTES, MAX_TOTAL_BYTES, history};

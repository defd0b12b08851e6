//! Runnable examples of bidi. Each file in this folder is an example, run from the
//! repository root with `cargo run --example NAME`; its header says what it shows.
//!
//! The library holds what examples share: [`assistant`], the program behind
//! `cargo run --example quickstart`, and [`offline`], the simulated model the other examples
//! talk to.
//!
//! The README's agent with a tool, compiled here so it stays true:
//!
//! ```no_run
//! use bidi_agent::{BidiAgent, audio::BidiAudioIO, tool};
//!
//! /// Get the weather for a city.
//! #[tool]
//! fn weather(city: String) -> String { format!("Sunny in {city}") }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let agent = BidiAgent::builder_default().tool(weather).build()?; // Nova Sonic
//!     agent.run_io(BidiAudioIO::new()).await?; // microphone in, speaker out
//!     Ok(())
//! }
//! ```

pub mod assistant;
pub mod offline;

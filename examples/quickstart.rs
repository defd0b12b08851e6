//! Quickstart: a voice assistant with two tools (`current_time`, `calculator`), in one
//! command, on any machine.
//!
//! ```text
//! cargo run --example quickstart                       # offline: the simulator, text or audio
//! cargo run --example quickstart -- --text             # type (or pipe) lines
//! cargo run --example quickstart -- --provider openai  # OPENAI_API_KEY; also nova-sonic, gemini
//! cargo run --example quickstart -- --json </dev/null  # the demo, as JSON events
//! cargo run --example quickstart -- --input-wav in.wav --output-wav out.wav
//! cargo run --example quickstart -- --provider openai --endpoint ws://127.0.0.1:PORT/v1/realtime
//! ```
//!
//! The provider comes from `--provider`, else from the environment: AWS credentials
//! (`AWS_ACCESS_KEY_ID` or `AWS_PROFILE`) → Nova Sonic, `OPENAI_API_KEY` → OpenAI,
//! `GEMINI_API_KEY`/`GOOGLE_API_KEY` → Gemini; with none, the offline simulator starts
//! in-process (`--sim-protocol openai|gemini|nova-sonic`, default openai) with a demo
//! scenario. `--endpoint URL` points a provider's client at another server, such as a
//! `bidi-sim` started with `cargo run -p bidi-sim` (a loopback endpoint needs no
//! credentials: the provider's from the environment are used when set, else a placeholder).
//!
//! Every failure is one line on stderr and a nonzero exit: 1 in general, 2 for bad flags,
//! 3 when the provider rejected the credentials, e.g.
//! `error: openai rejected the credentials at wss://...: check OPENAI_API_KEY (invalid_api_key: ...)`.
//!
//! Audio uses the microphone and speaker when stdin is a terminal and both can really be
//! opened (probed first; ALSA's own messages are never printed). At a terminal without them
//! (a cloud VM over SSH, a container) it says `no microphone or speaker found: using text
//! (pass --text to skip this check)` and the conversation is text: lines from stdin,
//! transcripts on stdout, Ctrl-D ends. With nothing on
//! stdin (CI, `</dev/null`) and the simulator, a short demo conversation plays and the run
//! ends. A scripted run ends when its input is exhausted and every line was answered.
//! `--help` lists every flag; see docs/testing.md for the simulator.

fn main() -> std::process::ExitCode {
    bidi_examples::assistant::main()
}

//! The quickstart (`cargo run --example quickstart`) as a binary, so tests run it as a
//! process through `CARGO_BIN_EXE_bidi-quickstart`.

fn main() -> std::process::ExitCode {
    bidi_examples::assistant::main()
}

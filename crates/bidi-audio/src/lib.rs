//! Audio IO for bidi: `BidiAudioIO` captures the microphone and plays the model's speech
//! through cpal, moves samples between the real-time audio callbacks and tokio through
//! lock-free `ringbuf` SPSC buffers, resamples with `rubato` between the device's rate and
//! the model's, and flushes playback within one device period when the user interrupts.
//!
//! It implements [`bidi_types::BidiInput`] and [`bidi_types::BidiOutput`]. The devices land
//! with the audio issue; until then this crate exposes nothing.

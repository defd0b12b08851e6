//! [`EchoMode`] (what the canceller does) and the AEC3 tuning bidi uses.

use std::fmt;
use std::str::FromStr;

use sonora_aec3::config::EchoCanceller3Config;

use crate::AudioError;

/// What the echo canceller does to the microphone signal.
///
/// Parsed from and shown as the strings of the `echo_cancel` example's `--mode`:
///
/// ```
/// use bidi_audio::aec::EchoMode;
/// assert_eq!("aec+ns".parse::<EchoMode>().ok(), Some(EchoMode::AecNs));
/// assert_eq!(EchoMode::Aec.to_string(), "aec");
/// assert!("echo".parse::<EchoMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EchoMode {
    /// The microphone passes through untouched (no delay either).
    Off,
    /// Acoustic echo cancellation (the far end aligned by bidi's delay estimator, then
    /// AEC3: delay estimation, linear filter, residual suppressor), after an 80 Hz
    /// high-pass filter.
    Aec,
    /// [`Aec`](Self::Aec), then stationary noise suppression (WebRTC's noise suppressor,
    /// moderate level: ~12 dB).
    #[default]
    AecNs,
}

impl EchoMode {
    /// The mode's name: `off`, `aec` or `aec+ns`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Aec => "aec",
            Self::AecNs => "aec+ns",
        }
    }

    /// Whether the echo canceller runs.
    pub fn cancels_echo(self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Whether the noise suppressor runs.
    pub fn suppresses_noise(self) -> bool {
        matches!(self, Self::AecNs)
    }
}

impl fmt::Display for EchoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EchoMode {
    type Err = AudioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "aec" => Ok(Self::Aec),
            "aec+ns" => Ok(Self::AecNs),
            _ => Err(AudioError::InvalidOption {
                option: "echo_mode",
                value: s.to_owned(),
                reason: "expected off, aec or aec+ns",
            }),
        }
    }
}

/// The AEC3 configuration bidi runs, at 16 kHz.
///
/// Changes from WebRTC's defaults, measured with `tests/it/echo.rs` and the `echo`
/// benchmark (docs/audio.md, "Echo cancellation"): a longer linear filter, so it models more
/// of a room's reverberant tail instead of leaving it to the suppressor, and a suppressor
/// that lets the near-end talker through during double talk. Every barge-in is double talk;
/// with the defaults the near-end talker's median 10 ms frame lost 15 dB in the
/// double-talk test, with these 2.5 dB, for 0-4 dB less ERLE on far-end-only speech.
pub(crate) fn aec3_config() -> EchoCanceller3Config {
    let mut c = EchoCanceller3Config::default();
    // The linear filter: 40 blocks (160 ms at 16 kHz) instead of 13 (52 ms). Longer (48,
    // 64) converged more slowly and lost ERLE within the first seconds.
    c.filter.refined.length_blocks = 40;
    c.filter.coarse.length_blocks = 40;
    // How much of the echo the suppressor assumes the linear filter removed (power ratio,
    // low / high bands; defaults 4 and 1.5): with the longer filter it removes more, so the
    // suppressor need not assume the worst.
    c.erle.max_l = 8.0;
    c.erle.max_h = 4.0;
    // While the near-end talker dominates, stay transparent up to a larger echo-to-near-end
    // ratio (defaults: 1.09-1.1 low bands, 0.1-0.3 high bands).
    c.suppressor.nearend_tuning.mask_lf.enr_transparent = 6.0;
    c.suppressor.nearend_tuning.mask_lf.enr_suppress = 8.0;
    c.suppressor.nearend_tuning.mask_hf.enr_transparent = 2.0;
    c.suppressor.nearend_tuning.mask_hf.enr_suppress = 3.0;
    c.validate();
    c
}

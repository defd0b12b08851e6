//! The device probe, in a child process with a given ALSA configuration (see
//! `common::sandboxed`), so that its stderr can be read: with no sound device it reports
//! `NoDevice` for both directions, with the virtual devices it finds them (and a listed
//! device that cannot be opened is `NoDevice`), and in every case alsa-lib's `ALSA lib ...`
//! messages reach `tracing`, never stderr.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use bidi_audio::{AudioError, BidiAudioIO, DeviceSelector, Direction, probe};
use bidi_types::{BidiInput, IoError, SampleRate};
use common::*;
use cpal::traits::{DeviceTrait, HostTrait};

/// Printed by the child once the code under test is done and the control begins.
const CONTROL: &str = "--- control: cpal called directly ---";

/// Sends this process's `tracing` events, debug and up, into `log` (the probe logs from
/// threads of its own, so the subscriber is global).
fn collect_logs() -> Arc<Mutex<Vec<u8>>> {
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared(log.clone());
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || shared.clone())
        .init();
    log
}

fn logged(log: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&log.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// The same question as the probe's, asked of cpal on this thread, where nothing catches
/// alsa-lib's messages: shows the configuration does make ALSA print. `id` is the device
/// asked about (`alsa:default`, `alsa:vbroken`).
fn control(id: &str) {
    eprintln!("{CONTROL}");
    let host = cpal::default_host();
    let device = if id == "alsa:default" {
        host.default_output_device()
    } else {
        host.output_devices()
            .ok()
            .and_then(|mut all| all.find(|d| d.id().is_ok_and(|i| i.to_string() == id)))
    };
    let device = device.unwrap_or_else(|| panic!("cpal does not list {id}"));
    assert!(device.default_output_config().is_err(), "{id} opened");
}

/// Splits the child's stderr at the control marker: before it, the code under test.
fn stderr_before_control(out: &std::process::Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let (before, after) = stderr
        .split_once(CONTROL)
        .unwrap_or_else(|| panic!("the control never ran: {stderr}"));
    (before.to_owned(), after.to_owned())
}

#[test]
fn with_no_sound_device_both_directions_are_no_device_and_alsa_stays_quiet() {
    let test = "probe::with_no_sound_device_both_directions_are_no_device_and_alsa_stays_quiet";
    let Some(out) = sandboxed(test, Alsa::Empty, |_dir| {
        let log = collect_logs();
        for direction in [Direction::Input, Direction::Output] {
            let e = probe(direction, &DeviceSelector::Default)
                .err()
                .unwrap_or_else(|| panic!("{direction}: found a device in an empty config"));
            let AudioError::NoDevice {
                direction: d,
                wanted,
                available,
            } = &e
            else {
                panic!("{direction}: expected NoDevice, got {e}");
            };
            assert_eq!((*d, wanted.as_str()), (direction, "default"));
            assert_eq!(available, "", "an empty config lists nothing");
            assert!(e.to_string().contains("(available: none)"), "{e}");
        }
        let e = BidiAudioIO::new()
            .check()
            .err()
            .unwrap_or_else(|| panic!("check passed with no devices"));
        assert!(
            matches!(
                e,
                AudioError::NoDevice {
                    direction: Direction::Input,
                    ..
                }
            ),
            "{e}"
        );
        // Opening the microphone for real fails the same way, as quietly.
        let started = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
            .block_on(async {
                let agent = Arc::new(Agent::new(SampleRate::Hz16000, SampleRate::Hz24000));
                BidiAudioIO::new().input().start(agent).await
            });
        match started {
            Err(IoError::Other(inner)) => assert!(
                matches!(
                    inner.downcast_ref::<AudioError>(),
                    Some(AudioError::NoDevice { .. })
                ),
                "{inner}"
            ),
            other => panic!("expected NoDevice from start, got {other:?}"),
        }
        // alsa-lib's complaint went to tracing.
        let log = logged(&log);
        assert!(
            log.contains("Unknown PCM default") && log.contains("alsa-lib message"),
            "alsa-lib's messages are logged at debug: {log}"
        );
        control("alsa:default");
    }) else {
        return;
    };
    assert_sandbox_passed(test, &out);
    let (tested, control) = stderr_before_control(&out);
    assert!(!tested.contains("ALSA lib"), "ALSA noise: {tested}");
    assert!(
        control.contains("ALSA lib"),
        "the control shows an empty config makes alsa-lib print: {control}"
    );
}

#[test]
fn with_the_virtual_devices_the_probe_finds_them_quietly() {
    let test = "probe::with_the_virtual_devices_the_probe_finds_them_quietly";
    let Some(out) = sandboxed(test, Alsa::Virtual, |_dir| {
        let log = collect_logs();
        let (mic, speaker) = BidiAudioIO::new()
            .check()
            .unwrap_or_else(|e| panic!("the default devices: {e}"));
        assert_eq!(
            (mic.direction, speaker.direction),
            (Direction::Input, Direction::Output)
        );
        assert!(mic.name.contains("alsa:default"), "{mic}");
        assert_eq!((mic.sample_rate, mic.channels), (48_000, 2), "{mic}");
        assert_eq!(
            (speaker.sample_rate, speaker.channels),
            (48_000, 2),
            "{speaker}"
        );
        assert!(
            ["f32", "i16"].contains(&mic.sample_format.as_str()),
            "{mic}"
        );
        let vcap = probe(Direction::Input, &DeviceSelector::Name("vcap".into()))
            .unwrap_or_else(|e| panic!("vcap: {e}"));
        assert!(vcap.name.contains("alsa:vcap"), "{vcap}");
        let vplay = probe(Direction::Output, &DeviceSelector::Name("vplay".into()))
            .unwrap_or_else(|e| panic!("vplay: {e}"));
        assert!(vplay.name.contains("alsa:vplay"), "{vplay}");
        let e = probe(
            Direction::Input,
            &DeviceSelector::Name("no-such-mic".into()),
        )
        .err()
        .unwrap_or_else(|| panic!("found no-such-mic"));
        assert!(
            matches!(&e, AudioError::NoDevice { wanted, available, .. }
                if wanted == "name=<no-such-mic>" && available.contains("vcap")),
            "{e}"
        );
        // Listed, but it cannot be opened: no device, and alsa-lib's complaint is logged.
        let e = probe(Direction::Output, &DeviceSelector::Name("vbroken".into()))
            .err()
            .unwrap_or_else(|| panic!("opened vbroken"));
        assert!(
            matches!(&e, AudioError::NoDevice { wanted, available, .. }
                if wanted == "name=<vbroken>" && available.contains("vplay")
                    && !available.contains("vbroken")),
            "{e}"
        );
        let log = logged(&log);
        assert!(
            log.contains("bidi_no_such_pcm"),
            "alsa-lib's messages are logged: {log}"
        );
        control("alsa:vbroken");
    }) else {
        return;
    };
    assert_sandbox_passed(test, &out);
    let (tested, control) = stderr_before_control(&out);
    assert!(!tested.contains("ALSA lib"), "ALSA noise: {tested}");
    assert!(
        control.contains("ALSA lib"),
        "the control shows vbroken makes alsa-lib print: {control}"
    );
}

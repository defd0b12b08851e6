//! The room between a loopback speaker and microphone (`vloop_play` and `vloop_cap` of the
//! ALSA sandbox, `Alsa::Loopback`): a thread that reads what the speaker plays from its FIFO
//! and writes it, delayed, attenuated and with a few reflections, plus microphone hiss, into
//! the microphone's FIFO at real-time pace. It is the two devices' clock.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};

use crate::echo_room::Noise;

/// The devices' rate.
pub const RATE: u32 = 48_000;
/// The room's step: 512 frames (the microphone's period, so each write of the room is one
/// period, and 4096 bytes of stereo f32: one atomic pipe write).
pub const STEP: usize = 512;

/// The room between the speaker and the microphone: the direct echo `delay_ms` after the
/// sound left the speaker at `gain` (amplitude), then reflections (ms after the direct
/// sound, amplitude relative to it), and microphone hiss at -60 dBFS.
#[derive(Debug, Clone, Copy)]
pub struct Echo {
    /// When the direct echo arrives, after the sound left the speaker.
    pub delay_ms: u32,
    /// Its amplitude relative to what the speaker played.
    pub gain: f32,
}

const REFLECTIONS: [(u32, f32); 6] = [
    (7, 0.45),
    (17, -0.3),
    (29, 0.2),
    (47, -0.12),
    (71, 0.07),
    (103, -0.04),
];

/// What the room measured.
#[derive(Debug, Default)]
pub struct RoomStats {
    /// Steps written to the microphone.
    pub steps: AtomicU64,
    /// Steps the microphone's FIFO had no room for (dropped: the device was not reading).
    pub dropped: AtomicU64,
    /// Steps with audio from the speaker (it was open and playing).
    pub speaker_steps: AtomicU64,
    /// Steps whose echo alone (without the hiss) was at least `loud_dbfs` ([`Room::start`]).
    pub loud_echo_steps: AtomicU64,
}

/// The room's thread; stops when dropped or [`Room::stop`]ped.
pub struct Room {
    quit: Arc<AtomicBool>,
    stats: Arc<RoomStats>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Room {
    /// Opens both FIFOs (the microphone's read-write, so the device's blocking `open` of its
    /// input returns at once, and neither side ever sees the other closed) and starts.
    pub fn start(dir: &Path, echo: Echo, loud_dbfs: f64) -> std::io::Result<Self> {
        let open = |name: &str, flags: OFlags| -> std::io::Result<File> {
            let fd = rustix::fs::open(
                dir.join(name),
                flags | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            Ok(File::from(fd))
        };
        let speaker = open("loop_out.fifo", OFlags::RDONLY)?;
        // One page: the speaker runs at most 4096 bytes (21 ms) ahead of the room, plus the
        // `file` plugin's own buffer (one device buffer).
        rustix::pipe::fcntl_setpipe_size(&speaker, 4096)?;
        let mic = open("loop_in.fifo", OFlags::RDWR)?;
        let quit = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(RoomStats::default());
        let (q, s) = (quit.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("room".into())
            .spawn(move || room(speaker, mic, echo, loud_dbfs, &q, &s))?;
        Ok(Self {
            quit,
            stats,
            thread: Some(thread),
        })
    }

    /// Stops the thread; what it measured.
    pub fn stop(mut self) -> Arc<RoomStats> {
        self.quit.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(r) => r.unwrap_or_else(|e| panic!("the room failed: {e}")),
                Err(_) => panic!("the room panicked"),
            }
        }
        self.stats.clone()
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Release);
    }
}

/// The room's loop: one step of [`STEP`] frames every 10.7 ms by the clock (late steps
/// catch up): take a step of what the speaker played (silence when it is closed), add it to
/// the room's history, write the echo plus hiss to the microphone.
fn room(
    mut speaker: File,
    mut mic: File,
    echo: Echo,
    loud_dbfs: f64,
    quit: &AtomicBool,
    stats: &RoomStats,
) -> std::io::Result<()> {
    let ms = |ms: u32| (ms * RATE / 1000) as usize;
    let taps: Vec<(usize, f32)> = std::iter::once((ms(echo.delay_ms), echo.gain))
        .chain(
            REFLECTIONS
                .iter()
                .map(|&(d, g)| (ms(echo.delay_ms + d), echo.gain * g)),
        )
        .collect();
    let longest = taps.iter().map(|t| t.0).max().unwrap_or(0);
    let size = longest + 2 * STEP;
    let mut history = vec![0.0f32; size];
    let mut at = 0usize;
    let mut pending: Vec<u8> = Vec::with_capacity(STEP * 4);
    let mut buf = [0u8; STEP * 4];
    let mut out = Vec::with_capacity(STEP * 8);
    let mut noise = Noise::new(24);
    let loud = 10f64.powf(loud_dbfs / 10.0);
    let period = Duration::from_secs_f64(STEP as f64 / f64::from(RATE));
    let start = Instant::now();
    let mut step = 0u32;
    while !quit.load(Ordering::Acquire) {
        let due = start + period * step;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // What the speaker played in this step: s16le stereo; wait a little for a speaker
        // that is open but behind (a real device would underrun), none for a closed one.
        let patience = Instant::now() + Duration::from_millis(20);
        while pending.len() < STEP * 4 {
            match speaker.read(&mut buf[..STEP * 4 - pending.len()]) {
                Ok(0) => break,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= patience {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        let frames = (pending.len() / 4).min(STEP);
        if frames > 0 {
            stats.speaker_steps.fetch_add(1, Ordering::Relaxed);
        }
        for i in 0..STEP {
            let x = if i < frames {
                f32::from(i16::from_le_bytes([pending[4 * i], pending[4 * i + 1]])) / 32_768.0
            } else {
                0.0
            };
            history[(at + i) % size] = x;
        }
        pending.drain(..frames * 4);
        out.clear();
        let mut energy = 0.0f64;
        for i in 0..STEP {
            let t = at + i + size;
            let y: f32 = taps.iter().map(|&(d, g)| g * history[(t - d) % size]).sum();
            energy += f64::from(y) * f64::from(y);
            let s = y + 0.001 * noise.next(); // -60 dBFS, as `echo_room::hiss`
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        }
        at = (at + STEP) % size;
        if energy / STEP as f64 >= loud {
            stats.loud_echo_steps.fetch_add(1, Ordering::Relaxed);
        }
        match mic.write(&out) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
        stats.steps.fetch_add(1, Ordering::Relaxed);
        step += 1;
    }
    Ok(())
}

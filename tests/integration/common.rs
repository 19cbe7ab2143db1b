//! Shared helpers: running the pipeline on files and buffers, test signals,
//! and the Debian-packaged speech corpus.

use std::path::{Path, PathBuf};

use heyplayer::audio::stdin::RawPcmSource;
use heyplayer::audio::wav::WavSource;
use heyplayer::config::Config;
use heyplayer::events::Event;
use heyplayer::pipeline::collect_events;

/// The default config (models from the default directory).
pub fn config() -> Config {
    Config::default()
}

/// Every event heyplayer gives for a WAV file.
pub fn file_events(path: &Path) -> Vec<Event> {
    let src = WavSource::open(path, false).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    collect_events(src, &config()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every event for mono f32 samples at `rate`, fed through the raw-PCM source.
pub fn pcm_events(samples: &[f32], rate: u32) -> Vec<Event> {
    let bytes = to_s16le(samples);
    let src = RawPcmSource::new(std::io::Cursor::new(bytes), "buffer", rate, 1).unwrap();
    collect_events(src, &config()).unwrap()
}

/// Converts to raw s16le bytes.
pub fn to_s16le(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        .collect()
}

/// (start, stop) of every speech segment, in ms.
pub fn segments(events: &[Event]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut start = None;
    for ev in events {
        match ev {
            Event::VoiceStarted { t_ms } => start = Some(*t_ms),
            Event::VoiceStopped { t_ms, .. } => {
                out.push((start.take().expect("stop without start"), *t_ms));
            }
            _ => {}
        }
    }
    assert!(start.is_none(), "segment left open: {events:?}");
    out
}

/// A deterministic pseudo-random generator (xorshift), uniform in [-1, 1).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// White noise at `amp` peak.
pub fn white(n: usize, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Noise::new(seed);
    (0..n).map(|_| r.next() * amp).collect()
}

/// Brown (integrated, leaky) noise normalised to `amp` peak.
pub fn brown(n: usize, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Noise::new(seed);
    let mut acc = 0.0f32;
    let mut v: Vec<f32> = (0..n)
        .map(|_| {
            acc = acc * 0.998 + r.next() * 0.05;
            acc
        })
        .collect();
    let peak = v.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(1e-9);
    v.iter_mut().for_each(|s| *s *= amp / peak);
    v
}

/// A sine of `freq` Hz at `amp` peak.
pub fn sine(n: usize, rate: u32, freq: f32, amp: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * amp)
        .collect()
}

/// Where Debian's asterisk-core-sounds-en-wav puts its prompts.
pub const ASTERISK_EN: &str = "/usr/share/asterisk/sounds/en";
/// The transcripts, from the asterisk-core-sounds-en package.
pub const ASTERISK_EN_INDEX: &str = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";

/// Spoken prompts (name, file, transcript), bracketed tone entries left out.
pub fn asterisk_prompts() -> Vec<(String, PathBuf, String)> {
    let out = std::process::Command::new("gzip")
        .args(["-dc", ASTERISK_EN_INDEX])
        .output()
        .unwrap_or_else(|e| panic!("gzip: {e}"));
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{ASTERISK_EN_INDEX} is missing: run `make test`, which installs asterisk-core-sounds-en and asterisk-core-sounds-en-wav"
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut v = Vec::new();
    for line in text.lines() {
        let Some((name, said)) = line.split_once(':') else {
            continue;
        };
        let said = said.trim();
        if line.starts_with(';') || said.starts_with('[') || said.is_empty() {
            continue;
        }
        let path = Path::new(ASTERISK_EN).join(format!("{name}.wav"));
        if path.is_file() {
            v.push((name.to_string(), path, said.to_string()));
        }
    }
    assert!(
        v.len() > 100,
        "only {} prompts found in {ASTERISK_EN}: run `make test`",
        v.len()
    );
    v
}

/// Reads a WAV file as mono f32 at its own rate (for reference measurements).
pub fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let ch = spec.channels as usize;
    let raw: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let mono = raw
        .chunks(ch)
        .map(|c| c.iter().sum::<f32>() / ch as f32)
        .collect();
    (mono, spec.sample_rate)
}

/// The speech extent of a clean recording by energy: first and last 10 ms
/// frame within 30 dB of the loudest one (and above -55 dBFS), in ms.
pub fn energy_extent(samples: &[f32], rate: u32) -> Option<(u64, u64)> {
    let hop = (rate / 100) as usize;
    let levels: Vec<f32> = samples
        .chunks(hop)
        .map(|c| 10.0 * (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32 + 1e-12).log10())
        .collect();
    let peak = levels.iter().cloned().fold(f32::MIN, f32::max);
    let thr = (peak - 30.0).max(-55.0);
    let first = levels.iter().position(|&l| l >= thr)?;
    let last = levels.iter().rposition(|&l| l >= thr)?;
    Some((first as u64 * 10, (last as u64 + 1) * 10))
}

/// One Whisper-heavy test at a time: whisper.cpp's threads spin at their
/// barriers, so two 2-thread decodes on a 2-core machine slow each other down
/// many times over. Hold the guard for the whole test.
pub fn whisper_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Clips of the generated wake corpus (`tests/out/wake/pos/ID.wav`: "hey
/// player, <command>" in held-out voices), one after the other in `out`.
pub fn spoken_commands(ids: &[&str], out: &Path) -> PathBuf {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/out/wake/pos");
    let mut all = Vec::new();
    for id in ids {
        let p = corpus.join(format!("{id}.wav"));
        let mut r = hound::WavReader::open(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (run `make test-data`)", p.display()));
        all.extend(r.samples::<i16>().map(Result::unwrap));
    }
    write_wav16(out, all);
    out.to_path_buf()
}

/// Writes 16 kHz mono 16-bit samples to `path`.
pub fn write_wav16(path: &Path, samples: impl IntoIterator<Item = i16>) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// The events a finished `heyplayer listen` printed; its run must have succeeded.
pub fn events_of(out: &std::process::Output) -> Vec<Event> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line {l:?}: {e}")))
        .collect()
}

/// Runs the heyplayer binary with `args` and `--data-dir data`, the models
/// of [`config`], no stdin, and stdout and stderr captured (not a terminal).
pub fn heyplayer(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_heyplayer"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("HEYPLAYER_MODELS_DIR", config().models_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

//! Prints the VAD's per-frame evidence for a WAV file: t_ms, webrtc, level,
//! floor, Silero probability, decision. For tuning and bug reports.
//!
//!     cargo run --example vad_trace -- FILE.wav
use anyhow::{Context, Result};
use heyplayer::audio::wav::WavSource;
use heyplayer::audio::{FrameStream, Item};
use heyplayer::config::Config;
use heyplayer::models;
use heyplayer::vad::VoiceDetector;

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: vad_trace FILE.wav")?;
    let cfg = Config::default();
    let silero = models::locate("silero-vad", &cfg.models_dir)?;
    let mut det = VoiceDetector::new(&cfg.vad, &silero.path)?;
    let mut fs = FrameStream::new(WavSource::open(path.as_ref(), false)?)?;
    let mut err = None;
    while fs.pump(|it| {
        if let Item::Frame { t_ms, frame } = it {
            match det.decide(frame) {
                Ok(d) => println!(
                    "{t_ms:>6} webrtc={} level={:>6.1} floor={:>6.1} silero={:.3} {}",
                    d.webrtc as u8,
                    d.level_db,
                    d.floor_db,
                    d.silero,
                    if d.speech { "SPEECH" } else { "" }
                ),
                Err(e) => err = Some(e),
            }
        }
    })? {}
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(())
}

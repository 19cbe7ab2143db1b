//! Front-end throughput: WAV file source + resample (48 -> 16 kHz) + VAD, on
//! one core, as a real-time factor (goal: >= 500x real time), and the
//! wake-word stage (goal: >= 100x).
//!
//!     cargo bench --bench frontend            (or: make bench)
//!
//! The input is the bundled demo recording (speech with pauses over a faint
//! noise bed) upsampled to 48 kHz stereo and repeated to 66 s, written to a
//! temporary WAV file. Besides criterion's timings, each group prints the
//! real-time factor (audio seconds / processing seconds).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use heyplayer::audio::wav::WavSource;
use heyplayer::audio::{AudioSource, FrameStream, Item, Read};
use heyplayer::config::Config;
use heyplayer::models;
use heyplayer::pipeline;
use heyplayer::vad::{FrameVad, Silero, VoiceDetector};

const REPEAT: usize = 4;

mod common;
use common::report;

fn make_input(dir: &Path) -> (std::path::PathBuf, f64) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
    let mut r = hound::WavReader::open(&demo).expect("examples/demo.wav");
    let x: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let path = dir.join("bench48.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    let mut n = 0usize;
    for _ in 0..REPEAT {
        for pair in x.windows(2) {
            for k in 0..3 {
                // Linear interpolation x3: fine for a throughput input.
                let v = (pair[0] as f32 * (3 - k) as f32 + pair[1] as f32 * k as f32) / 3.0;
                w.write_sample(v as i16).unwrap();
                w.write_sample(v as i16).unwrap();
                n += 1;
            }
        }
    }
    w.finalize().unwrap();
    (path, n as f64 / 48_000.0)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (path, audio_s) = make_input(dir.path());
    let cfg = Config::default();
    let silero = models::locate("silero-vad", &cfg.models_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("frontend");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements((audio_s * 1000.0) as u64)); // ms of audio

    // The whole front end, as `heyplayer listen --input FILE` runs it.
    let full = |p: &Path| {
        let det = VoiceDetector::new(&cfg.vad, &silero.path).unwrap();
        pipeline::run(
            WavSource::open(p, false).unwrap(),
            det,
            None,
            &AtomicBool::new(false),
            |_| Ok(()),
        )
        .unwrap()
    };
    let t = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        full(&path);
    }
    report("file + resample + VAD (full)", audio_s, runs, t.elapsed());
    g.bench_function("file_resample_vad", |b| b.iter(|| full(&path)));

    // Parts, to see where the time goes.
    let source_resample = |p: &Path| {
        let mut fs = FrameStream::new(WavSource::open(p, false).unwrap()).unwrap();
        let mut n = 0u64;
        while fs
            .pump(|it| {
                if let Item::Frame { .. } = it {
                    n += 1
                }
            })
            .unwrap()
        {}
        n
    };
    let t = Instant::now();
    for _ in 0..runs {
        source_resample(&path);
    }
    report("file + resample only", audio_s, runs, t.elapsed());
    g.bench_function("file_resample", |b| b.iter(|| source_resample(&path)));

    // Silero alone on the same 16 kHz frames.
    let mut frames = Vec::new();
    let mut fs = FrameStream::new(WavSource::open(&path, false).unwrap()).unwrap();
    while fs
        .pump(|it| {
            if let Item::Frame { frame, .. } = it {
                frames.push(*frame)
            }
        })
        .unwrap()
    {}
    let t = Instant::now();
    let mut s = Silero::load(&silero.path).unwrap();
    for f in &frames {
        s.push(f).unwrap();
    }
    report("Silero alone", audio_s, 1, t.elapsed());
    let t = Instant::now();
    let mut v = FrameVad::new(&cfg.vad, &silero.path).unwrap();
    for f in &frames {
        v.push(f).unwrap();
    }
    report(
        "FrameVad (webrtc + floor + Silero)",
        audio_s,
        1,
        t.elapsed(),
    );
    // The wake-word stage (mel + embedding + head every 80 ms). Goal: >= 100x.
    let wake = pipeline::wake_models(&cfg).expect("wake models: run `make models`");
    let t = Instant::now();
    let mut d = heyplayer::wake::WakeDetector::new(wake.clone(), cfg.wake.detector);
    for f in &frames {
        d.push(f).unwrap();
    }
    report("wake stage (features + head)", audio_s, 1, t.elapsed());
    g.bench_function("wake_stage", |b| {
        b.iter(|| {
            let mut d = heyplayer::wake::WakeDetector::new(wake.clone(), cfg.wake.detector);
            for f in &frames {
                d.push(f).unwrap();
            }
        })
    });
    g.finish();
    let _ = (Read::End, <WavSource as AudioSource>::info);
}

criterion_group!(benches, bench);
criterion_main!(benches);

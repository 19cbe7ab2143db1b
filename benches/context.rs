//! Context classification cost: one 4 s gated clip (the first 4 s of the
//! bundled demo recording, speech mask from the VAD) through
//! `ContextStage::classify`, on one core. Goal (issue 7): <= 30 ms.
//!
//! Beside it (issue 33), CED-tiny on the same clip, as the stage would run it:
//! its two 2 s windows (`ced_two_windows`: one for the background part, one
//! for the speech part of a 4 s clip), and one window alone.
//!
//!     cargo bench --bench context

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use heyplayer::app::context as file;
use heyplayer::audio::wav::WavSource;
use heyplayer::config::Config;
use heyplayer::context::ced::{Ced, CedOutput, WINDOW_SAMPLES};
use heyplayer::context::{ContextModel, ContextStage};
use heyplayer::models;
use heyplayer::vad::FrameVad;

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
    let mut clip = heyplayer::audio::read_all(WavSource::open(&demo, false).unwrap()).unwrap();
    clip.truncate(4 * 16_000);
    let silero = models::locate("silero-vad", &cfg.models_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut vad = FrameVad::new(&cfg.vad, &silero.path).unwrap();
    let mask = file::speech_mask(&clip, &mut vad).unwrap();
    let model = ContextModel::load(&cfg.models_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut stage = ContextStage::new(model);
    let mut g = c.benchmark_group("context");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("classify_4s_clip", |b| {
        b.iter(|| stage.classify(&clip, &mask).unwrap())
    });
    let ced = Ced::locate(&cfg.models_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut out = CedOutput::default();
    let (a, b) = (
        &clip[..WINDOW_SAMPLES],
        &clip[clip.len() - WINDOW_SAMPLES..],
    );
    g.bench_function("ced_one_window_2s", |bch| {
        bch.iter(|| ced.run_window(a, &mut out).unwrap())
    });
    g.bench_function("ced_two_windows", |bch| {
        bch.iter(|| {
            ced.run_window(a, &mut out).unwrap();
            ced.run_window(b, &mut out).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The wake-word stage (first stage: openWakeWord mel + embedding features and
//! our "hey player" head, in tract), as a real-time factor on one core.
//! Goal (issue 4): >= 100x real time, features included.
//!
//!     taskset -c 0 cargo bench --bench wake
//!
//! The input is speech: the bundled demo recording (real speech with pauses
//! over a faint noise bed, 16.5 s) repeated 4 times (66 s), fed frame by frame
//! exactly as the pipeline feeds it. Nothing is skipped: every 80 ms step runs
//! the mel model, the embedding model and the head. Besides criterion's
//! timings, it prints the real-time factor (audio seconds / processing
//! seconds) of the whole stage, by the wall clock and by the thread's own CPU
//! time (the machine may be shared), and of each model alone.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use heyplayer::audio::{Frame, FRAME_SAMPLES};
use heyplayer::config::Config;
use heyplayer::pipeline;
use heyplayer::wake::{WakeDetector, WakeModels};

const REPEAT: usize = 4;

mod common;
use common::report;

fn frames() -> (Vec<Frame>, f64) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
    let mut r = hound::WavReader::open(&demo).expect("examples/demo.wav");
    assert_eq!(r.spec().sample_rate, 16_000);
    let x: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    let mut out = Vec::new();
    for _ in 0..REPEAT {
        for c in x.chunks_exact(FRAME_SAMPLES) {
            out.push(<Frame>::try_from(c).unwrap());
        }
    }
    let secs = (out.len() * FRAME_SAMPLES) as f64 / 16_000.0;
    (out, secs)
}

/// This thread's time on a CPU so far (Linux: /proc/thread-self/schedstat).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let (frames, audio_s) = frames();
    let wake = pipeline::wake_models(&cfg).expect("wake models: run `make models`");
    let run = || {
        let mut d = WakeDetector::new(wake.clone(), cfg.wake.detector);
        let mut n = 0;
        for f in &frames {
            n += d.push(f).unwrap().is_some() as u32;
        }
        n
    };
    run();
    let runs = 3;
    let cpu = thread_cpu();
    let t = Instant::now();
    for _ in 0..runs {
        run();
    }
    let wall = t.elapsed();
    report(
        "wake stage (mel + embedding + head, every step), wall clock",
        audio_s,
        runs,
        wall,
    );
    // The machine is shared: the wall clock counts the time other processes
    // held the core. The thread's own CPU time does not.
    if let (Some(a), Some(b)) = (cpu, thread_cpu()) {
        report(
            "wake stage, CPU time of this thread on its core",
            audio_s,
            runs,
            b - a,
        );
    }
    let line = |name: &str, per_step: Duration| {
        println!(
            "  {name}: {:.3} ms per 80 ms step = {:.0}x real time alone",
            per_step.as_secs_f64() * 1e3,
            0.08 / per_step.as_secs_f64()
        )
    };
    let parts = wake.profile(200).unwrap();
    for (name, per_step) in &parts {
        line(name, *per_step);
    }
    line("sum of the parts", parts.iter().map(|p| p.1).sum());
    let emb = heyplayer::models::locate("oww-embedding", &cfg.models_dir).unwrap();
    line(
        "for comparison, the whole embedding model on a whole window (the detector before it streamed)",
        WakeModels::profile_whole_embedding(&emb.path, 200).unwrap(),
    );
    let mut g = c.benchmark_group("wake");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements((audio_s * 1000.0) as u64)); // ms of audio
    g.bench_function("wake_stage", |b| b.iter(run));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

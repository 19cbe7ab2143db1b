//! Standalone verifier for converted whisper.cpp ggml models (whisper-rs 0.16.0).
//!
//! usage: whisper-verify MODEL.bin [--threads N] [--prompt TEXT] [--lang en] [--timestamps] [--audio-ctx N] WAV...
//!
//! Prints one tab-separated line per WAV on stdout:
//!   file  elapsed_ms  no_speech_prob  avg_logprob  text
//! WAVs may be any sample rate / channel count (PCM int or float); they are mixed
//! to mono and linearly resampled to 16 kHz.

use std::time::Instant;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

const SAMPLE_RATE: u32 = 16_000;

fn read_wav_16k_mono(path: &str) -> Result<Vec<f32>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{path}: {e}"))?;
    let spec = r.spec();
    let raw: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect()
        }
    }
    .map_err(|e| format!("{path}: {e}"))?;
    let ch = spec.channels.max(1) as usize;
    let mono: Vec<f32> = raw.chunks(ch).map(|c| c.iter().sum::<f32>() / ch as f32).collect();
    Ok(resample_linear(&mono, spec.sample_rate, SAMPLE_RATE))
}

fn resample_linear(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let n_out = (x.len() as u64 * to as u64 / from as u64) as usize;
    let step = from as f64 / to as f64;
    (0..n_out)
        .map(|i| {
            let pos = i as f64 * step;
            let i0 = pos.floor() as usize;
            let frac = (pos - i0 as f64) as f32;
            let a = x[i0.min(x.len() - 1)];
            let b = x[(i0 + 1).min(x.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().expect("usage: whisper-verify MODEL [--threads N] [--prompt T] [--lang L] WAV...");
    let mut threads = 2;
    let mut prompt: Option<String> = None;
    let mut lang = "en".to_string();
    let mut timestamps = false;
    let mut audio_ctx: i32 = 0; // 0 = full 1500-frame (30 s) encoder window
    let mut wavs = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().unwrap().parse().unwrap(),
            "--prompt" => prompt = args.next(),
            "--lang" => lang = args.next().unwrap(),
            // whisper.cpp only yields a meaningful no_speech_prob when timestamps are on
            "--timestamps" => timestamps = true,
            // shrink the encoder window (frames of 20 ms); faster for short clips, may cost accuracy
            "--audio-ctx" => audio_ctx = args.next().unwrap().parse().unwrap(),
            _ => wavs.push(a),
        }
    }

    // Route whisper.cpp/ggml logs away from stderr (they go to `log`/`tracing` if
    // those features are enabled, otherwise they are dropped).
    if std::env::var_os("WHISPER_VERBOSE").is_none() {
        whisper_rs::install_logging_hooks();
    }

    let t = Instant::now();
    let mut cparams = WhisperContextParameters::default();
    cparams.use_gpu(false);
    let ctx = WhisperContext::new_with_params(&model, cparams).unwrap_or_else(|e| {
        eprintln!("failed to load {model}: {e:?}");
        std::process::exit(1)
    });
    eprintln!(
        "loaded {model} in {} ms (whisper.cpp {}, ftype {}, n_vocab {}, multilingual {})",
        t.elapsed().as_millis(),
        whisper_rs::WHISPER_CPP_VERSION,
        ctx.model_ftype(),
        ctx.model_n_vocab(),
        ctx.is_multilingual()
    );
    eprintln!("system info: {}", whisper_rs::print_system_info());
    // One state can be reused for many utterances (it owns the KV caches/buffers).
    let mut state = ctx.create_state().expect("create_state");
    let eot = ctx.token_eot();

    for wav in &wavs {
        let audio = match read_wav_16k_mono(wav) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("skip: {e}");
                continue;
            }
        };
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(threads);
        p.set_language(Some(&lang));
        p.set_translate(false);
        p.set_no_context(true); // don't carry text between calls
        p.set_no_timestamps(!timestamps);
        p.set_single_segment(true);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_temperature(0.0);
        p.set_temperature_inc(0.0); // no temperature fallback: pure greedy, deterministic
        if audio_ctx > 0 {
            p.set_audio_ctx(audio_ctx);
        }
        if let Some(pr) = &prompt {
            p.set_initial_prompt(pr);
        }

        let t = Instant::now();
        state.full(p, &audio).expect("whisper full");
        let ms = t.elapsed().as_millis();

        let mut text = String::new();
        let mut no_speech = 0.0f32;
        let (mut lp_sum, mut lp_n) = (0.0f32, 0);
        for seg in state.as_iter() {
            text.push_str(&seg.to_str_lossy().unwrap());
            no_speech = no_speech.max(seg.no_speech_probability());
            for i in 0..seg.n_tokens() {
                let tok = seg.get_token(i).unwrap();
                let d = tok.token_data();
                if d.id < eot {
                    lp_sum += d.plog;
                    lp_n += 1;
                }
            }
        }
        let avg_lp = if lp_n > 0 { lp_sum / lp_n as f32 } else { f32::NAN };
        let name = std::path::Path::new(wav).file_name().unwrap().to_string_lossy();
        if std::env::var_os("WHISPER_VERBOSE").is_some() {
            ctx.print_timings();
            ctx.reset_timings();
        }
        println!("{name}\t{ms}\t{no_speech:.3}\t{avg_lp:.3}\t{}", text.trim());
    }
}

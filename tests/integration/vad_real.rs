//! VAD on real recordings and on signals that are not speech.

use crate::common::*;

/// How far (ms) a segment boundary may be from the energy-based speech extent.
/// The start may be a little early (webrtc/Silero fire on the onset) or late
/// (soft first consonants sit under the energy threshold's reach); the stop
/// includes trailing soft sounds. Measured spread is in the test output.
const START_TOLERANCE_MS: i64 = 200;
const STOP_TOLERANCE_MS: i64 = 300;

#[test]
fn every_real_prompt_gives_a_segment_near_the_speech() {
    let prompts = asterisk_prompts();
    let mut worst_start = 0i64;
    let mut worst_stop = 0i64;
    let mut failures = Vec::new();
    let mut silent = Vec::new();
    // `<beep ...>` entries are tones, not speech (the VAD rightly ignores them).
    for (name, path, said) in prompts.iter().filter(|p| !p.2.starts_with('<')) {
        let (samples, rate) = read_wav(path);
        let segs = segments(&file_events(path));
        let Some((ref_start, ref_stop)) = energy_extent(&samples, rate) else {
            // The package's `silence/N` prompts: no speech, so no segment.
            assert!(segs.is_empty(), "{name} is silent but gave {segs:?}");
            silent.push(name.clone());
            continue;
        };
        let Some(first) = segs.first() else {
            failures.push(format!(
                "{name} ({said:?}): no segment, speech at {ref_start}..{ref_stop} ms"
            ));
            continue;
        };
        let last = segs.last().unwrap();
        let ds = first.0 as i64 - ref_start as i64;
        let de = last.1 as i64 - ref_stop as i64;
        worst_start = worst_start.max(ds.abs());
        worst_stop = worst_stop.max(de.abs());
        if ds.abs() > START_TOLERANCE_MS || de.abs() > STOP_TOLERANCE_MS {
            failures.push(format!(
                "{name} ({said:?}): segments {segs:?}, speech by energy {ref_start}..{ref_stop} ms"
            ));
        }
    }
    assert!(
        silent.iter().all(|n| n.starts_with("silence/")),
        "prompts without audible speech: {silent:?}"
    );
    println!(
        "{} prompts ({} silent files skipped: {silent:?}); worst start offset {worst_start} ms, worst stop offset {worst_stop} ms; {} outside tolerance",
        prompts.len(),
        silent.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} prompts failed:\n{}",
        failures.len(),
        prompts.len(),
        failures.join("\n")
    );
}

#[test]
fn silence_gives_no_segment() {
    let ev = pcm_events(&vec![0.0; 16_000 * 10], 16_000);
    assert_eq!(segments(&ev), vec![]);
}

#[test]
fn white_noise_gives_no_segment() {
    for amp in [0.01f32, 0.1, 0.5, 0.9] {
        let ev = pcm_events(&white(48_000 * 10, amp, 7), 48_000);
        assert_eq!(segments(&ev), vec![], "white noise at {amp}");
    }
}

#[test]
fn brown_noise_gives_no_segment() {
    for amp in [0.05f32, 0.3, 0.9] {
        let ev = pcm_events(&brown(44_100 * 10, amp, 11), 44_100);
        assert_eq!(segments(&ev), vec![], "brown noise at {amp}");
    }
}

#[test]
fn steady_tones_give_no_segment() {
    for freq in [200.0f32, 440.0, 1000.0, 3000.0] {
        let ev = pcm_events(&sine(16_000 * 5, 16_000, freq, 0.5), 16_000);
        assert_eq!(segments(&ev), vec![], "sine at {freq} Hz");
    }
}

#[test]
fn alsa_noise_wav_gives_no_segment() {
    let p = std::path::Path::new("/usr/share/sounds/alsa/Noise.wav");
    assert!(
        p.is_file(),
        "{} is missing: run `make test` (installs alsa-utils)",
        p.display()
    );
    assert_eq!(segments(&file_events(p)), vec![]);
}

#[test]
fn speech_over_noise_is_still_found() {
    // A real prompt mixed into white noise 15 dB below it: the floor adapts to
    // the noise, and the speech still makes a segment.
    let prompts = asterisk_prompts();
    let (_, path, _) = prompts.iter().find(|p| p.0 == "auth-thankyou").unwrap();
    let (speech, rate) = read_wav(path);
    let rms = (speech.iter().map(|s| s * s).sum::<f32>() / speech.len() as f32).sqrt();
    let pad = rate as usize * 2;
    let mut mix = white(speech.len() + 2 * pad, rms * 0.18 * 3f32.sqrt(), 3);
    for (i, s) in speech.iter().enumerate() {
        mix[pad + i] += s;
    }
    let segs = segments(&pcm_events(&mix, rate));
    assert!(!segs.is_empty(), "no segment for speech over noise");
    assert!(segs[0].0 >= 1800 && segs[0].0 <= 2500, "{segs:?}");
}

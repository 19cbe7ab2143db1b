//! Bad input: each case exits non-zero with one clear line on stderr, never a panic.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_heyplayer");

/// Runs heyplayer with `args` and `stdin`; returns (exit code, stderr).
fn run(args: &[&str], stdin: &[u8]) -> (i32, String) {
    // Whatever is stored goes to a scratch store, never the user's.
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .env("HEYPLAYER_DATA_DIR", data.path().join("store"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The process may exit before reading it all.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a clean failure: non-zero exit, one line, that mentions every `words`.
fn assert_clear_error(args: &[&str], stdin: &[u8], words: &[&str]) {
    let (code, err) = run(args, stdin);
    assert_ne!(code, 0, "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got:\n{err}");
    assert!(lines[0].starts_with("heyplayer: error: "), "{err}");
    for w in words {
        assert!(
            err.to_lowercase().contains(&w.to_lowercase()),
            "{args:?}: {err:?} lacks {w:?}"
        );
    }
}

/// A WAV file with the given header fields and `data` as its data chunk.
fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8], claimed_len: u32) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + claimed_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate.wrapping_mul(block as u32)).to_le_bytes());
    v.extend_from_slice(&block.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&claimed_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[test]
fn missing_file() {
    assert_clear_error(
        &["listen", "--input", "/nonexistent/x.wav"],
        b"",
        &["cannot open", "/nonexistent/x.wav"],
    );
}

#[test]
fn not_a_wav_file() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "notes.wav",
        b"These are my notes, not audio. Lorem ipsum dolor sit amet.",
    );
    assert_clear_error(&["listen", "--input", &p], b"", &["not a readable WAV"]);
}

#[test]
fn zero_length_file() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "empty.wav", b"");
    assert_clear_error(&["listen", "--input", &p], b"", &["empty"]);
}

#[test]
fn header_only_file() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "hdr.wav", &wav(1, 1, 16_000, 16, &[], 0));
    assert_clear_error(
        &["listen", "--input", &p],
        b"",
        &["holds no audio", "0 samples"],
    );
}

#[test]
fn truncated_wav() {
    let d = tempfile::tempdir().unwrap();
    let data = vec![0u8; 3200];
    let p = file(d.path(), "cut.wav", &wav(1, 1, 16_000, 16, &data, 32_000));
    assert_clear_error(&["listen", "--input", &p], b"", &["truncated"]);
    // Cut inside the header.
    let p = file(d.path(), "cuthdr.wav", &wav(1, 1, 16_000, 16, &[], 0)[..20]);
    assert_clear_error(&["listen", "--input", &p], b"", &["not a readable WAV"]);
}

#[test]
fn float64_wav_is_unsupported() {
    let d = tempfile::tempdir().unwrap();
    let p = file(
        d.path(),
        "f64.wav",
        &wav(3, 1, 16_000, 64, &[0u8; 800], 800),
    );
    assert_clear_error(&["listen", "--input", &p], b"", &["unsupported encoding"]);
}

#[test]
fn compressed_wav_is_unsupported() {
    let d = tempfile::tempdir().unwrap();
    // Format tag 6: A-law; 2: MS ADPCM.
    for tag in [6u16, 2] {
        let p = file(
            d.path(),
            &format!("c{tag}.wav"),
            &wav(tag, 1, 8000, 8, &[0u8; 800], 800),
        );
        assert_clear_error(&["listen", "--input", &p], b"", &["unsupported encoding"]);
    }
}

#[test]
fn absurd_sample_rates() {
    let d = tempfile::tempdir().unwrap();
    for rate in [0u32, 500_000, 4_000_000_000] {
        let p = file(
            d.path(),
            &format!("r{rate}.wav"),
            &wav(1, 1, rate, 16, &[0u8; 800], 800),
        );
        assert_clear_error(&["listen", "--input", &p], b"", &["sample rate"]);
    }
    assert_clear_error(
        &["listen", "--input", "-", "--rate", "0"],
        &[0u8; 100],
        &["sample rate"],
    );
    assert_clear_error(
        &["listen", "--input", "-", "--rate", "400000"],
        &[0u8; 100],
        &["sample rate"],
    );
}

#[test]
fn invalid_config_key_and_value() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "bad.toml", b"[vad]\nhangover = 300\n");
    assert_clear_error(
        &["--config", &p, "listen", "--input", "examples/demo.wav"],
        b"",
        &["hangover", &p],
    );
    let p = file(d.path(), "bad2.toml", b"[vad]\nhangover_ms = -5\n");
    assert_clear_error(
        &["--config", &p, "listen", "--input", "examples/demo.wav"],
        b"",
        &["hangover_ms", &p],
    );
    let p = file(d.path(), "bad3.toml", b"[vad]\nsilero_threshold = 2.0\n");
    assert_clear_error(
        &["--config", &p, "listen", "--input", "examples/demo.wav"],
        b"",
        &["vad.silero_threshold", &p],
    );
    let p = file(d.path(), "bad4.toml", b"[nonsense\n");
    assert_clear_error(&["--config", &p, "config", "--check"], b"", &[&p]);
    assert_clear_error(
        &["--config", "/nonexistent/c.toml", "config", "--check"],
        b"",
        &["/nonexistent/c.toml"],
    );
}

#[test]
fn stdin_closed_early() {
    assert_clear_error(
        &["listen", "--input", "-"],
        b"",
        &["stdin closed early", "no audio"],
    );
    // Half a stereo frame at the end.
    let mut bytes = vec![0u8; 16_000];
    bytes.extend_from_slice(&[1, 2]);
    assert_clear_error(
        &["listen", "--input", "-", "--channels", "2"],
        &bytes,
        &["stdin closed early", "stray bytes"],
    );
}

#[test]
fn device_with_a_file_is_refused() {
    assert_clear_error(
        &["listen", "--input", "examples/demo.wav", "--device", "x"],
        b"",
        &["--device"],
    );
}

#[test]
fn a_good_file_succeeds() {
    let (code, err) = run(&["listen", "--input", "examples/demo.wav"], b"");
    assert_eq!(code, 0, "{err}");
}

//! The intent parser on text: one command (JSON, or `null` when the text is
//! not a command) per line of standard input. Labels corpora whose
//! sentences are known (`heyplayer_tools.wake.verify_tune --eval-manifest`).
//!
//!     printf 'play some jazz\nturn it up\n' | cargo run --release --example parse_intents

use std::io::{BufRead, Write};

fn main() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let command = heyplayer::intent::parse(&line?);
        writeln!(out, "{}", serde_json::to_string(&command)?)?;
    }
    Ok(())
}

//! The intent parser and `heyplayer eval`'s WER normalisation on text: for
//! each line of standard input, one JSON object with the parser's `command`
//! (`null` when the text is not a command) and the `words` eval scores WER
//! on. Labels corpora whose sentences are known
//! (`heyplayer_tools.wake.verify_tune --eval-manifest`) and scores
//! transcripts outside eval (`heyplayer_tools.bench.transcribe_score`), with
//! the product's own rules.
//!
//!     printf 'play some jazz\nturn it up\n' | cargo run --release --example parse_intents

use std::io::{BufRead, Write};

use heyplayer::app::eval::wer_words;

fn main() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let row = serde_json::json!({
            "command": heyplayer::intent::parse(&line),
            "words": wer_words(&line),
        });
        writeln!(out, "{row}")?;
    }
    Ok(())
}

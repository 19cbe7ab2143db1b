//! Guided decoding: which known command phrasing best explains the audio?
//!
//! Free decoding with tiny.en mishears short commands in noise ("It's tough."
//! for "stop", "Place some jets." for "play some jazz"), because it may write
//! any English. When the free transcript is not a command, heyplayer asks
//! Whisper a narrower question, the way whisper.cpp's `command` example does in
//! its guided mode: how likely is each phrasing the intent parser knows, given
//! the same encoded audio?
//!
//! The phrasings form a token trie. A depth-first branch-and-bound search
//! feeds the decoder one token at a time (its KV cache keeps the path), sums
//! the log-probabilities, and prunes any branch already below the best complete
//! phrase, so only a few dozen decoder steps run. A phrase must be followed by
//! an end (end-of-text or `.`/`!`/`?`), so "stop" does not win on audio that
//! says "stop the music". An *open* phrase ("play", "set the volume to") is
//! followed by free greedy decoding: the query or the number.
//!
//! The best phrase is only a guess. [`Guess::avg_logprob`] is the mean
//! log-probability per token under the unconstrained model; the caller accepts
//! it only above a named threshold, so unknown speech stays not understood.

use std::sync::Arc;

use whisper_rs::{WhisperContext, WhisperState};

use super::AsrError;
use crate::intent::Phrase;

/// Longest free continuation after an open phrase, in tokens.
pub const MAX_OPEN_TOKENS: usize = 12;

/// Branches whose summed log-probability falls below this are dropped before
/// any complete phrase is found (a phrase this unlikely would be rejected
/// anyway).
pub const SEARCH_FLOOR: f32 = -20.0;

/// The result of a guided search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Guess {
    /// The phrase chosen, with its free continuation, as Whisper would write it.
    pub text: String,
    /// Summed log-probability of its tokens and of the end.
    pub logprob: f32,
    /// Mean log-probability per token (the end counts as one).
    pub avg_logprob: f32,
    /// Decoder steps the search took.
    pub steps: u32,
}

/// A transcript decoded after a forced lead.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forced {
    /// Mean log-probability of the lead's tokens.
    pub lead_avg_logprob: f32,
    /// What Whisper writes after the lead.
    pub rest: String,
    /// Mean log-probability of those tokens (0 when there are none).
    pub rest_avg_logprob: f32,
}

#[derive(Debug, Default, Clone)]
struct Node {
    token: i32,
    children: Vec<usize>,
    end: bool,
    open: bool,
}

/// A token trie of phrasings.
#[derive(Debug, Clone)]
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn build(ctx: &WhisperContext, phrases: &[Phrase], capital: bool) -> Result<Self, AsrError> {
        let mut nodes = vec![Node::default()];
        for p in phrases {
            let text = if capital {
                capitalise(&p.text)
            } else {
                p.text.clone()
            };
            let tokens = ctx.tokenize(&format!(" {text}"), 64).map_err(werr)?;
            let mut at = 0;
            for t in tokens {
                at = match nodes[at].children.iter().find(|&&c| nodes[c].token == t) {
                    Some(&c) => c,
                    None => {
                        nodes.push(Node {
                            token: t,
                            ..Node::default()
                        });
                        let c = nodes.len() - 1;
                        nodes[at].children.push(c);
                        c
                    }
                };
            }
            if at != 0 {
                nodes[at].end |= !p.open;
                nodes[at].open |= p.open;
            }
        }
        Ok(Self { nodes })
    }
}

/// A whisper-rs error as the stage's error.
fn werr(e: whisper_rs::WhisperError) -> AsrError {
    AsrError::Whisper(e.to_string())
}

/// `s` with its first letter in upper case ("stop" → "Stop").
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// What [`Guide::greedy`] decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Greedy {
    /// The text, as whisper.cpp writes its tokens.
    pub text: String,
    /// Summed log-probability of its tokens.
    pub logprob: f32,
    /// How many tokens.
    pub n: usize,
    /// The no-speech token's probability after the decoder prefix (0 for a
    /// continuation).
    pub no_speech: f32,
}

/// The guided search, built once per worker.
pub struct Guide {
    ctx: Arc<WhisperContext>,
    /// Phrases as the first words of the transcript ("Stop the music").
    first: Trie,
    /// Phrases after a lead such as "Hey player," ("stop the music").
    after: Trie,
    /// [prev] + prompt + [sot, (lang, transcribe), no-timestamps].
    prefix: Vec<i32>,
    /// Where the part without the prompt starts in `prefix` (at sot).
    plain_from: usize,
    /// Whether the free pass ran without the prompt (then so do the searches).
    plain: bool,
    /// End-of-text and the sentence-ending punctuation tokens.
    ends: Vec<i32>,
    eot: i32,
    /// The blank token (" "), never a transcript's first.
    blank: Option<usize>,
    /// One log-probability row per search depth (allocated here, reused).
    rows: Vec<Vec<f32>>,
    /// The decoder prefix whose keys and values the state holds, from
    /// position 0, for the audio it last encoded ([`Self::forget`] empties
    /// it), and the log-probability row after it: every search, forced
    /// decoding and lead scoring starts from the prefix, so only the first
    /// after an encoding decodes it (issue 31: about 120 ms of one core each
    /// with the command prompt and whisper base).
    kv: Vec<i32>,
    kv_row: Vec<f32>,
    /// Whether `kv_row` is the row after `kv` (not when whisper.cpp's own
    /// pass decoded it, see [`Self::held_from_free_pass`]).
    kv_row_ok: bool,
    path: Vec<i32>,
    best: Vec<i32>,
    best_lp: f32,
    /// Of the best: log-probability and count of the tokens the phrase forced
    /// (free continuation excluded), end included.
    best_forced: (f32, u32),
    steps: u32,
    threads: usize,
}

impl Guide {
    /// Tokenises the phrases; `prompt` and `language` must be the ones the
    /// free pass used.
    pub fn new(
        ctx: Arc<WhisperContext>,
        phrases: &[Phrase],
        prompt: &str,
        language: &str,
        threads: usize,
    ) -> Result<Self, AsrError> {
        let mut prefix = Vec::new();
        if !prompt.is_empty() {
            prefix.push(ctx.token_prev());
            prefix.extend(ctx.tokenize(prompt, 1024).map_err(werr)?);
        }
        let plain_from = prefix.len();
        prefix.push(ctx.token_sot());
        if ctx.is_multilingual() {
            let id = whisper_rs::get_lang_id(language)
                .ok_or_else(|| AsrError::Whisper(format!("unknown language {language:?}")))?;
            prefix.push(ctx.token_lang(id));
            prefix.push(ctx.token_transcribe());
        }
        prefix.push(ctx.token_not());
        let mut ends = vec![ctx.token_eot()];
        for p in [".", "!", "?"] {
            if let [t] = ctx.tokenize(p, 4).map_err(werr)?[..] {
                ends.push(t);
            }
        }
        let blank = match ctx.tokenize(" ", 4).map_err(werr)?[..] {
            [t] => Some(t as usize),
            _ => None,
        };
        let first = Trie::build(&ctx, phrases, true)?;
        let after = Trie::build(&ctx, phrases, false)?;
        let depth = phrases
            .iter()
            .map(|p| p.text.split_whitespace().count() * 3 + 2)
            .max()
            .unwrap_or(0)
            + MAX_OPEN_TOKENS
            + 8;
        let n_vocab = ctx.n_vocab().max(0) as usize;
        Ok(Self {
            eot: ctx.token_eot(),
            blank,
            rows: vec![vec![0.0; n_vocab]; depth],
            kv: Vec::with_capacity(prefix.len()),
            kv_row: vec![0.0; n_vocab],
            kv_row_ok: false,
            ctx,
            first,
            after,
            prefix,
            plain_from,
            plain: false,
            ends,
            path: Vec::with_capacity(depth),
            best: Vec::with_capacity(depth),
            best_lp: f32::NEG_INFINITY,
            best_forced: (0.0, 0),
            steps: 0,
            threads: threads.max(1),
        })
    }

    /// Whether the free pass these searches follow ran without the prompt.
    pub fn set_plain(&mut self, plain: bool) {
        self.plain = plain;
    }

    /// The state is about to encode other audio: the prefix it holds was
    /// decoded for the last, and must be decoded again.
    pub fn forget(&mut self) {
        self.kv.clear();
        self.kv_row_ok = false;
    }

    /// whisper.cpp's free pass just decoded its prompt, from position 0:
    /// the prompt (the decoder prefix, with or without the initial prompt as
    /// that pass ran) is held, so searches after it decode only its last
    /// token again. whisper.cpp builds that prompt as the prefix is built
    /// here; the integration test `issue_31_what_follows_a_held_prompt_is_what_follows_a_fresh_one`
    /// checks that what follows is the same as after a prefix decoded here.
    pub fn held_from_free_pass(&mut self) {
        let from = self.active_from();
        self.kv.clear();
        self.kv.extend_from_slice(&self.prefix[from..]);
        self.kv_row_ok = false;
    }

    /// The decoder prefix matching the free pass: with or without the prompt.
    fn active_prefix(&self) -> &[i32] {
        &self.prefix[self.active_from()..]
    }

    /// Where [`Self::active_prefix`] starts in `prefix`.
    fn active_from(&self) -> usize {
        if self.plain {
            self.plain_from
        } else {
            0
        }
    }

    /// Whisper's no-speech probability for the audio `state` last encoded: the
    /// probability of the no-speech token right after start-of-transcript, as
    /// in OpenAI's reference decoder. (whisper.cpp reports 0 for it when
    /// timestamps are off, as heyplayer runs it.)
    pub fn no_speech_prob(&mut self, state: &mut WhisperState) -> Result<f32, AsrError> {
        let sot = self.ctx.token_sot();
        let active = self.active_prefix();
        let Some(at) = active.iter().position(|&t| t == sot) else {
            return Ok(0.0);
        };
        let prefix = active[..=at].to_vec();
        self.feed(state, &prefix)?;
        let nosp = self.ctx.token_nosp();
        Ok(self.rows[0].get(nosp as usize).map_or(0.0, |lp| lp.exp()))
    }

    /// Teacher-forces `lead` (e.g. "Hey player,") at the start of the
    /// transcript of the audio `state` last encoded, then decodes greedily
    /// after it (at most `max_tokens`). Returns the mean log-probability of the
    /// lead's tokens and the text that follows.
    pub fn force(
        &mut self,
        state: &mut WhisperState,
        lead: &str,
        max_tokens: usize,
    ) -> Result<Forced, AsrError> {
        let lead_tokens = self
            .ctx
            .tokenize(&format!(" {}", lead.trim()), 64)
            .map_err(werr)?;
        let prefix = self.active_prefix().to_vec();
        let mut pos = self.feed(state, &prefix)?;
        let mut lead_lp = 0.0f32;
        for &t in &lead_tokens {
            lead_lp += self.rows[0]
                .get(t as usize)
                .copied()
                .unwrap_or(f32::NEG_INFINITY);
            self.step(state, t, pos, 0)?;
            pos += 1;
        }
        let g = self.greedy_from(state, pos, max_tokens, false)?;
        Ok(Forced {
            lead_avg_logprob: lead_lp / lead_tokens.len().max(1) as f32,
            rest: super::clean(&g.text),
            rest_avg_logprob: if g.n > 0 { g.logprob / g.n as f32 } else { 0.0 },
        })
    }

    /// The transcript of the audio `state` last encoded, decoded greedily
    /// after the decoder prefix (with the prompt or without, as the last free
    /// pass), at most `max_tokens`: what whisper.cpp's greedy pass writes on
    /// that encoding, without encoding it again (issue 31: the wake check's
    /// retry without the prompt). As whisper.cpp filters the logits, text
    /// tokens and end of text only, neither end of text nor a blank first,
    /// and each token's log-probability among those.
    pub fn greedy(
        &mut self,
        state: &mut WhisperState,
        max_tokens: usize,
    ) -> Result<Greedy, AsrError> {
        let prefix = self.active_prefix().to_vec();
        let pos = self.feed(state, &prefix)?;
        // The no-speech token's probability after the whole prefix, before
        // any filter: what whisper.cpp's pass means to report (its own reads
        // a logits row its batched prompt decode did not write).
        let nosp = self.ctx.token_nosp() as usize;
        let no_speech = self.rows[0].get(nosp).map_or(0.0, |lp| lp.exp());
        let mut g = self.greedy_from(state, pos, max_tokens, true)?;
        g.no_speech = no_speech;
        Ok(g)
    }

    /// Greedy decoding from row 0, the next token at `pos`. `whole`: as a
    /// whole transcript (see [`Self::greedy`]); else a continuation, each
    /// token's log-probability over the whole vocabulary.
    fn greedy_from(
        &mut self,
        state: &mut WhisperState,
        mut pos: usize,
        max_tokens: usize,
        whole: bool,
    ) -> Result<Greedy, AsrError> {
        let mut g = Greedy {
            text: String::new(),
            logprob: 0.0,
            n: 0,
            no_speech: 0.0,
        };
        while g.n < max_tokens {
            let first = whole && g.n == 0;
            let allowed = |i: usize| !(first && (i == self.eot as usize || Some(i) == self.blank));
            let row = &self.rows[0][..=self.eot as usize];
            let Some((tok, lp)) = row
                .iter()
                .enumerate()
                .filter(|&(i, _)| allowed(i))
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, &v)| (i as i32, v))
            else {
                break;
            };
            if tok == self.eot {
                break;
            }
            g.logprob += if whole {
                let mass: f32 = row
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| allowed(i))
                    .map(|(_, &v)| (v - lp).exp())
                    .sum();
                -mass.ln()
            } else {
                lp
            };
            g.n += 1;
            g.text
                .push_str(&self.ctx.token_to_str_lossy(tok).map_err(werr)?);
            self.step(state, tok, pos, 0)?;
            pos += 1;
        }
        Ok(g)
    }

    /// How many tokens `lead` is, as [`Self::lead_logprobs`] scores it (a
    /// summed score over this many tokens).
    pub fn lead_tokens(&self, lead: &str) -> Result<usize, AsrError> {
        Ok(self
            .ctx
            .tokenize(&format!(" {}", lead.trim()), 64)
            .map_err(werr)?
            .len())
    }

    /// Summed log-probability of each of `leads` as the start of the
    /// transcript of the audio `state` last encoded (nothing is decoded after
    /// them): how likely Whisper finds each text, to compare texts on the same
    /// audio. Leads are scored in token order, so a shared start ("Hey") is
    /// fed once. Leads longer than the search depth score `-inf`.
    ///
    /// A lead whose partial sum falls below `floor` is given up there and
    /// scores `-inf`: log-probabilities are never positive, so its whole sum
    /// could only be lower. Which leads reach `floor`, and their sums, are
    /// the same as with no floor (`f32::NEG_INFINITY`); the others cost no
    /// more decoder steps (issue 31: the wake check's rivals).
    pub fn lead_logprobs(
        &mut self,
        state: &mut WhisperState,
        leads: &[String],
        floor: f32,
    ) -> Result<Vec<f32>, AsrError> {
        let mut toks = Vec::with_capacity(leads.len());
        for l in leads {
            toks.push(
                self.ctx
                    .tokenize(&format!(" {}", l.trim()), 64)
                    .map_err(werr)?,
            );
        }
        let mut order: Vec<usize> = (0..leads.len()).collect();
        order.sort_by(|&a, &b| toks[a].cmp(&toks[b]));
        let mut out = vec![f32::NEG_INFINITY; leads.len()];
        let prefix = self.active_prefix().to_vec();
        let base = self.feed(state, &prefix)?;
        // The path fed so far (after the prefix) and the summed
        // log-probability of its first k tokens (cum[0] = 0). Row k holds the
        // next-token log-probabilities after k path tokens.
        // `fed` path tokens have been decoded (rows 0..=fed are valid; a
        // lead's last token is not fed unless a longer lead needs it).
        let mut path: Vec<i32> = Vec::new();
        let mut cum = vec![0.0f32];
        let mut fed = 0usize;
        for i in order {
            let t = &toks[i];
            if t.is_empty() || t.len() >= self.rows.len() {
                continue;
            }
            let shared = path.iter().zip(t).take_while(|(a, b)| a == b).count();
            path.truncate(shared);
            cum.truncate(shared + 1);
            fed = fed.min(shared);
            if cum[shared] < floor {
                continue;
            }
            if fed < shared {
                self.step(state, path[fed], base + fed, fed + 1)?;
                fed += 1;
            }
            let mut below = false;
            for (k, &tok) in t.iter().enumerate().skip(shared) {
                let lp = self.rows[k]
                    .get(tok as usize)
                    .copied()
                    .unwrap_or(f32::NEG_INFINITY);
                cum.push(cum[k] + lp);
                path.push(tok);
                below = cum[k + 1] < floor;
                if below {
                    break;
                }
                if k + 1 < t.len() {
                    self.step(state, tok, base + k, k + 1)?;
                    fed = k + 1;
                }
            }
            if !below {
                out[i] = cum[t.len()];
            }
        }
        Ok(out)
    }

    /// Searches the phrasings on the audio `state` last encoded (by a free
    /// pass over the same clip). `lead` is text forced before the phrase, such
    /// as the wake phrase ("Hey player,"); empty for a bare command.
    pub fn search(
        &mut self,
        state: &mut WhisperState,
        lead: &str,
    ) -> Result<Option<Guess>, AsrError> {
        let mut prefix = self.active_prefix().to_vec();
        let lead = lead.trim();
        if !lead.is_empty() {
            prefix.extend(self.ctx.tokenize(&format!(" {lead}"), 64).map_err(werr)?);
        }
        self.feed(state, &prefix)?;
        self.path.clear();
        self.best.clear();
        self.best_lp = f32::NEG_INFINITY;
        self.best_forced = (0.0, 0);
        let trie = if lead.is_empty() {
            std::mem::replace(&mut self.first, Trie { nodes: Vec::new() })
        } else {
            std::mem::replace(&mut self.after, Trie { nodes: Vec::new() })
        };
        let r = self.visit(state, &trie, 0, prefix.len(), 0.0);
        if lead.is_empty() {
            self.first = trie;
        } else {
            self.after = trie;
        }
        r?;
        if self.best.is_empty() {
            return Ok(None);
        }
        let mut text = String::new();
        for &t in &self.best {
            if t < self.eot {
                text.push_str(&self.ctx.token_to_str_lossy(t).map_err(werr)?);
            }
        }
        let (forced_lp, forced_n) = self.best_forced;
        Ok(Some(Guess {
            text: super::clean(&text),
            logprob: self.best_lp,
            avg_logprob: forced_lp / forced_n.max(1) as f32,
            steps: self.steps,
        }))
    }

    /// Feeds `tokens` from position 0 (the step counter restarts); row 0 gets
    /// the log-probabilities of the token after them. Returns the position
    /// after them. What the state already holds of them since the last
    /// encoding ([`Self::kv`]) is not decoded again: whisper.cpp keeps the
    /// keys and values before the position a call starts at.
    fn feed(&mut self, state: &mut WhisperState, tokens: &[i32]) -> Result<usize, AsrError> {
        let Some((&last, head)) = tokens.split_last() else {
            return Err(AsrError::Whisper("empty decoder prefix".into()));
        };
        self.steps = 0;
        if self.kv_row_ok && self.kv == tokens {
            self.rows[0].copy_from_slice(&self.kv_row);
            return Ok(tokens.len());
        }
        let held = self.kv.iter().zip(head).take_while(|(a, b)| a == b).count();
        // Until this feed succeeds the state holds nothing known.
        self.kv.clear();
        self.kv_row_ok = false;
        // whisper.cpp keeps only the last token's logits, and get_logits()
        // reads them only after a one-token call: the head goes in one batch.
        if held < head.len() {
            state
                .decode(&head[held..], held, self.threads)
                .map_err(werr)?;
        }
        self.step(state, last, head.len(), 0)?;
        self.kv.extend_from_slice(tokens);
        self.kv_row.copy_from_slice(&self.rows[0]);
        self.kv_row_ok = true;
        Ok(tokens.len())
    }

    /// Feeds `token` at position `pos`; row `depth` gets the log-probabilities
    /// of the next token.
    fn step(
        &mut self,
        state: &mut WhisperState,
        token: i32,
        pos: usize,
        depth: usize,
    ) -> Result<(), AsrError> {
        state.decode(&[token], pos, self.threads).map_err(werr)?;
        self.steps += 1;
        let logits = state.get_logits().map_err(werr)?;
        let row = &mut self.rows[depth];
        log_softmax(logits, row);
        Ok(())
    }

    /// Log-probability that the text ends here (row `depth`).
    fn end_lp(&self, depth: usize) -> f32 {
        let row = &self.rows[depth];
        let p: f32 = self
            .ends
            .iter()
            .filter_map(|&t| row.get(t as usize))
            .map(|lp| lp.exp())
            .sum();
        p.max(f32::MIN_POSITIVE).ln()
    }

    /// Explores the children of `node`; row `depth` holds the next-token
    /// log-probabilities after the path so far, which ends at position `pos - 1`.
    fn visit(
        &mut self,
        state: &mut WhisperState,
        trie: &Trie,
        node: usize,
        pos: usize,
        lp: f32,
    ) -> Result<(), AsrError> {
        let depth = self.path.len();
        if depth + 1 >= self.rows.len() {
            return Ok(());
        }
        let mut kids: Vec<(f32, usize)> = trie.nodes[node]
            .children
            .iter()
            .map(|&c| (self.rows[depth][trie.nodes[c].token as usize], c))
            .collect();
        kids.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (klp, c) in kids {
            let total = lp + klp;
            // Log-probabilities only fall as tokens are added: this branch
            // cannot beat the best complete phrase.
            if total <= self.best_lp || total < SEARCH_FLOOR {
                break;
            }
            let token = trie.nodes[c].token;
            self.path.push(token);
            self.step(state, token, pos, depth + 1)?;
            if trie.nodes[c].end {
                let end = self.end_lp(depth + 1);
                let done = total + end;
                if done > self.best_lp {
                    self.best_lp = done;
                    self.best.clone_from(&self.path);
                    self.best_forced = (done, self.path.len() as u32 + 1);
                }
            }
            if trie.nodes[c].open {
                self.continue_freely(state, pos + 1, total)?;
                // The free run overwrote the cache beyond this token; the
                // children below re-feed from `pos + 1`, which is still valid.
            }
            self.visit(state, trie, c, pos + 1, total)?;
            self.path.pop();
        }
        Ok(())
    }

    /// Greedy free decoding after an open phrase (whose last token is the end
    /// of `self.path`, at position `pos - 1`).
    fn continue_freely(
        &mut self,
        state: &mut WhisperState,
        mut pos: usize,
        mut lp: f32,
    ) -> Result<(), AsrError> {
        let base = self.path.len();
        let forced = (lp, base as u32);
        let mut depth = base;
        let mut words = 0;
        while words < MAX_OPEN_TOKENS && depth + 1 < self.rows.len() {
            let row = &self.rows[depth];
            // The best text token, or the end.
            let (tok, tlp) = row[..self.eot as usize]
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, &v)| (i as i32, v))
                .unwrap_or((self.eot, f32::NEG_INFINITY));
            let end = self.end_lp(depth);
            let is_end = self.ends.contains(&tok);
            if end >= tlp || is_end {
                // Ending here (at least one free token is required).
                if words > 0 {
                    let done = lp + end;
                    if done > self.best_lp {
                        self.best_lp = done;
                        self.best.clone_from(&self.path);
                        self.best_forced = forced;
                    }
                }
                break;
            }
            lp += tlp;
            if lp <= self.best_lp || lp < SEARCH_FLOOR {
                break;
            }
            self.path.push(tok);
            self.step(state, tok, pos, depth + 1)?;
            pos += 1;
            depth += 1;
            words += 1;
        }
        self.path.truncate(base);
        Ok(())
    }
}

/// `out = log_softmax(logits)`.
fn log_softmax(logits: &[f32], out: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&x| (x - max).exp()).sum();
    let lse = max + sum.ln();
    for (o, &x) in out.iter_mut().zip(logits) {
        *o = x - lse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_sums_to_one() {
        let logits = [1.0f32, 2.0, 3.0, -50.0];
        let mut out = [0.0f32; 4];
        log_softmax(&logits, &mut out);
        let total: f32 = out.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
        assert!((out[2] - out[1] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn capitalises_the_first_letter_only() {
        assert_eq!(capitalise("stop the music"), "Stop the music");
        assert_eq!(capitalise(""), "");
    }
}

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use heyplayer::audio::mic::{list_devices, HostChoice};
use heyplayer::cli::{
    AuditAction, AuditArgs, Cli, Command, ContextArgs, ListenArgs, ModelsAction, TranscribeArgs,
};
use heyplayer::config::{self, Config, DEFAULT_TOML};
use heyplayer::events::EventWriter;
use heyplayer::models;
use heyplayer::pipeline::{self, Input};
use heyplayer::playback::mpris::Mpris;
use heyplayer::playback::mpv::Mpv;
use heyplayer::playback::{DryRun, Player};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`heyplayer ... | head`): nothing
        // is wrong and nobody is left to tell, as with ripgrep.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line: what is wrong and what to do.
            eprintln!("heyplayer: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Whether the error is a write to a closed stdout: a bare `io::Error`
/// (what `writeln!(out, ..)?` gives) or the listener's event output, not one
/// that a stage's own error wraps (mpv's socket closing is a real error,
/// reported as one).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let io =
        e.downcast_ref::<std::io::Error>()
            .or_else(|| match e.downcast_ref::<heyplayer::Error>() {
                Some(heyplayer::Error::Output(io)) => Some(io),
                _ => None,
            });
    io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The error and its causes on one line, leaving out a cause whose text the
/// line already holds (many messages name their cause themselves: "cannot
/// open x.wav: No such file or directory").
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

fn run(cli: Cli) -> Result<()> {
    let data_dir = |config: &Config| {
        cli.data_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.clone())
    };
    match cli.command {
        Command::Listen(args) => {
            let mut config = config::load(cli.config.as_deref())?;
            config.data_dir = data_dir(&config);
            listen(args, config)
        }
        Command::Status { json } => {
            let config = config::load(cli.config.as_deref())?;
            privacy::status(&data_dir(&config), json)
        }
        Command::Audit(args) => {
            let config = config::load(cli.config.as_deref())?;
            privacy::audit(&data_dir(&config), args)
        }
        Command::Sweep => {
            let config = config::load(cli.config.as_deref())?;
            privacy::sweep(&data_dir(&config))
        }
        Command::Viewer { port } => {
            let config = config::load(cli.config.as_deref())?;
            let dir = data_dir(&config);
            let shown = dir.display().to_string();
            heyplayer::viewer::serve(dir, port, |s| {
                println!("{}", s.url());
                eprintln!(
                    "[viewer] the store in {shown}, on {} only; Ctrl-C stops it",
                    s.addr
                );
            })?;
            Ok(())
        }
        Command::Export { out } => {
            let config = config::load(cli.config.as_deref())?;
            privacy::export(&data_dir(&config), &out)
        }
        Command::Purge {
            kind,
            before,
            all,
            yes,
        } => {
            let config = config::load(cli.config.as_deref())?;
            privacy::purge(&data_dir(&config), kind, before, all, yes)
        }
        Command::Transcribe(args) => {
            let config = config::load(cli.config.as_deref())?;
            transcribe(args, config)
        }
        Command::Context(args) => {
            let config = config::load(cli.config.as_deref())?;
            context(args, config)
        }
        Command::Eval {
            manifest,
            json,
            models_dir,
            model,
        } => {
            let mut config = config::load(cli.config.as_deref())?;
            if let Some(d) = models_dir {
                config.models_dir = d;
            }
            if let Some(m) = model {
                config.asr_model = m;
            }
            let report = heyplayer::eval::evaluate(&manifest, &config, |i, n, id| {
                eprint!("\r[eval] {i}/{n} {id:<40}");
                if i == n {
                    eprintln!();
                }
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        Command::Devices { host, json } => {
            let config = config::load(cli.config.as_deref())?;
            devices(host.unwrap_or(config.audio.host), json)
        }
        Command::Config {
            print_default,
            check,
        } => {
            if print_default {
                print!("{DEFAULT_TOML}");
                return Ok(());
            }
            let config = config::load(cli.config.as_deref())?;
            if check {
                println!("config is valid; in force:\n{config:#?}");
            } else {
                println!("{config:#?}");
            }
            Ok(())
        }
        Command::Models {
            action:
                ModelsAction::Fetch {
                    models_dir,
                    all,
                    only,
                },
        } => {
            let dir = match models_dir {
                Some(d) => d,
                None => config::load(cli.config.as_deref())?.models_dir,
            };
            models::fetch(&dir, &only, all)?;
            eprintln!("[models] done; `heyplayer models list` shows what is installed");
            Ok(())
        }
        Command::Models {
            action: ModelsAction::List { models_dir },
        } => {
            let dir = match models_dir {
                Some(d) => d,
                None => config::load(cli.config.as_deref())?.models_dir,
            };
            models_list(dir)
        }
    }
}

fn listen(args: ListenArgs, mut config: Config) -> Result<()> {
    if let Some(d) = args.models_dir {
        config.models_dir = d;
    }
    let format = args.events.unwrap_or(config.events);
    let host = args.host.unwrap_or(config.audio.host);
    let input = match (args.input.as_str(), args.device) {
        ("mic", device) => Input::Mic {
            host,
            device: device.or(config.audio.device.clone()),
        },
        (_, Some(_)) => anyhow::bail!(
            "--device picks a microphone; it cannot be used with --input {} (drop one of them)",
            args.input
        ),
        ("-", None) => Input::Stdin {
            rate: args.rate,
            channels: args.channels,
        },
        (path, None) => Input::File {
            path: PathBuf::from(path),
            realtime: args.realtime,
        },
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let stdout = std::io::stdout();
    let mut writer = EventWriter::new(stdout.lock(), format);
    if let Some(p) = args.wake_phrase {
        let phrase = heyplayer::intent::normalise(&p);
        anyhow::ensure!(!phrase.is_empty(), "--wake-phrase needs at least one word");
        config.wake.phrase = phrase;
    }
    if args.no_verify {
        config.wake.verify = false;
    }
    if args.no_context {
        config.context_enabled = false;
    }
    if args.context_socket.is_some() {
        config.context_out.socket = args.context_socket.clone();
    }
    if args.context_file.is_some() {
        config.context_out.file = args.context_file.clone();
    }
    let music = args.music_dir.clone();
    let mut player: Option<Box<dyn Player>> = match (args.player.as_deref(), args.mpv_socket) {
        (Some("dry-run"), None) => Some(Box::new(DryRun)),
        (Some(p), Some(_)) => anyhow::bail!(
            "--player {p} and --mpv-socket both choose a player: --mpv-socket drives mpv over its IPC socket, --player an MPRIS player; give one"
        ),
        (Some("auto" | "mpris"), None) => Some(Box::new(Mpris::new(None, music))),
        (Some(name), None) => Some(Box::new(Mpris::new(Some(name.to_string()), music))),
        (None, Some(sock)) => Some(Box::new(Mpv::new(sock, music))),
        (None, None) => None,
    };
    anyhow::ensure!(
        args.music_dir.as_ref().is_none_or(|d| d.is_dir()),
        "--music-dir {}: not a folder",
        args.music_dir
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display()
    );
    pipeline::listen(
        &input,
        &config,
        !args.vad_only,
        player.as_mut().map(|p| p.as_mut() as &mut dyn Player),
        &stop,
        |ev| writer.write(ev),
    )?;
    Ok(())
}

fn transcribe(args: TranscribeArgs, mut config: Config) -> Result<()> {
    if let Some(d) = args.models_dir {
        config.models_dir = d;
    }
    if let Some(m) = args.model {
        config.asr_model = m;
    }
    if let Some(t) = args.threads {
        anyhow::ensure!((1..=64).contains(&t), "--threads must be between 1 and 64");
        config.asr.threads = t;
    }
    let mut worker = pipeline::asr_worker(&config)?;
    let mut out = std::io::stdout().lock();
    let work = |file: &Path| Ok(pipeline::transcribe_file(file, &mut worker)?);
    each_file(&args.files, work, |file, r| {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            let what = match (&r.command, &r.guess) {
                (Some(c), Some(g)) => format!("-> {c} (guided: {:?})", g.text),
                (Some(c), None) => format!("-> {c}"),
                (None, _) => format!(
                    "-> not understood ({})",
                    r.reason.as_deref().unwrap_or("not a command")
                ),
            };
            writeln!(out, "{}: {:?} {what}", file.display(), r.transcript.text)?;
        }
        Ok(())
    })
}

/// Runs `work` on each file and `emit`s its result, going on past a file
/// that fails (its error goes to stderr, with the file's name) so that one bad
/// file does not lose the others' results. Fails at the end if any file did;
/// with a single file, with that file's own error. An error from `emit`
/// (stdout closed) stops at once.
fn each_file<R>(
    files: &[PathBuf],
    mut work: impl FnMut(&Path) -> Result<R>,
    mut emit: impl FnMut(&Path, R) -> Result<()>,
) -> Result<()> {
    let mut failed = 0usize;
    for file in files {
        match work(file) {
            Ok(r) => emit(file, r)?,
            Err(e) if files.len() == 1 => return Err(anyhow::anyhow!(file_error_line(file, &e))),
            Err(e) => {
                failed += 1;
                eprintln!("heyplayer: error: {}", file_error_line(file, &e));
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} files failed (errors above); the others' results were printed",
        files.len()
    );
    Ok(())
}

/// [`one_line`], led by the file's name unless the message already names it.
fn file_error_line(file: &Path, e: &anyhow::Error) -> String {
    let line = one_line(e);
    let name = file.display().to_string();
    if line.contains(&name) {
        line
    } else {
        format!("{name}: {line}")
    }
}

fn context(args: ContextArgs, mut config: Config) -> Result<()> {
    use heyplayer::context::{file, ContextModel, ContextStage};
    if let Some(d) = args.models_dir {
        config.models_dir = d;
    }
    let model = if args.zero_shot {
        ContextModel::load_zero_shot(&config.models_dir)?
    } else {
        ContextModel::load(&config.models_dir)?
    };
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let mut stage = ContextStage::new(model);
    let mut out = std::io::stdout().lock();
    let work = |path: &Path| {
        // A fresh VAD per file: each file is its own clip.
        let mut vad = heyplayer::vad::FrameVad::new(&config.vad, &silero.path)?;
        let mut r = file::classify_file(path, &mut stage, &mut vad, args.preroll_ms)?;
        if args.features {
            r.features = Some(stage.features().to_vec());
        }
        Ok(r)
    };
    each_file(&args.files, work, |_, r| {
        if args.json || args.features {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            writeln!(out, "{}", file::to_text(&r))?;
        }
        Ok(())
    })
}

fn devices(host: HostChoice, json: bool) -> Result<()> {
    let list = list_devices(host)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!(
            "No input devices found on the {host:?} host.\n\
             Plug in a microphone (or start a sound server), or listen to a file:\n  \
             heyplayer listen --input recording.wav"
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Input devices ({host:?} host); use the id with --device:"
    )?;
    for d in &list {
        writeln!(
            out,
            "{} {}  {}  [{}]",
            if d.default { "*" } else { " " },
            d.id,
            d.name,
            d.format.as_deref().unwrap_or("no default format")
        )?;
    }
    writeln!(out, "(* = default)")?;
    Ok(())
}

fn models_list(dir: PathBuf) -> Result<()> {
    println!("Models directory: {}", dir.display());
    for e in models::entries()? {
        let status = match models::locate(&e.name, &dir) {
            Ok(_) => "installed, sha256 ok".to_string(),
            Err(models::ModelError::Missing { .. }) if e.optional => {
                "not installed (optional: heyplayer models fetch --all)".to_string()
            }
            Err(models::ModelError::Missing { .. }) => {
                "MISSING (run: heyplayer models fetch)".to_string()
            }
            Err(err) => format!("BAD: {err}"),
        };
        let from = match (&e.package, &e.version) {
            (Some(p), Some(v)) => format!("{} {p}=={v}", e.source),
            _ if !e.packages.is_empty() => format!("{} {}", e.source, e.packages.join(" + ")),
            _ => e.source.clone(),
        };
        println!(
            "{:<20} {:<30} {:>7.1} MB  {:<8} {:<40} {}",
            e.name,
            e.file,
            e.size as f64 / 1e6,
            e.licence,
            from,
            status
        );
    }
    Ok(())
}

/// The privacy commands: status, audit, export, purge.
mod privacy {
    use std::io::{BufRead, IsTerminal, Write};
    use std::path::Path;
    use std::sync::Arc;

    use anyhow::{bail, Context, Result};
    use heyplayer_privacy::audit::Action;
    use heyplayer_privacy::store::{describe_counts, AuditQuery, PurgeFilter, Status};
    use heyplayer_privacy::time::{fmt_utc, parse_time};
    use heyplayer_privacy::{Actor, Clock, Kind, Store, SystemClock};

    use super::{AuditAction, AuditArgs};

    fn open(dir: &Path) -> Result<Option<Store>> {
        Store::open_existing(dir, Arc::new(SystemClock))
            .with_context(|| format!("cannot open the privacy store in {}", dir.display()))
    }

    fn nothing_yet(dir: &Path) {
        println!(
            "Nothing is stored: there is no store in {} yet.\n\
             heyplayer writes there only while it listens (`heyplayer listen`), and only what\n\
             the retention rules allow (`heyplayer config --print-default`, section [retention]).",
            dir.display()
        );
    }

    fn kind(name: &str) -> Result<Kind> {
        Kind::from_name(name).with_context(|| {
            let all: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kind {name:?}: use one of {}", all.join(", "))
        })
    }

    fn ago(ms: i64) -> String {
        let s = ms / 1000;
        match s {
            s if s < 0 => format!("in {}", ago(-ms).trim_end_matches(" ago")),
            s if s < 120 => format!("{s} s ago"),
            s if s < 7200 => format!("{} min ago", s / 60),
            s if s < 172_800 => format!("{} h ago", s / 3600),
            s => format!("{} days ago", s / 86_400),
        }
    }

    pub fn status(dir: &Path, json: bool) -> Result<()> {
        let Some(store) = open(dir)? else {
            if json {
                println!("{}", serde_json::json!({"data_dir": dir, "store": null}));
            } else {
                nothing_yet(dir);
            }
            return Ok(());
        };
        let st = store.status()?;
        let chain = store.verify_audit()?;
        if json {
            let mut v = serde_json::to_value(&st)?;
            v["audit_chain"] = serde_json::to_value(&chain)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(());
        }
        print!("{}", status_text(&st, chain.ok(), SystemClock.now_ms()));
        Ok(())
    }

    fn status_text(st: &Status, chain_ok: bool, now: i64) -> String {
        let mut o = String::new();
        let listening = match &st.listening {
            Some((l, true)) => format!(
                "yes: heyplayer (pid {}) since {} ({}), on {}",
                l.pid,
                fmt_utc(l.since_ms),
                ago(now - l.since_ms),
                l.input
            ),
            Some((l, false)) => format!(
                "no: heyplayer (pid {}) started {} on {} and is gone without saying why (killed or crashed)",
                l.pid,
                fmt_utc(l.since_ms),
                l.input
            ),
            None => match &st.last_stop {
                Some(v) => format!(
                    "no (last stopped {}: {})",
                    v["at"].as_str().unwrap_or("?"),
                    v["reason"].as_str().unwrap_or("?")
                ),
                None => "no (it has never listened with this store)".into(),
            },
        };
        o += &format!("Listening now:  {listening}\n");
        if let Some(v) = &st.state {
            let since = v["since_ms"].as_i64().unwrap_or(now);
            o += &format!(
                "State:          {} for {}\n",
                v["state"].as_str().unwrap_or("?"),
                ago(now - since).trim_end_matches(" ago")
            );
        }
        o += "When it hears:  only after the wake word. Before it, audio goes through voice\n                detection and the wake-word detector in memory, then is dropped.\n";
        if let Some((l, _)) = &st.listening {
            for m in &l.models {
                o += &format!(
                    "Model:          {:<20} {}  sha256 {}\n",
                    m.name, m.file, m.sha256
                );
            }
        }
        o += &format!(
            "Data lives in:  {} (this machine only; mode 0700)\n",
            st.data_dir.display()
        );
        let rules: Vec<String> = st
            .retention
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        o += &format!("Kept for:       {}\n", rules.join(" | "));
        let counts: Vec<String> = st
            .counts
            .iter()
            .filter(|(k, _)| **k != "audit")
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        o += &format!(
            "Stored:         {} records ({}); {} bytes of audio; {} audit entries (chain {})\n",
            st.records,
            counts.join(", "),
            st.clip_bytes,
            st.counts.get("audit").copied().unwrap_or(0),
            if chain_ok {
                "intact"
            } else {
                "BROKEN: run `heyplayer audit verify`"
            }
        );
        if let Some(t) = st.next_expiry_ms {
            o += &format!("Next deletion:  {} ({})\n", fmt_utc(t), ago(now - t));
        }
        o += "See it:         heyplayer audit | heyplayer export --out FILE.json\n";
        o += "Delete it:      heyplayer purge --kind KIND | --before TIME | --all\n";
        o
    }

    pub fn audit(dir: &Path, args: AuditArgs) -> Result<()> {
        let Some(store) = open(dir)? else {
            nothing_yet(dir);
            return Ok(());
        };
        if let Some(AuditAction::Verify { json }) = args.action {
            let v = store.verify_audit()?;
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else if let Some(b) = &v.first_broken {
                println!(
                    "audit log BROKEN at entry {}: {} ({} entries checked)",
                    b.seq, b.reason, v.entries
                );
            } else {
                println!("audit log intact: {} entries, every link checks", v.entries);
            }
            if !v.ok() {
                std::process::exit(1);
            }
            return Ok(());
        }
        let now = SystemClock.now_ms();
        let mut q = AuditQuery {
            since_ms: args
                .since
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            until_ms: args
                .until
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            limit: args.per_page,
            offset: args.page.saturating_sub(1) * args.per_page,
            ..Default::default()
        };
        if let Some(k) = &args.kind {
            match (Kind::from_name(k), Action::from_name(k)) {
                (Some(kind), _) => q.kind = Some(kind),
                (None, Some(a)) => q.action = Some(a),
                (None, None) => {
                    let kinds: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
                    let acts: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
                    bail!(
                        "unknown --kind {k:?}: use a kind ({}) or an action ({})",
                        kinds.join(", "),
                        acts.join(", ")
                    );
                }
            }
        }
        let (entries, total) = store.audit_entries(&q)?;
        let mut out = std::io::stdout().lock();
        if args.json {
            for e in &entries {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
            }
            return Ok(());
        }
        writeln!(
            out,
            "{:>6}  {:<20}  {:<12}  {:<9}  {:<10}  detail",
            "seq", "time (UTC)", "action", "by", "kind"
        )?;
        for e in &entries {
            writeln!(
                out,
                "{:>6}  {:<20}  {:<12}  {:<9}  {:<10}  {}",
                e.seq,
                fmt_utc(e.t_ms),
                e.action,
                e.actor,
                e.kind.as_deref().unwrap_or("-"),
                e.detail
            )?;
        }
        let pages = if args.per_page == 0 {
            1
        } else {
            total.div_ceil(args.per_page).max(1)
        };
        writeln!(out, "page {} of {pages} ({total} entries match)", args.page)?;
        if args.page < pages {
            writeln!(
                out,
                "next: heyplayer audit --page {} (plus the same filters)",
                args.page + 1
            )?;
        }
        Ok(())
    }

    pub fn sweep(dir: &Path) -> Result<()> {
        let Some(store) = open(dir)? else {
            nothing_yet(dir);
            return Ok(());
        };
        let c = store.opening_sweep();
        if c.is_empty() {
            println!("nothing had expired");
        } else {
            println!("deleted what had expired: {}", describe_counts(c));
        }
        Ok(())
    }

    pub fn export(dir: &Path, out: &Path) -> Result<()> {
        let Some(mut store) = open(dir)? else {
            nothing_yet(dir);
            return Ok(());
        };
        let n = store.export(out)?;
        println!(
            "wrote {n} records and the audit log to {} (mode 0600)",
            out.display()
        );
        Ok(())
    }

    pub fn purge(
        dir: &Path,
        kind_name: Option<String>,
        before: Option<String>,
        all: bool,
        yes: bool,
    ) -> Result<()> {
        if kind_name.is_none() && before.is_none() && !all {
            bail!("say what to delete: --kind KIND, --before TIME, or --all (see `heyplayer purge --help`)");
        }
        let now = SystemClock.now_ms();
        let filter = PurgeFilter {
            kind: kind_name.as_deref().map(kind).transpose()?,
            before_ms: before.as_deref().map(|s| parse_time(s, now)).transpose()?,
            all,
        };
        let Some(mut store) = open(dir)? else {
            nothing_yet(dir);
            return Ok(());
        };
        let what = if all {
            "EVERYTHING heyplayer stored, the audit log included".to_string()
        } else {
            format!(
                "{}{}",
                filter
                    .kind
                    .map_or("all records".to_string(), |k| format!("every {}", k.name())),
                filter
                    .before_ms
                    .map_or(String::new(), |t| format!(" stored before {}", fmt_utc(t)))
            )
        };
        if !yes {
            if !std::io::stdin().is_terminal() {
                bail!("refusing to delete {what} without confirmation: add --yes");
            }
            eprint!("Delete {what} in {}? [y/N] ", dir.display());
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            if !matches!(line.trim(), "y" | "Y" | "yes") {
                println!("nothing deleted");
                return Ok(());
            }
        }
        let counts = store.purge(filter, Actor::Purge)?;
        if counts.is_empty() {
            println!("nothing matched; nothing deleted");
        } else {
            println!("deleted {}", describe_counts(&counts));
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ages_read_naturally() {
            assert_eq!(ago(30_000), "30 s ago");
            assert_eq!(ago(3_600_000), "60 min ago");
            assert_eq!(ago(-3 * 3_600_000), "in 3 h");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{each_file, is_broken_pipe, one_line, Path, PathBuf, Result};

    #[test]
    fn a_cause_the_message_already_names_is_not_repeated() {
        let os = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(heyplayer::audio::AudioError::Open {
            path: "x.wav".into(),
            source: os,
        });
        assert_eq!(one_line(&e), "cannot open x.wav: No such file");
        let e = anyhow::anyhow!("disk full").context("cannot write the store");
        assert_eq!(one_line(&e), "cannot write the store: disk full");
    }

    #[test]
    fn a_closed_stdout_is_told_from_other_errors() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&anyhow::Error::new(pipe).context("writing")));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_broken_pipe(&anyhow::Error::new(other)));
        assert!(!is_broken_pipe(&anyhow::anyhow!("broken pipe")));
        // A stage's error caused by a closed pipe is that stage's error.
        let wrapped = heyplayer::audio::AudioError::Open {
            path: "-".into(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        };
        assert!(!is_broken_pipe(&anyhow::Error::new(wrapped)));
        // The listener's events going nowhere is the same as stdout closing.
        let events = heyplayer::Error::Output(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::new(events)));
    }

    #[test]
    fn each_file_goes_on_past_a_bad_file_and_fails_at_the_end() {
        let files: Vec<PathBuf> = ["a.wav", "bad.wav", "c.wav"].map(PathBuf::from).into();
        let mut done = Vec::new();
        let r = each_file(
            &files,
            |f| {
                anyhow::ensure!(f != Path::new("bad.wav"), "not a WAV file");
                Ok(f.display().to_string())
            },
            |_, name| {
                done.push(name);
                Ok(())
            },
        );
        assert_eq!(done, ["a.wav", "c.wav"]);
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("1 of 3 files failed"), "{e}");
        // One file: its own error, named.
        let r = each_file(
            &files[1..2],
            |_| -> Result<()> { anyhow::bail!("not a WAV file") },
            |_, _| Ok(()),
        );
        assert_eq!(r.unwrap_err().to_string(), "bad.wav: not a WAV file");
        // An error while printing stops at once.
        let mut seen = 0;
        let r = each_file(
            &files,
            |_| Ok(()),
            |_, _| {
                seen += 1;
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into())
            },
        );
        assert!(r.is_err());
        assert_eq!(seen, 1);
    }
}

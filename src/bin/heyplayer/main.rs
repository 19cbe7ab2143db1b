#![forbid(unsafe_code)]
//! The `heyplayer` binary: arguments → the library's subcommands, and one
//! clear line for any error.

mod privacy;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use heyplayer::audio::mic::{list_devices, HostChoice};
use heyplayer::cli::{Cli, Command, ContextArgs, ListenArgs, ModelsAction, TranscribeArgs};
use heyplayer::config::EventsContent;
use heyplayer::config::{self, Config, DEFAULT_TOML};
use heyplayer::events::{EventWriter, Words};
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
            let report = heyplayer::app::eval::evaluate(&manifest, &config, |i, n, id| {
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
            // The others are scored and shown; the run still says it was not whole.
            anyhow::ensure!(
                report.errors.is_empty(),
                "{} of {} files could not be scored (listed in the report)",
                report.errors.len(),
                report.errors.len() + report.files
            );
            Ok(())
        }
        Command::Wyoming(args) => {
            let mut config = config::load(cli.config.as_deref())?;
            config.data_dir = data_dir(&config);
            wyoming(args, config)
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
    let commands = match config.events_content {
        _ if args.events_content => true,
        EventsContent::Auto => stdout.is_terminal(),
        EventsContent::Always => true,
        EventsContent::Never => false,
    };
    if args.debug_rejected_words {
        eprintln!(
            "heyplayer: --debug-rejected-words: the words of rejected wakes (speech not meant for heyplayer) go to stdout"
        );
    }
    let words = Words {
        commands,
        rejected: args.debug_rejected_words,
    };
    let mut writer = EventWriter::new(stdout.lock(), format).with_words(words);
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

fn wyoming(args: heyplayer::cli::WyomingArgs, mut config: Config) -> Result<()> {
    use heyplayer::wyoming::{serve, Bind, Options};
    if let Some(d) = args.models_dir {
        config.models_dir = d;
    }
    if let Some(m) = args.model {
        config.asr_model = m;
    }
    if args.no_verify {
        config.wake.verify = false;
    }
    config.context_enabled = false;
    anyhow::ensure!(
        (1..=8).contains(&args.asr_workers),
        "--asr-workers must be between 1 and 8"
    );
    anyhow::ensure!(
        (1..=256).contains(&args.max_clients),
        "--max-clients must be between 1 and 256"
    );
    let bind = Bind::parse(&args.uri)?;
    if !bind.is_local() && args.allow_lan {
        eprintln!(
            "[wyoming] --allow-lan: {} is reachable from other machines. Anyone who can reach it \
             can stream audio to heyplayer and read back what was said (the Wyoming protocol has \
             no authentication); keep it behind a firewall that lets only Home Assistant in.",
            args.uri
        );
    }
    let opts = Options {
        bind,
        allow_lan: args.allow_lan,
        asr_workers: args.asr_workers,
        max_clients: args.max_clients,
    };
    eprintln!("[wyoming] loading the models...");
    serve(&config, &opts, |addr| {
        println!("{addr}");
        let _ = std::io::stdout().flush();
        eprintln!(
            "[wyoming] serving on {addr} (Whisper {}, {} worker(s); Ctrl-C stops it)",
            config.asr_model, args.asr_workers
        );
    })?;
    eprintln!("[wyoming] stopped");
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
    let work = |file: &Path| {
        Ok(heyplayer::app::transcribe::transcribe_file(
            file,
            &mut worker,
        )?)
    };
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
    use heyplayer::context::{ContextModel, ContextStage};
    if let Some(d) = args.models_dir {
        config.models_dir = d;
    }
    let backbone = args
        .backbone
        .unwrap_or(heyplayer::context::DEFAULT_BACKBONE);
    let model = if args.zero_shot {
        ContextModel::load_zero_shot_backbone(&config.models_dir, backbone)?
    } else {
        ContextModel::load_backbone(&config.models_dir, backbone)?
    };
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let mut stage = ContextStage::new(model);
    let mut out = std::io::stdout().lock();
    let work = |path: &Path| {
        // A fresh VAD per file: each file is its own clip.
        let mut vad = heyplayer::vad::FrameVad::new(&config.vad, &silero.path)?;
        let mut r =
            heyplayer::app::context::classify_file(path, &mut stage, &mut vad, args.preroll_ms)?;
        if args.features {
            r.features = Some(stage.features().to_vec());
        }
        Ok(r)
    };
    each_file(&args.files, work, |_, r| {
        if args.json || args.features {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            writeln!(out, "{}", heyplayer::app::context::to_text(&r))?;
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

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use heyplayer::audio::mic::{list_devices, HostChoice};
use heyplayer::cli::{Cli, Command, ListenArgs, ModelsAction, TranscribeArgs};
use heyplayer::config::{self, Config, DEFAULT_TOML};
use heyplayer::events::EventWriter;
use heyplayer::models;
use heyplayer::pipeline::{self, Input};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line: what is wrong and what to do.
            eprintln!("heyplayer: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Listen(args) => {
            let config = config::load(cli.config.as_deref())?;
            listen(args, config)
        }
        Command::Transcribe(args) => {
            let config = config::load(cli.config.as_deref())?;
            transcribe(args, config)
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
    pipeline::listen(&input, &config, !args.vad_only, &stop, |ev| {
        writer.write(ev)
    })?;
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
    for file in &args.files {
        let r = pipeline::transcribe_file(file, &mut worker)?;
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
    }
    Ok(())
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

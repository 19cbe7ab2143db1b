//! The privacy commands: status, audit, export, purge, sweep.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use heyplayer_privacy::audit::Action;
use heyplayer_privacy::store::{describe_counts, AuditQuery, PurgeFilter, Status};
use heyplayer_privacy::time::{fmt_utc, parse_time};
use heyplayer_privacy::{Actor, Clock, Kind, Store, SystemClock};

use heyplayer::cli::{AuditAction, AuditArgs};

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

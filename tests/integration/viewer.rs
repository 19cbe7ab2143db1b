//! The log viewer in a real browser: Debian's headless Chromium driven over
//! WebDriver (chromedriver), against `heyplayer viewer` on a scratch store
//! filled through the daemon's own capture log. Checks that each record and
//! audit entry reads in words (no JSON text anywhere, details opened), the
//! charts, WCAG AA contrast and no sideways scrolling at 1280×800 and
//! 390×844, the live "listening now?" indicator, keyboard use (skip link,
//! details, Enter on a delete button and the confirmation dialog), then the
//! store and the audit log. Screenshots: tests/out/viewer/viewer-1280x800.png
//! and viewer-390x844.png (the window), and -full.png (the whole page).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use heyplayer::context::prosody::Prosody;
use heyplayer::context::{Arousal, ContextLabels, Label};
use heyplayer::events::{Event, ListenState};
use heyplayer::intent::{Action as IntentAction, Command};
use heyplayer::playback::Outcome;
use heyplayer::store::log::CaptureLog;
use heyplayer_privacy::{Actor, Clock, ManualClock, RetentionRules, Store, SystemClock};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 request; returns (status, headers, body).
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String, String) {
    http_with(addr, method, path, body, "")
}

/// [`http`] with extra header lines (each ending in \r\n).
fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let host = if extra.contains("Host:") {
        String::new()
    } else {
        format!("Host: {addr}\r\n")
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then exactly the body (chromedriver keeps the
    // connection open after answering, whatever the request said).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{method} {path}: connection closed before the head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let lower = head.to_ascii_lowercase();
    let mut rest = raw[head_end + 4..].to_vec();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = lower.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => rest.len() >= n,
            None if chunked => rest.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&rest).into_owned();
    let rest = rest.as_str();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if chunked {
        let mut out = String::new();
        let mut r = rest;
        while let Some((len, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            r = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    (status, head.to_string(), body)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Driver {
    addr: String,
    session: String,
    _proc: Killed,
}

impl Driver {
    fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: `make test` installs Debian's chromium and chromium-driver"
            );
        }
        let port = free_port();
        let proc = Killed(
            Process::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let addr = format!("127.0.0.1:{port}");
        let t0 = Instant::now();
        while TcpStream::connect(&addr).is_err() {
            assert!(t0.elapsed() < WAIT, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1100", "--no-first-run"
            ]}
        }}});
        let (st, _, body) = http(&addr, "POST", "/session", Some(&caps));
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("chromedriver: {st} {body}"));
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {body}"))
            .to_string();
        Driver {
            addr,
            session,
            _proc: proc,
        }
    }

    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}/{what}", self.session);
        let (st, _, b) = http(&self.addr, method, &path, body.as_ref());
        let v: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{what}: {st} {b}"));
        assert_eq!(st, 200, "{what}: {b}");
        v["value"].clone()
    }

    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Sizes the window so that the page's viewport is `w`×`h` CSS pixels.
    fn viewport(&self, w: i64, h: i64) {
        let (mut ww, mut wh) = (w, h);
        for _ in 0..3 {
            self.cmd(
                "POST",
                "window/rect",
                Some(json!({"width": ww, "height": wh})),
            );
            let got = self.js("return [innerWidth, innerHeight]");
            let (gw, gh) = (got[0].as_i64().unwrap(), got[1].as_i64().unwrap());
            if (gw, gh) == (w, h) {
                return;
            }
            ww += w - gw;
            wh += h - gh;
        }
        panic!("cannot size the viewport to {w}×{h}");
    }

    /// The element id of the first match of a CSS selector.
    fn find(&self, css: &str) -> String {
        let e = self.cmd(
            "POST",
            "element",
            Some(json!({"using": "css selector", "value": css})),
        );
        e.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Key presses to whatever has the focus.
    fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.cmd(
            "POST",
            "actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// The window, as PNG.
    fn screenshot(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(self.cmd("GET", "screenshot", None).as_str().unwrap())
            .unwrap()
    }

    /// The whole page at the window's width, as PNG (Chromium's DevTools).
    fn full_screenshot(&self) -> Vec<u8> {
        let v = self.cmd(
            "POST",
            "goog/cdp/execute",
            Some(json!({"cmd": "Page.captureScreenshot", "params": {"captureBeyondViewport": true, "format": "png"}})),
        );
        base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap())
            .unwrap()
    }

    fn wait_for(&self, what: &str, script: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.js(script);
            if v.as_bool() != Some(false) && !v.is_null() {
                return v;
            }
            assert!(t0.elapsed() < WAIT, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

/// A context as the context stage emits it.
fn labels(
    physical: (&str, f32, &[(&str, f32)]),
    social: (&str, f32),
    emotion: &str,
) -> ContextLabels {
    let label = |value: &str, confidence: f32, evidence: &[(&str, f32)]| Label {
        value: value.into(),
        confidence,
        evidence: evidence.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
    };
    ContextLabels {
        physical: label(physical.0, physical.1, physical.2),
        social: label(social.0, social.1, &[("learned head", social.1)]),
        emotion: label(emotion, 0.55, &[("Laughter", 0.2)]),
        arousal: Arousal {
            value: Some(0.66),
            prosody: Prosody {
                frames: 106,
                voiced_ratio: 0.6,
                pitch_median_hz: 180.0,
                pitch_range_st: 5.0,
                level_dbfs: -24.0,
                level_above_background_db: 18.0,
            },
            evidence: vec![("Laughter".into(), 0.1)],
            level: label("energetic", 0.15, &[("prosody", 0.7)]),
        },
        speech_fraction: 0.4,
        preroll_speech_fraction: 0.1,
        whole_clip_fallback: false,
        top_classes: vec![("Speech".into(), 0.9)],
    }
}

/// One wake event through the daemon's own capture log: wake, transcript,
/// command (or not understood), context; then the player's outcome.
fn wake_event(
    store: &mut Store,
    said: &str,
    command: Option<Command>,
    ctx: ContextLabels,
    outcome: Option<Outcome>,
) -> i64 {
    let mut log = CaptureLog::new(true);
    let t_ms = 1000;
    for ev in [
        Event::Wake {
            t_ms,
            phrase: "hey player".into(),
            score: 0.93,
        },
        Event::Transcript {
            t_ms,
            text: said.into(),
        },
        match command {
            Some(command) => Event::Command {
                t_ms,
                command,
                guided: None,
            },
            None => Event::NotUnderstood {
                t_ms,
                text: said.into(),
                reason: "not a command".into(),
            },
        },
        Event::Context {
            t_ms,
            labels: Box::new(ctx),
        },
    ] {
        assert!(log.push(&ev).is_none());
    }
    let c = log.end_of_command(|| None).expect("a capture");
    let id = store.record_capture(c).unwrap().id.expect("kept on disk");
    if let Some(o) = outcome {
        store
            .set_outcome(id, serde_json::to_value(o).unwrap())
            .unwrap();
    }
    id
}

fn cmd(action: IntentAction, query: Option<&str>) -> Command {
    Command {
        action,
        query: query.map(Into::into),
        value: None,
    }
}

fn ok(player: &str, detail: &str) -> Option<Outcome> {
    Some(Outcome {
        ok: true,
        player: player.into(),
        detail: detail.into(),
    })
}

/// The store the page shows: three commands of today (ids 3, 4, 5: one
/// played, one dry run, one failed), one not understood (6), and two of
/// three days ago whose words have expired (1, 2).
fn fill_store(data: &Path) -> Store {
    let quiet = ("indoor_quiet", 0.64, &[("learned head", 0.64)][..]);
    let street = (
        "street",
        0.72,
        &[
            ("learned head", 0.72),
            ("Traffic noise, roadway noise", 0.41),
            ("Vehicle horn, car horn, honking", 0.2),
        ][..],
    );
    let music = (
        "unknown",
        0.0,
        &[("Music", 0.81), ("learned head: indoor_busy", 0.6)][..],
    );
    let failed = Some(Outcome {
        ok: false,
        player: "mpris".into(),
        detail: "no MPRIS player is running".into(),
    });
    let play = cmd(IntentAction::Play, Some("jazz"));
    let (pause, next) = (
        cmd(IntentAction::Pause, None),
        cmd(IntentAction::Next, None),
    );
    let down = cmd(IntentAction::VolumeDown, None);
    // Three days and two days ago.
    let old = [
        (
            "pause",
            Some(pause),
            labels(quiet, ("alone", 0.8), "neutral"),
            ok("mpv", "paused"),
        ),
        (
            "next one",
            Some(next.clone()),
            labels(quiet, ("conversation", 0.6), "happy"),
            ok("mpv", "next track"),
        ),
    ];
    // Today.
    let new = [
        (
            "play some jazz",
            Some(play),
            labels(street, ("alone", 0.81), "happy"),
            ok("mpv", "playing 12 tracks matching jazz"),
        ),
        (
            "turn it down",
            Some(down),
            labels(quiet, ("conversation", 0.58), "neutral"),
            ok("dry-run", "would turn the volume down by 10"),
        ),
        (
            "skip this song",
            Some(next),
            labels(music, ("unknown", 0.0), "neutral"),
            failed,
        ),
        (
            "what's the weather",
            None,
            labels(quiet, ("alone", 0.7), "neutral"),
            None,
        ),
    ];
    let day = Duration::from_secs(86_400);
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms() - 3 * 86_400_000));
    let mut store = Store::open(data, RetentionRules::default(), clock.clone()).unwrap();
    for (said, command, ctx, outcome) in old {
        wake_event(&mut store, said, command, ctx, outcome);
        clock.advance(day);
    }
    drop(store);
    // Opening with the real clock sweeps the expired words.
    let mut store = Store::open(data, RetentionRules::default(), Arc::new(SystemClock)).unwrap();
    for (said, command, ctx, outcome) in new {
        wake_event(&mut store, said, command, ctx, outcome);
    }
    store
}

/// JS: the elements under `sel` whose text is JSON (an object or array), and
/// whether any text there looks like JSON at all.
const JSON_TEXT: &str = r##"
const found = [];
for (const sel of ["#records", "#audit", "main"]) {
  for (const e of document.querySelectorAll(`${sel}, ${sel} *`)) {
    const t = (e.textContent || "").trim();
    if (/^[\[{]/.test(t)) {
      try { const v = JSON.parse(t); if (v && typeof v === "object") found.push(t.slice(0, 80)); } catch (_) {}
    }
    if (e.children.length === 0 && /\{"|":|\["|":\{/.test(t)) found.push(t.slice(0, 80));
  }
}
return found;"##;

/// JS: whatever sticks out sideways: the page scrolls, an element reaches
/// past the window's right edge, or a box hides or scrolls its overflow.
const SIDEWAYS: &str = r##"
const out = [];
const d = document.documentElement, W = d.clientWidth;
if (d.scrollWidth > W) out.push(`page scrollWidth ${d.scrollWidth} > ${W}`);
for (const e of [d, document.body]) {
  if (getComputedStyle(e).overflowX !== "visible") out.push(`${e.tagName} hides its overflow`);
}
for (const e of document.querySelectorAll("body *")) {
  if (e.closest(".sr, .skip")) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.right > W + 0.5 || r.left < -0.5) out.push(`${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)} of ${W}`);
  const ox = getComputedStyle(e).overflowX;
  if (ox !== "visible" && e.scrollWidth > e.clientWidth + 1) out.push(`${e.tagName}.${e.className} overflows sideways (${e.scrollWidth} > ${e.clientWidth})`);
}
return out.slice(0, 20);"##;

/// JS: text below WCAG AA contrast (4.5:1, 3:1 for large text) against the
/// background it is drawn on (SVG text: its fill).
const LOW_CONTRAST: &str = r##"
const rgb = (s) => { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
const over = (top, bottom) => { const a = top.length > 3 ? top[3] : 1; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)); };
function background(e) {
  const layers = [];
  for (let x = e; x; x = x.parentElement) {
    const c = rgb(getComputedStyle(x).backgroundColor);
    if ((c.length > 3 ? c[3] : 1) > 0) layers.push(c);
    if ((c.length > 3 ? c[3] : 1) >= 1) break;
  }
  let b = [255, 255, 255];
  for (const c of layers.reverse()) b = over(c, b);
  return b;
}
const bad = [];
for (const e of document.querySelectorAll("body *")) {
  const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !e.getClientRects().length || e.closest(".sr, .skip")) continue;
  const cs = getComputedStyle(e);
  if (cs.visibility === "hidden") continue;
  const bg = background(e instanceof SVGElement ? e.ownerSVGElement || e : e);
  const fg = over(rgb(e instanceof SVGElement ? cs.fill : cs.color), bg);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05);
  const px = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
  const need = px >= 24 || (px >= 18.66 && bold) ? 3 : 4.5;
  if (ratio < need) bad.push(`${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)} < ${need}`);
}
return bad;"##;

#[test]
fn the_viewer_shows_the_records_updates_live_and_deletes_one_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let mut store = fill_store(&data);
    assert_eq!(store.records(0).unwrap().len(), 6);

    let mut viewer = Killed(
        Process::new(env!("CARGO_BIN_EXE_heyplayer"))
            .args(["viewer", "--port", "0", "--data-dir"])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(viewer.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let rest = url.strip_prefix("http://").expect("viewer prints its URL");
    let (addr, query) = rest.split_once('/').unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{url}");

    // No token, a wrong token, a foreign Host: 403. The CSP is on every answer.
    let (st, head, _) = http(addr, "GET", "/", None);
    assert_eq!(st, 403);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert_eq!(http(addr, "GET", "/api/records?token=nope", None).0, 403);
    assert_eq!(http(addr, "POST", "/api/purge?token=0", None).0, 403);
    assert_eq!(http(addr, "GET", &format!("/{query}"), None).0, 200);
    let purge = format!("/api/purge?{}", query.trim_start_matches('?'));
    let evil = "Origin: http://evil.example\r\n";
    assert_eq!(
        http_with(addr, "POST", &purge, None, evil).0,
        403,
        "cross-origin, token or not"
    );
    let xsite = "Sec-Fetch-Site: cross-site\r\n";
    assert_eq!(http_with(addr, "POST", &purge, None, xsite).0, 403);
    assert_eq!(
        http_with(
            addr,
            "GET",
            &format!("/{query}"),
            None,
            "Host: evil.example\r\n"
        )
        .0,
        403,
        "DNS rebinding"
    );
    assert_eq!(store.records(0).unwrap().len(), 6, "nothing was purged");
    assert_listens_on_loopback_only(addr.rsplit(':').next().unwrap().parse().unwrap());
    // The audit API's filter: one action, and a bad one is refused in words.
    let token_q = query.trim_start_matches('?');
    let (st, _, body) = http(
        addr,
        "GET",
        &format!("/api/audit?action=capture&{token_q}"),
        None,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["total"], 6, "{body}");
    let (st, _, body) = http(
        addr,
        "GET",
        &format!("/api/audit?action=nope&{token_q}"),
        None,
    );
    assert!(st == 400 && body.contains("no audit action"), "{st} {body}");

    let d = Driver::start();
    d.viewport(1280, 800);
    d.cmd("POST", "url", Some(json!({"url": url})));
    d.wait_for(
        "six records",
        "return document.querySelectorAll('#records > li').length === 6",
    );
    d.wait_for(
        "the audit log",
        "return document.querySelectorAll('#audit > li').length > 6",
    );
    let rows: Vec<String> = serde_json::from_value(
        d.js("return [...document.querySelectorAll('#records > li')].map(r => r.innerText.replace(/\\s+/g, ' '))"),
    )
    .unwrap();
    let row = |said: &str| {
        rows.iter()
            .find(|r| r.contains(said))
            .unwrap_or_else(|| panic!("no record of {said:?}: {rows:?}"))
            .clone()
    };
    // Each record in words: what was said with its countdown, what was done,
    // the context as labelled chips with their evidence.
    let jazz = row("“play some jazz”");
    for want in [
        "Words deleted in 23 h",
        "✓ Played “jazz”",
        "Where street 72%",
        "traffic noise, vehicle horn",
        "With whom alone 81%",
        "Mood happy",
        "Delete",
    ] {
        assert!(jazz.contains(want), "{want:?} in {jazz}");
    }
    let down = row("“turn it down”");
    assert!(
        down.contains("✓ Turned the volume down") && down.contains("dry run"),
        "{down}"
    );
    let skip = row("“skip this song”");
    assert!(
        skip.contains("✗ Could not skip to the next track")
            && skip.contains("no MPRIS player is running")
            && skip.contains("Where not sure")
            && skip.contains("music playing"),
        "{skip}"
    );
    let weather = row("“what's the weather”");
    assert!(weather.contains("✗ Not understood"), "{weather}");
    let expired: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("Your words are no longer kept (kept 1 day)"))
        .collect();
    assert_eq!(expired.len(), 2, "the swept words are not shown: {rows:?}");
    assert!(
        expired
            .iter()
            .all(|r| r.contains("✓ Paused") || r.contains("✓ Skipped")),
        "{expired:?}"
    );

    // The charts: wake-ups per hour, and the context per day (3 axes).
    let bars = d.js("return document.querySelectorAll('#hours svg rect').length");
    assert!(bars.as_u64().unwrap() >= 1, "wake-ups per hour: {bars}");
    let axes: Vec<String> = serde_json::from_value(d.js(
        "return [...document.querySelectorAll('#ctxchart figure')].map(f => f.querySelector('svg').getAttribute('aria-label') + ' | ' + f.innerText.replace(/\\s+/g, ' '))",
    ))
    .unwrap();
    assert_eq!(axes.len(), 3, "{axes:?}");
    assert!(
        axes[0].starts_with("Where")
            && axes[0].contains("quiet room (4)")
            && axes[0].contains("street (1)"),
        "{axes:?}"
    );
    let days =
        d.js("return document.querySelectorAll('#ctxchart figure:first-child svg g').length");
    assert_eq!(
        days,
        json!(3),
        "three days with context: today, 2 and 3 days ago"
    );

    d.wait_for(
        "the audit chain status",
        "return document.getElementById('chain').textContent.includes('intact')",
    );
    d.wait_for(
        "not listening",
        "return document.getElementById('listening').textContent.startsWith('Not listening')",
    );

    // Every audit entry in words, its details (opened) too; no JSON anywhere.
    let audit: Vec<String> = serde_json::from_value(d.js(
        "document.querySelectorAll('#audit details').forEach(x => x.open = true); return [...document.querySelectorAll('#audit > li')].map(r => r.innerText.replace(/\\s+/g, ' '))",
    ))
    .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.contains("Heard the wake word (93%, confirmed); kept your words for 1 day")),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|e| e.contains("Automatic")
            && e.contains("Deleted your words of 2 records (1, 2): their time to be kept ran out")),
        "{audit:?}"
    );
    // Filters: typed words, and the result.
    let q = d.find("#q");
    d.cmd(
        "POST",
        &format!("element/{q}/value"),
        Some(json!({"text": "jazz"})),
    );
    d.wait_for(
        "the search",
        "return document.querySelectorAll('#records > li').length === 1 && document.querySelector('#records > li').innerText.includes('play some jazz')",
    );
    d.cmd("POST", &format!("element/{q}/clear"), Some(json!({})));
    d.js("const o = document.getElementById('outcome'); o.value = 'failed'; o.dispatchEvent(new Event('input'))");
    d.wait_for(
        "the failed ones",
        "return document.querySelectorAll('#records > li').length === 1 && document.querySelector('#records > li').innerText.includes('skip this song')",
    );
    d.js("const o = document.getElementById('outcome'); o.value = ''; o.dispatchEvent(new Event('input'))");
    d.wait_for(
        "all six again",
        "return document.querySelectorAll('#records > li').length === 6",
    );

    let json_text: Vec<String> = serde_json::from_value(d.js(JSON_TEXT)).unwrap();
    assert!(json_text.is_empty(), "raw JSON on the page: {json_text:?}");

    // Live: listening starts, the indicator follows within seconds (SSE).
    store.listening_started("test microphone", vec![]).unwrap();
    d.wait_for(
        "the live indicator",
        "return document.getElementById('listening').textContent.startsWith('Listening now') && document.getElementById('listening').textContent.includes('test microphone')",
    );
    store.set_state(ListenState::Awake.as_str()).unwrap();
    d.wait_for(
        "what the listener is doing",
        "return document.getElementById('listening').textContent.includes('heard the wake word, listening to your command')",
    );
    store.set_state(ListenState::Listening.as_str()).unwrap();
    d.wait_for(
        "back to waiting",
        "return document.getElementById('listening').textContent.includes('waiting for “Hey, player”')",
    );

    // Readable: AA contrast, nothing sideways, at 1280×800 and 390×844.
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/out/viewer");
    std::fs::create_dir_all(&out).unwrap();
    for (w, h) in [(1280, 800), (390, 844)] {
        d.viewport(w, h);
        d.js("document.querySelectorAll('#audit details').forEach(x => x.open = true)");
        d.wait_for(
            "the charts redrawn",
            &format!("return Math.abs(document.querySelector('#hours svg').getAttribute('width') - document.getElementById('hours').clientWidth) <= 1 && innerWidth === {w}"),
        );
        let sideways: Vec<String> = serde_json::from_value(d.js(SIDEWAYS)).unwrap();
        assert!(sideways.is_empty(), "{w}×{h}: {sideways:?}");
        let low: Vec<String> = serde_json::from_value(d.js(LOW_CONTRAST)).unwrap();
        assert!(low.is_empty(), "{w}×{h}: contrast under WCAG AA: {low:?}");
        d.js("window.scrollTo(0, 0); document.querySelectorAll('#audit details').forEach(x => x.open = false)");
        let png = d.screenshot();
        assert_eq!(
            png_size(&png),
            (w as u32, h as u32),
            "the screenshot is the window"
        );
        std::fs::write(out.join(format!("viewer-{w}x{h}.png")), &png).unwrap();
        std::fs::write(
            out.join(format!("viewer-{w}x{h}-full.png")),
            d.full_screenshot(),
        )
        .unwrap();
        d.js("document.getElementById('records-h').scrollIntoView()");
        std::fs::write(
            out.join(format!("viewer-{w}x{h}-records.png")),
            d.screenshot(),
        )
        .unwrap();
        d.js("window.scrollTo(0, 0)");
    }
    d.viewport(1280, 800);

    // Everything the page loaded came from the viewer itself.
    let loaded: Vec<String> = serde_json::from_value(
        d.js("return performance.getEntriesByType('resource').map(e => e.name)"),
    )
    .unwrap();
    let origin = format!("http://{addr}/");
    assert!(loaded.iter().all(|u| u.starts_with(&origin)), "{loaded:?}");

    // By keyboard, from a fresh load: the first Tab reaches the skip link,
    // visibly focused.
    d.cmd("POST", "refresh", Some(json!({})));
    d.wait_for(
        "six records again",
        "return document.querySelectorAll('#records > li').length === 6 && document.querySelectorAll('#audit > li').length > 6",
    );
    d.keys("\u{E004}");
    let skip = d.js("const a = document.activeElement; return [a.className, getComputedStyle(a).outlineStyle, a.getBoundingClientRect().top >= 0]");
    assert_eq!(skip, json!(["skip", "solid", true]), "the skip link, shown");
    // An audit entry's details open with Enter on its summary.
    let summary = d.find("#audit > li:first-child summary");
    d.cmd(
        "POST",
        &format!("element/{summary}/value"),
        Some(json!({"text": "\u{E007}"})),
    );
    d.wait_for(
        "the details opened by keyboard",
        "return document.querySelector('#audit > li:first-child details').open",
    );
    d.js("document.getElementById('audit-h').scrollIntoView()");
    std::fs::write(out.join("viewer-1280x800-audit.png"), d.screenshot()).unwrap();

    // Delete record 4 (the dry run) with Enter on its button, through the
    // confirmation dialog.
    let button = d.find("button[data-delete='4']");
    d.cmd(
        "POST",
        &format!("element/{button}/value"),
        Some(json!({"text": "\u{E007}"})),
    );
    let t0 = Instant::now();
    let asked = loop {
        let (st, _, b) = http(
            &d.addr,
            "GET",
            &format!("/session/{}/alert/text", d.session),
            None,
        );
        if st == 200 {
            break serde_json::from_str::<Value>(&b).unwrap()["value"]
                .as_str()
                .unwrap_or("")
                .to_string();
        }
        assert!(t0.elapsed() < WAIT, "no confirmation dialog");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        asked.contains("Delete record 4 (“turn it down”)"),
        "{asked}"
    );
    d.cmd("POST", "alert/accept", Some(json!({})));
    d.wait_for(
        "five records",
        "return document.querySelectorAll('#records > li').length === 5",
    );
    d.wait_for(
        "the deletion in the audit log, in words",
        "return [...document.querySelectorAll('#audit > li')].some(e => e.innerText.includes('Deleted record 4') && e.innerText.includes('You'))",
    );

    // The audit log's filter asks the viewer for one action.
    d.js("const a = document.getElementById('action'); a.value = 'delete'; a.dispatchEvent(new Event('input'))");
    d.wait_for(
        "only the deletions",
        "const e = [...document.querySelectorAll('#audit > li')]; return e.length === 2 && e.every(x => x.dataset.action === 'delete')",
    );

    let ids: Vec<i64> = store.records(0).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![6, 5, 3, 2, 1], "record 4 is gone from the store");
    let (log, _) = store.audit_entries(&Default::default()).unwrap();
    let del = log
        .iter()
        .find(|e| e.action == "delete" && e.actor == Actor::User.as_str())
        .expect("the deletion is audited");
    assert!(
        del.detail.contains("\"records\":[4]") && !del.detail.contains("turn it down"),
        "{}",
        del.detail
    );
    assert!(store.verify_audit().unwrap().ok());
    store.listening_stopped("test over").unwrap();
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "not a PNG"
    );
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

/// The kernel's own table of listening sockets: the viewer's port is bound to
/// 127.0.0.1 only (no 0.0.0.0, no IPv6).
fn assert_listens_on_loopback_only(port: u16) {
    let hex_port = format!("{port:04X}");
    let mut found = Vec::new();
    for (table, any) in [("/proc/net/tcp", "00000000"), ("/proc/net/tcp6", "")] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is ADDR:PORT; state 0A is LISTEN.
            if f.len() > 3 && f[3] == "0A" && f[1].ends_with(&format!(":{hex_port}")) {
                found.push((table, f[1].to_string()));
                assert!(table == "/proc/net/tcp", "listening on IPv6: {}", f[1]);
                assert!(
                    !f[1].starts_with(any) || any.is_empty(),
                    "listening on every address: {}",
                    f[1]
                );
                assert_eq!(&f[1][..8], "0100007F", "not 127.0.0.1: {}", f[1]);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
}

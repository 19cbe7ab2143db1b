//! The log viewer in a real browser: Debian's headless Chromium driven over
//! WebDriver (chromedriver), against `heyplayer viewer` on a scratch store.
//! Loads the page, checks the records shown and the live "listening now?"
//! indicator, deletes one record through its button and the confirmation
//! dialog, then checks the store and the audit log. Screenshot:
//! tests/out/viewer/viewer.png.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use heyplayer_privacy::{Actor, NewCapture, RetentionRules, Store, SystemClock};
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
            Command::new(CHROMEDRIVER)
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

fn capture(text: &str, action: &str) -> NewCapture {
    NewCapture {
        wake_score: 0.93,
        verified: true,
        phrase: "hey player".into(),
        transcript: Some(text.into()),
        command: Some(json!({"command": {"action": action}})),
        context: Some(json!({"physical": {"label": "indoor_quiet", "confidence": 0.71}})),
        audio: None,
    }
}

#[test]
fn the_viewer_shows_the_records_updates_live_and_deletes_one_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let mut store = Store::open(&data, RetentionRules::default(), Arc::new(SystemClock)).unwrap();
    for (t, a) in [
        ("play some jazz", "play"),
        ("pause", "pause"),
        ("turn it down", "volume_down"),
    ] {
        store.record_capture(capture(t, a)).unwrap();
    }

    let mut viewer = Killed(
        Command::new(env!("CARGO_BIN_EXE_heyplayer"))
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
    assert_eq!(store.records(0).unwrap().len(), 3, "nothing was purged");
    assert_listens_on_loopback_only(addr.rsplit(':').next().unwrap().parse().unwrap());

    let d = Driver::start();
    d.cmd("POST", "url", Some(json!({"url": url})));
    d.wait_for(
        "three rows",
        "return document.querySelectorAll('#records tbody tr').length === 3",
    );
    let rows =
        d.js("return [...document.querySelectorAll('#records tbody tr')].map(r => r.innerText)");
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.contains("play some jazz") && r.contains("indoor_quiet")),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.contains("23 h")),
        "a day's countdown for the transcript: {rows:?}"
    );
    d.wait_for(
        "the audit chain status",
        "return document.getElementById('chain').textContent.includes('intact')",
    );
    d.wait_for(
        "not listening",
        "return document.getElementById('listening').textContent === 'not listening'",
    );

    // Live: listening starts, the indicator follows within seconds (SSE).
    store.listening_started("test microphone", vec![]).unwrap();
    d.wait_for(
        "the live indicator",
        "return document.getElementById('listening').textContent.includes('test microphone')",
    );

    // Everything the page loaded came from the viewer itself.
    let loaded: Vec<String> = serde_json::from_value(
        d.js("return performance.getEntriesByType('resource').map(e => e.name)"),
    )
    .unwrap();
    let origin = format!("http://{addr}/");
    assert!(loaded.iter().all(|u| u.starts_with(&origin)), "{loaded:?}");

    // Delete record 2 with its button, through the confirmation dialog.
    let button = d.cmd(
        "POST",
        "element",
        Some(json!({"using": "css selector", "value": "button[data-delete='2']"})),
    );
    let id = button
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    d.cmd("POST", &format!("element/{id}/click"), Some(json!({})));
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
    assert!(asked.contains("Delete record 2"), "{asked}");
    d.cmd("POST", "alert/accept", Some(json!({})));
    d.wait_for(
        "two rows",
        "return document.querySelectorAll('#records tbody tr').length === 2",
    );

    let ids: Vec<i64> = store.records(0).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 1], "record 2 is gone from the store");
    let (log, _) = store.audit_entries(&Default::default()).unwrap();
    let del = log
        .iter()
        .find(|e| e.action == "delete")
        .expect("the deletion is audited");
    assert_eq!(del.actor, Actor::User.as_str());
    assert!(
        del.detail.contains("\"records\":[2]") && !del.detail.contains("pause"),
        "{}",
        del.detail
    );
    assert!(store.verify_audit().unwrap().ok());

    let png = base64::engine::general_purpose::STANDARD
        .decode(d.cmd("GET", "screenshot", None).as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/out/viewer");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("viewer.png"), png).unwrap();
    store.listening_stopped("test over").unwrap();
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

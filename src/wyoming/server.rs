//! The server: binds (loopback unless `--allow-lan`), loads the models once,
//! serves each client on its own session, audits each session in the
//! privacy store. See the module above for the threads.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use heyplayer_privacy::{PrivacyError, Store, SystemClock};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch, Semaphore};

use super::protocol::{read_message, Message};
use super::session::{Session, Shared, WhisperPool, COMMANDS_MODEL, WAKE_NAME};
use crate::asr::AsrModel;
use crate::command::Commander;
use crate::config::Config;
use crate::models::{self, VerifiedModel};
use crate::store::models_in_use;
use crate::wake::WakeModels;

/// Events a client may have queued for its session before the server stops
/// reading from it (TCP then slows the client down): with
/// [`super::protocol::MAX_PAYLOAD`], at most 8 MiB per client.
pub const INBOX: usize = 8;
/// A client that sends nothing for this long is disconnected.
pub const IDLE: Duration = Duration::from_secs(300);

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// `tcp://HOST:PORT`.
    Tcp(SocketAddr),
    /// `unix:///PATH`.
    Unix(PathBuf),
}

impl Bind {
    /// Reads `tcp://HOST:PORT` or `unix://PATH`.
    pub fn parse(uri: &str) -> Result<Bind, WyomingError> {
        if let Some(path) = uri.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(WyomingError::Uri(uri.into(), "no socket path".into()));
            }
            return Ok(Bind::Unix(PathBuf::from(path)));
        }
        let Some(hp) = uri.strip_prefix("tcp://") else {
            return Err(WyomingError::Uri(
                uri.into(),
                "it must start with tcp:// or unix://".into(),
            ));
        };
        let addr = hp
            .to_socket_addrs()
            .map_err(|e| WyomingError::Uri(uri.into(), e.to_string()))?
            .next()
            .ok_or_else(|| WyomingError::Uri(uri.into(), "no address".into()))?;
        Ok(Bind::Tcp(addr))
    }

    /// Whether only this machine can connect.
    pub fn is_local(&self) -> bool {
        match self {
            Bind::Tcp(a) => a.ip().is_loopback(),
            Bind::Unix(_) => true,
        }
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub bind: Bind,
    /// Whether a non-loopback address is allowed.
    pub allow_lan: bool,
    /// Whisper workers (at most this many recordings heard at once).
    pub asr_workers: usize,
    /// Clients served at once; more are told "busy" and closed.
    pub max_clients: usize,
}

/// Errors of the server.
#[derive(Debug, thiserror::Error)]
pub enum WyomingError {
    /// A `--uri` that is not one.
    #[error("--uri {0}: {1} (e.g. tcp://127.0.0.1:10400 or unix:///run/user/1000/heyplayer.sock)")]
    Uri(String, String),
    /// A non-loopback address without `--allow-lan`.
    #[error("{0} is reachable from other machines: add --allow-lan if that is what you want (see `heyplayer wyoming --help`), or use tcp://127.0.0.1:PORT")]
    NotLocal(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The runtime failed.
    #[error("wyoming server: {0}")]
    Io(#[from] std::io::Error),
    /// A model failed to load.
    #[error(transparent)]
    Load(#[from] crate::Error),
    /// The privacy store.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Loads the models once (sha256-checked): Silero, the "hey player" first
/// stage, and Whisper with `workers` workers over the one model.
pub fn load(config: &Config, workers: usize) -> Result<(Shared, Vec<VerifiedModel>), crate::Error> {
    let dir = &config.models_dir;
    let silero = models::locate("silero-vad", dir)?;
    let mut files = vec![silero.clone()];
    let wake = if config.wake.uses_model() {
        let mel = models::locate("oww-melspectrogram", dir)?;
        let emb = models::locate("oww-embedding", dir)?;
        let head = models::locate("hey-player", dir)?;
        let m = WakeModels::load(&mel.path, &emb.path, &head.path)?;
        files.extend([mel, emb, head]);
        Some(m)
    } else {
        None
    };
    let whisper = models::locate(&config.asr_model, dir)?;
    let model = AsrModel::load(&whisper.path, config.asr.flash_attn)?;
    files.push(whisper);
    let mut pool = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        pool.push(Commander::new(config, model.worker(config.asr.clone())?));
    }
    let installed: Vec<String> = models::entries()?
        .into_iter()
        .filter(|e| e.name.starts_with("whisper") && e.name != config.asr_model)
        .filter(|e| models::locate(&e.name, dir).is_ok())
        .map(|e| e.name)
        .collect();
    let info = info(config, &files, &installed);
    Ok((
        Shared {
            config: config.clone(),
            silero: silero.path,
            wake,
            whisper: WhisperPool::new(pool),
            asr_model: config.asr_model.clone(),
            asr_installed: installed,
            info,
        },
        files,
    ))
}

/// The `info` event's data: the wake program, the ASR program and the
/// intent program.
fn info(config: &Config, files: &[VerifiedModel], installed: &[String]) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let by = json!({"name": "heyplayer", "url": ""});
    let art = |name: &str, description: String| {
        json!({"name": name, "attribution": by, "installed": true,
               "description": description, "version": version})
    };
    let mut wake = Vec::new();
    if let Some(head) = files.iter().find(|f| f.entry.name == "hey-player") {
        let verify = if config.wake.verify {
            "verified by Whisper: `detection` comes when the command after it has been heard, followed by `transcript` and `intent`"
        } else {
            "first stage only: `detection` comes at once, then `transcript` and `intent` when the command after it ends"
        };
        let mut model = art(
            WAKE_NAME,
            format!(
                "\"hey player\", heyplayer's own model, licence {}, sha256 {}; {verify}",
                head.entry.licence, head.entry.sha256
            ),
        );
        model["languages"] = json!(["en"]);
        model["phrase"] = json!("hey player");
        let mut p = art("heyplayer-wake", "heyplayer's wake word".into());
        p["models"] = json!([model]);
        wake.push(p);
    }
    let mut asr_models = Vec::new();
    if let Some(w) = files.iter().find(|f| f.entry.name == config.asr_model) {
        let mut m = art(
            &config.asr_model,
            format!(
                "Whisper ({}, licence {}), plain transcription",
                w.entry.file, w.entry.licence
            ),
        );
        m["languages"] = json!(["en"]);
        asr_models.push(m);
        let mut g = art(
            COMMANDS_MODEL,
            "the same Whisper, guided toward playback commands (\"play some jazz\", \"skip\", \"volume to forty\")".to_string(),
        );
        g["languages"] = json!(["en"]);
        asr_models.push(g);
    }
    for name in installed {
        let mut m = art(
            name,
            "installed, not loaded: start the server with --model NAME".into(),
        );
        m["installed"] = json!(false);
        m["languages"] = json!(["en"]);
        asr_models.push(m);
    }
    let mut asr = art("heyplayer-asr", "heyplayer's Whisper speech-to-text".into());
    asr["models"] = json!(asr_models);
    asr["supports_transcript_streaming"] = json!(false);
    let mut im = art(
        "heyplayer-commands",
        "playback commands: play (query), pause, resume, stop, next, previous, volume_up, volume_down, volume_set (value), mute, unmute, shuffle_on, shuffle_off, repeat_on, repeat_off, like, whats_playing".into(),
    );
    im["languages"] = json!(["en"]);
    let mut intent = art("heyplayer-intent", "heyplayer's playback intents".into());
    intent["models"] = json!([im]);
    json!({"asr": [asr], "tts": [], "handle": [], "intent": [intent], "wake": wake,
           "mic": [], "snd": []})
}

/// What every connection shares.
struct Ctx {
    shared: Shared,
    store: Mutex<Store>,
    clients: Arc<Semaphore>,
    /// Becomes true when the server stops: every client is told and closed.
    stopping: watch::Receiver<bool>,
}

/// Runs the server until Ctrl-C or SIGTERM. `on_ready` is told the address
/// it listens on (the port chosen, for port 0).
pub fn serve(
    config: &Config,
    opts: &Options,
    on_ready: impl FnOnce(&str),
) -> Result<(), WyomingError> {
    if let (Bind::Tcp(a), false) = (&opts.bind, opts.allow_lan) {
        if !a.ip().is_loopback() {
            return Err(WyomingError::NotLocal(a.to_string()));
        }
    }
    let (shared, files) = load(config, opts.asr_workers)?;
    let mut store = Store::open(&config.data_dir, config.retention, Arc::new(SystemClock))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(opts.max_clients + 2)
        .build()?;
    let r = rt.block_on(async {
        let listener = Listener::bind(&opts.bind).await?;
        let shown = listener.shown();
        store.listening_started(&format!("wyoming {shown}"), models_in_use(&files))?;
        let (stop_tx, stopping) = watch::channel(false);
        let ctx = Arc::new(Ctx {
            shared,
            store: Mutex::new(store),
            clients: Arc::new(Semaphore::new(opts.max_clients.max(1))),
            stopping,
        });
        on_ready(&shown);
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                c = listener.accept() => match c {
                    Ok((conn, peer)) => {
                        let ctx = Arc::clone(&ctx);
                        tokio::spawn(async move { client(conn, peer, ctx).await });
                    }
                    // A failed accept (too many open files...) is that client's.
                    Err(e) => {
                        eprintln!("[wyoming] accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        listener.close();
        // Every client is told and closed; each session ends (a recording
        // being heard is finished first) and audits itself.
        let _ = stop_tx.send(true);
        let all = u32::try_from(opts.max_clients.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(10), ctx.clients.acquire_many(all)).await;
        Ok::<_, WyomingError>(ctx)
    });
    let ctx = r?;
    rt.shutdown_timeout(Duration::from_secs(1));
    let mut store = ctx.store.lock().unwrap_or_else(PoisonError::into_inner);
    store.listening_stopped("shutdown")?;
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// A TCP or Unix listener.
enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

/// A client's connection.
trait Conn: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Conn for T {}

impl Listener {
    async fn bind(b: &Bind) -> Result<Listener, WyomingError> {
        match b {
            Bind::Tcp(a) => tokio::net::TcpListener::bind(a)
                .await
                .map(Listener::Tcp)
                .map_err(|source| WyomingError::Bind {
                    addr: a.to_string(),
                    source,
                }),
            Bind::Unix(p) => {
                let err = |source| WyomingError::Bind {
                    addr: p.display().to_string(),
                    source,
                };
                remove_stale(p).map_err(err)?;
                let l = tokio::net::UnixListener::bind(p).map_err(err)?;
                // Only this user may connect.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
                Ok(Listener::Unix(l, p.clone()))
            }
        }
    }

    fn shown(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("tcp://{a}"),
                Err(_) => "tcp://?".into(),
            },
            Listener::Unix(_, p) => format!("unix://{}", p.display()),
        }
    }

    async fn accept(&self) -> std::io::Result<(Box<dyn Conn>, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, a) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok((Box::new(s) as Box<dyn Conn>, a.to_string()))
            }
            Listener::Unix(l, p) => {
                let (s, _) = l.accept().await?;
                Ok((
                    Box::new(s) as Box<dyn Conn>,
                    format!("unix://{}", p.display()),
                ))
            }
        }
    }

    fn close(self) {
        if let Listener::Unix(l, p) = self {
            drop(l);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A socket file left by a server that is gone is removed; one with a
/// server behind it is an error.
fn remove_stale(p: &Path) -> std::io::Result<()> {
    if !p.exists() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(p).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "a server is already listening there",
        ));
    }
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(p)?.file_type().is_socket() {
        std::fs::remove_file(p)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ))
    }
}

/// One client: reads its events into its session's inbox and writes the
/// replies back. A protocol error gets an `error` event, then the
/// connection is closed.
async fn client(conn: Box<dyn Conn>, peer: String, ctx: Arc<Ctx>) {
    let (rd, mut wr) = tokio::io::split(conn);
    let Ok(permit) = Arc::clone(&ctx.clients).try_acquire_owned() else {
        let m = Message::error("busy", "too many clients at once; try again later");
        let _ = wr.write_all(&m.encode()).await;
        let _ = wr.shutdown().await;
        return;
    };
    let (in_tx, in_rx) = mpsc::channel::<Message>(INBOX);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let session = {
        let ctx = Arc::clone(&ctx);
        let out_tx = out_tx.clone();
        tokio::task::spawn_blocking(move || run_session(&ctx, peer, in_rx, out_tx))
    };
    let mut stopping = ctx.stopping.clone();
    let reader = async move {
        let mut rd = BufReader::new(rd);
        let mut line = Vec::with_capacity(1024);
        loop {
            let next = tokio::select! {
                r = tokio::time::timeout(IDLE, read_message(&mut rd, &mut line)) => r,
                _ = stopping.wait_for(|s| *s) => {
                    let _ = out_tx.send(Message::error("shutdown", "the server is stopping"));
                    break;
                }
            };
            match next {
                Ok(Ok(Some(m))) => {
                    if in_tx.send(m).await.is_err() {
                        break;
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    let _ = out_tx.send(Message::error(e.code(), e.to_string()));
                    break;
                }
                Err(_) => {
                    let _ = out_tx.send(Message::error("idle", "nothing received for 300 s"));
                    break;
                }
            }
        }
    };
    let writer = async move {
        while let Some(m) = out_rx.recv().await {
            if wr.write_all(&m.encode()).await.is_err() {
                // The client is gone; the session ends with the reader.
                while out_rx.recv().await.is_some() {}
                return;
            }
        }
        let _ = wr.shutdown().await;
    };
    tokio::join!(reader, writer);
    if let Err(e) = session.await {
        eprintln!("[wyoming] a session failed: {e}");
    }
    drop(permit);
}

/// A client's session on its blocking thread, then its audit entry.
fn run_session(
    ctx: &Ctx,
    peer: String,
    mut rx: mpsc::Receiver<Message>,
    tx: mpsc::UnboundedSender<Message>,
) {
    let start = now_ms();
    let mut s = Session::new(&ctx.shared);
    let mut out = Vec::with_capacity(8);
    while let Some(m) = rx.blocking_recv() {
        s.handle(m, &mut out);
        for r in out.drain(..) {
            let _ = tx.send(r);
        }
    }
    let detail = json!({
        "peer": peer,
        "start_ms": start,
        "stop_ms": now_ms(),
        "asked": s.tally,
        "kept": "nothing: replies go only back to this client; no audio, no words are stored",
    });
    let mut store = ctx.store.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(e) = store.session_ended(&detail) {
        eprintln!("[wyoming] cannot audit a session: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_read_and_only_loopback_is_local() {
        assert_eq!(
            Bind::parse("tcp://127.0.0.1:10400").unwrap(),
            Bind::Tcp("127.0.0.1:10400".parse().unwrap())
        );
        assert!(Bind::parse("tcp://127.0.0.1:10400").unwrap().is_local());
        assert!(Bind::parse("tcp://[::1]:10400").unwrap().is_local());
        assert!(!Bind::parse("tcp://0.0.0.0:10400").unwrap().is_local());
        assert_eq!(
            Bind::parse("unix:///tmp/x.sock").unwrap(),
            Bind::Unix("/tmp/x.sock".into())
        );
        assert!(Bind::parse("http://x").is_err());
        assert!(Bind::parse("tcp://127.0.0.1").is_err());
        assert!(Bind::parse("unix://").is_err());
    }
}

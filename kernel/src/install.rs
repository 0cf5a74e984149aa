//! `llm-analytics-kernel install`: writes the kernelspec with an absolute path to this binary.

use anyhow::Context;
use serde_json::json;
use std::path::{Path, PathBuf};

pub const KERNEL_NAME: &str = "llm-analytics";
const LOGO_32: &[u8] = include_bytes!("../../kernelspec/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../../kernelspec/logo-64x64.png");

/// Where the spec goes.
pub enum Target {
    User,
    Prefix(PathBuf),
}

fn user_data_dir() -> anyhow::Result<PathBuf> {
    if let Ok(xdg) = std::env::var("JUPYTER_DATA_DIR") {
        if !xdg.is_empty() {
            return Ok(PathBuf::from(xdg));
        }
    }
    let home = std::env::var("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".local/share/jupyter"))
}

/// The kernel.json content. Every value is a string, list or object: never null.
pub fn kernel_json(exe: &Path) -> serde_json::Value {
    json!({
        "argv": [exe.display().to_string(), "-f", "{connection_file}"],
        "display_name": "LLM Analytics",
        "language": "llm-analytics",
        "interrupt_mode": "signal",
        "env": {},
        "metadata": {"debugger": false},
    })
}

pub fn install(target: Target) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot determine this binary's path")?;
    let base = match target {
        Target::User => user_data_dir()?,
        Target::Prefix(prefix) => prefix.join("share/jupyter"),
    };
    let dir = base.join("kernels").join(KERNEL_NAME);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let spec = serde_json::to_string_pretty(&kernel_json(&exe))?;
    std::fs::write(dir.join("kernel.json"), spec)?;
    std::fs::write(dir.join("logo-32x32.png"), LOGO_32)?;
    std::fs::write(dir.join("logo-64x64.png"), LOGO_64)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_null(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.iter().any(has_null),
            serde_json::Value::Object(o) => o.values().any(has_null),
            _ => false,
        }
    }

    #[test]
    fn kernel_json_is_absolute_and_null_free() {
        let spec = kernel_json(Path::new("/opt/bin/llm-analytics-kernel"));
        assert!(!has_null(&spec));
        assert_eq!(spec["argv"][0], "/opt/bin/llm-analytics-kernel");
        assert_eq!(spec["interrupt_mode"], "signal");
        assert_ne!(spec["language"], "python");
    }

    #[test]
    fn logos_are_pngs() {
        assert_eq!(&LOGO_32[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&LOGO_64[..8], b"\x89PNG\r\n\x1a\n");
    }
}

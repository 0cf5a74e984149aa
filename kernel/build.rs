//! Bakes the worker's Python site-packages into the binary, from the interpreter pyo3 links
//! (PYO3_PYTHON), so the embedded CPython imports packages from the same environment.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let Ok(python) = std::env::var("PYO3_PYTHON") else {
        return;
    };
    let out = Command::new(&python)
        .args([
            "-c",
            "import site, sys; print(':'.join(site.getsitepackages())); print(sys.base_prefix)",
        ])
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let mut lines = text.lines();
            let dirs = lines.next().unwrap_or("").trim();
            println!("cargo:rustc-env=LLM_ANALYTICS_SITE_PACKAGES={dirs}");
            // The standard library's home: the embedded interpreter must not look for it
            // through whichever `python3` comes first on PATH (pyenv, conda...).
            if let Some(home) = lines.next().map(str::trim).filter(|h| !h.is_empty()) {
                println!("cargo:rustc-env=LLM_ANALYTICS_PYTHON_HOME={home}");
            }
        }
    }
}

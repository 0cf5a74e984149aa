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
            "import site, sys; print(':'.join(site.getsitepackages()))",
        ])
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            let dirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
            println!("cargo:rustc-env=LLM_ANALYTICS_SITE_PACKAGES={dirs}");
        }
    }
}

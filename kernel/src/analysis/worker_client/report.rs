//! What the containment layers are, for the log and for `%sandbox`.

use super::*;

/// Say once per kernel process which containment layers the worker reports.
pub(super) fn log_sandbox_once(report: &Value) {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    if report.is_null() {
        return;
    }
    let summary = crate::worker::sandbox::summary(report);
    let inactive = report["layers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|l| l["active"] != true));
    let mut first = false;
    LOGGED.call_once(|| first = true);
    if first {
        // Straight to stderr: the default log filter hides info, and this is asked for once.
        eprintln!("[llm-analytics] {summary}");
        if inactive {
            tracing::warn!("some worker containment layers are not active (see %sandbox)");
        }
    } else {
        tracing::debug!("{summary}");
    }
}

/// The kernel's own containment facts, for `%sandbox`.
pub fn kernel_layers(settings: &super::super::settings::Settings) -> Vec<(String, bool, String)> {
    let question_timeout = settings.max_execution_timeout;
    let validator_on = !settings.skip_validation;
    // SAFETY: prctl(PR_GET_DUMPABLE) has no arguments to get wrong.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    vec![
        (
            "validator".into(),
            validator_on,
            if validator_on {
                "AST allowlist (code-guard) checks generated code before it runs".into()
            } else {
                format!("OFF ({SKIP_VALIDATION_ENV}=1): only the sandbox contains generated code")
            },
        ),
        (
            "kernel process".into(),
            dumpable == 0,
            if dumpable == 0 {
                "not dumpable: its /proc files (environ, mem) are closed to same-user processes"
                    .into()
            } else {
                "dumpable (PR_SET_DUMPABLE failed)".into()
            },
        ),
        (
            "output safety".into(),
            true,
            "question outputs: text, PNG/JPEG and escaped table HTML only; no clear_output".into(),
        ),
        (
            "timeout".into(),
            true,
            format!(
                "each question's code stops after {} s (then the worker is restarted)",
                question_timeout.as_secs_f64()
            ),
        ),
    ]
}

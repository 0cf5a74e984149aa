//! Layers 1 and 2: the environment allowlist and the memory limit setting.

use super::*;

#[test]
fn environment_allowlist() {
    for keep in [
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TZ",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "LLM_ANALYTICS_SITE_PACKAGES",
        MEMORY_ENV,
    ] {
        assert!(passes_through(keep), "{keep} should pass");
    }
    for secret in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "MONGODB_URL",
        "JPY_SESSION_NAME",
        "JPY_PARENT_PID",
        "AWS_SECRET_ACCESS_KEY",
        "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION",
        "SSH_AUTH_SOCK",
        "PYTHONPATH",
        "LD_PRELOAD",
    ] {
        assert!(!passes_through(secret), "{secret} must not pass");
        assert!(!worker_keeps(secret), "{secret} must not be kept");
    }
    assert!(worker_keeps(SCRATCH_ENV) && worker_keeps("TMPDIR"));
    assert!(
        !passes_through(SCRATCH_ENV),
        "the kernel sets it, never forwards it"
    );
}

#[test]
fn memory_setting() {
    assert_eq!(memory_mb_from(Some("3072")), 3072);
    assert_eq!(memory_mb_from(Some("1024")), MIN_MEMORY_MB);
    assert_eq!(memory_mb_from(Some("junk")), default_memory_mb());
    assert_eq!(memory_mb_from(Some("10")), default_memory_mb());
    assert!(default_memory_mb() <= DEFAULT_MEMORY_MB);
}

//! Library settings that name modules or functions: keys, backend switches, pandas option patterns.

/// Attributes of modules that hold run-time settings (strings a question
/// may set), never functions: `pd.options.display.encoding`, `mpl.rcParams`.
const SETTINGS_ATTRIBUTES: &[&str] = &["options", "rcParams", "rcParamsDefault", "rcParamsOrig"];

/// Configuration keys that make a library import a module, or call a
/// function, named by a string (`rcParams['backend'] = 'module://x'`,
/// `rcParams['figure.hooks'] = ['pkg:func']`, pandas'
/// `plotting.backend`). Refused as literals in settings; the `module://`
/// prefix and the last two are refused anywhere.
const MODULE_BY_NAME_KEYS: &[&str] = &[
    "backend",
    "backend_fallback",
    "figure.hooks",
    "plotting.backend",
];

/// Calls that switch a backend or load a style by name (a dotted style name
/// is imported as a package). Their arguments must be plain literal names.
const BACKEND_SWITCHES: &[&str] = &["switch_backend"];

/// pandas option setters: option names are regular expressions searched in
/// the full names, so `set_option('ackend', ...)` sets `plotting.backend`.
const OPTION_SETTERS: &[&str] = &["set_option", "option_context"];

pub fn is_settings_attribute(name: &str) -> bool {
    SETTINGS_ATTRIBUTES.contains(&name)
}

pub fn is_module_by_name_key(key: &str) -> bool {
    MODULE_BY_NAME_KEYS.contains(&key)
}

/// Strings refused anywhere: they name a module to import or a function to
/// call in library settings.
pub fn is_module_by_name_literal(text: &str) -> bool {
    text.trim_start().starts_with("module://")
        || text == "figure.hooks"
        || text == "plotting.backend"
}

pub fn is_backend_switch(name: &str) -> bool {
    BACKEND_SWITCHES.contains(&name)
}

pub fn is_option_setter(name: &str) -> bool {
    OPTION_SETTERS.contains(&name)
}

/// Setting functions whose arguments are checked.
pub fn is_checked_setting(name: &str) -> bool {
    matches!(name, "use" | "rc" | "rc_context") || is_option_setter(name)
}

/// Whether a pandas option pattern could select `plotting.backend`: pandas
/// searches the pattern (a regular expression, case-insensitively) in every
/// option name. Patterns with other regex syntax are treated as matching.
pub fn option_pattern_reaches_backend(pattern: &str) -> bool {
    if pattern
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return true;
    }
    let target: Vec<char> = "plotting.backend".chars().collect();
    let pat: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    if pat.is_empty() {
        return true;
    }
    (0..target.len())
        .filter(|start| start + pat.len() <= target.len())
        .any(|start| {
            pat.iter()
                .zip(&target[start..])
                .all(|(p, t)| *p == '.' || p == t)
        })
}

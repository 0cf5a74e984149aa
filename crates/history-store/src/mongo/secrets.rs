//! Credentials kept out of messages: the URL's password scrubbed, URL errors without the URL.

use mongodb::error::ErrorKind;

/// The driver's parse errors describe the problem without echoing the URL.
pub(super) fn invalid_url_reason(e: &mongodb::error::Error) -> String {
    match e.kind.as_ref() {
        ErrorKind::InvalidArgument { message, .. } => message.clone(),
        ErrorKind::DnsResolve { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The password part of `scheme://user:password@host/...`, raw as written.
pub(super) fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

pub(super) fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_string(), |m, s| m.replace(s.as_str(), "***"))
}

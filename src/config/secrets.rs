//! Credentials in the config file: what looks like one (keys at any depth,
//! SecretId-shaped values, URLs with a password), and the file's text with
//! their values masked, so that no diagnostic about the file can show a
//! secret in its snippet. The file is committed with the project; secrets
//! belong in the environment, the SDK credentials file or a profile.

use std::sync::Arc;

use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::{SourceFile, Span};

/// Where credentials do come from, for the refusal's help.
pub(super) const CREDENTIAL_SOURCES: &str = "the config file is committed with the project and never holds secrets: \
credentials come from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN), \
from ~/.tencentcloud/credentials, or from --profile NAME; remove it from the file, and rotate the \
secret if the file was ever committed";

/// Where a database password comes from instead, for the refusal's help.
const URL_PASSWORD: &str = "write the URL without its password (postgres://user@host/db): the password \
comes from PGPASSWORD or ~/.pgpass; the config file is committed with the project and never holds secrets";

/// Whether a key names a credential: secret ids and keys, tokens,
/// passwords, private and access keys, in any spelling (`SecretKey`,
/// `secret-key`, `TENCENTCLOUD_SECRET_ID`).
pub fn looks_like_credential(key: &str) -> bool {
    let normalized: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "secret",
        "token",
        "password",
        "passwd",
        "passphrase",
        "credential",
        "apikey",
        "accesskey",
        "privatekey",
        "sessionkey",
        "authorization",
    ];
    WORDS.iter().any(|w| normalized.contains(w)) || matches!(normalized.as_str(), "pwd" | "pass")
}

/// A value shaped like a Tencent Cloud SecretId (`AKID` and 32 letters or
/// digits): a credential wherever it is written.
fn looks_like_secret_id(text: &str) -> bool {
    text.strip_prefix("AKID")
        .is_some_and(|rest| rest.len() >= 16 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A credential found in the file: where, what it is, where it belongs.
pub(super) struct Credential {
    pub span: Span,
    pub what: String,
    pub help: &'static str,
}

/// Credentials in the tree: every credential-looking key, at any depth
/// (reported at the key, its whole value masked), every SecretId-shaped
/// string, and a URL with a password.
pub(super) fn find_credentials(node: &Node, secrets: &mut Vec<Span>, found: &mut Vec<Credential>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let name = key
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| key.display());
                if looks_like_credential(&name) {
                    secrets.push(value.span);
                    found.push(Credential {
                        span: key.span,
                        what: format!("`{name}` looks like a credential"),
                        help: CREDENTIAL_SOURCES,
                    });
                    continue;
                }
                find_credentials(value, secrets, found);
            }
        }
        NodeKind::Seq(items) => items
            .iter()
            .for_each(|item| find_credentials(item, secrets, found)),
        NodeKind::Str(text) => {
            if looks_like_secret_id(text.trim()) {
                secrets.push(node.span);
                found.push(Credential {
                    span: node.span,
                    what: "a value shaped like a Tencent Cloud SecretId (AKID…)".to_owned(),
                    help: CREDENTIAL_SOURCES,
                });
            } else if has_url_password(text) {
                // The whole URL is masked: its host is no secret, but
                // masking less would depend on how the value was quoted.
                secrets.push(node.span);
                found.push(Credential {
                    span: node.span,
                    what: "a URL with a password".to_owned(),
                    help: URL_PASSWORD,
                });
            }
        }
        _ => {}
    }
}

/// A URL with a password (`scheme://user:PASSWORD@host`).
fn has_url_password(text: &str) -> bool {
    text.contains("://") && url::Url::parse(text).is_ok_and(|url| url.password().is_some())
}

/// Values of credential-looking keys found line by line (`secret_key: x`,
/// also inside a flow mapping), for a file that does not parse.
pub(super) fn line_secrets(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let mut search = 0;
        while let Some(colon) = body[search..].find(':').map(|i| search + i) {
            // Just after the last character that cannot be in a key (which
            // may be wider than one byte: `أpassword:`).
            let key_start = body[..colon]
                .char_indices()
                .rev()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .map_or(0, |(i, c)| i + c.len_utf8());
            if looks_like_credential(&body[key_start..colon]) {
                let end = body[colon..]
                    .find([',', '}'])
                    .map_or(body.len(), |i| colon + i);
                let value = &body[colon + 1..end];
                let start = colon + 1 + (value.len() - value.trim_start().len());
                spans.push(Span::new(line_start + start, end - start));
            }
            search = colon + 1;
        }
        line_start += line.len();
    }
    spans
}

/// The file with every secret span masked by `*` (newlines kept, same byte
/// length), so every span still points where it did and no diagnostic can
/// show a secret in its snippet.
pub(super) fn masked(file: &Arc<SourceFile>, secrets: &[Span]) -> Arc<SourceFile> {
    if secrets.is_empty() {
        return file.clone();
    }
    let mut bytes = file.text().as_bytes().to_vec();
    for span in secrets {
        let end = span.end().min(bytes.len());
        for byte in &mut bytes[span.start.min(end)..end] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b'*';
            }
        }
    }
    // Whole characters were replaced byte by byte, so this is ASCII there;
    // a span cutting into a character would leave a stray byte, caught here.
    let text = String::from_utf8(bytes).unwrap_or_else(|e| {
        String::from_utf8_lossy(e.as_bytes())
            .chars()
            .map(|c| if c == '\u{fffd}' { '*' } else { c })
            .collect()
    });
    SourceFile::new(file.name().to_owned(), text)
}

//! Credentials in the config file: what looks like one, found in the file's
//! text whatever its parse state (a file that is not YAML included) and in
//! its tree when it parses, and the one masking step every diagnostic about
//! the file passes through on its way out. The file is committed with the
//! project; secrets belong in the environment, the SDK credentials file or a
//! profile.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::diag::{Code, Diag};
use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::{SourceFile, Span};

/// Where credentials do come from, for the refusal's help.
const CREDENTIAL_SOURCES: &str = "the config file is committed with the project and never holds secrets: \
credentials come from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN), \
from ~/.tencentcloud/credentials, or from --profile NAME; remove it from the file, and rotate the \
secret if the file was ever committed";

/// Where a database password comes from instead, for the refusal's help.
const URL_PASSWORD: &str = "write the URL without its password (postgres://user@host/db): the password \
comes from PGPASSWORD or ~/.pgpass; the config file is committed with the project and never holds secrets";

/// Whether a key names a credential: secret ids and keys, tokens,
/// passwords, private and access keys, in any spelling (`SecretKey`,
/// `secret-key`, `TENCENTCLOUD_SECRET_ID`, `sslpassword`).
pub(crate) fn looks_like_credential(key: &str) -> bool {
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

/// What a secret-looking piece of text is, for the refusal's message; the
/// most specific first (a value holding several is named by the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A Tencent Cloud SecretId (`AKID` and at least 16 letters or digits).
    SecretId,
    /// The password of a URL's user info (`postgres://ci:PASSWORD@db`),
    /// whether or not the rest parses as a URL (libpq's multi-host lists,
    /// a bad port).
    UrlPassword,
    /// A credential-looking `key=value` parameter (`?password=…`,
    /// `sslpassword=…`, libpq's `host=db password=…`).
    Parameter,
    /// The value of a credential-looking key (`secret_key: …`).
    KeyValue,
}

/// Every secret-looking span of a text: values of credential-looking keys
/// (to the end of the line and over the lines indented under the key),
/// URL passwords, credential parameters and SecretIds, wherever they are
/// (comments included). Linear in the text.
fn scan(text: &str) -> Vec<(Span, Kind)> {
    let mut found = Vec::new();
    key_values(text, &mut found);
    url_passwords(text, &mut found);
    parameters(text, &mut found);
    secret_ids(text, &mut found);
    found
}

/// Values of credential-looking keys, line by line, for any text (it need
/// not parse). A key is what stands between the previous `{`, `,`, `[` or
/// `:` and a `:` (quotes, `- ` and `? ` markers aside); in a comment, the
/// word before the `:`. The value runs to the end of the line, and on over
/// every following line indented deeper than the key: a block scalar, a
/// nested mapping, a plain scalar continued. `? key` / `: value` (an
/// explicit key) is followed to its value line.
fn key_values(text: &str, found: &mut Vec<(Span, Kind)>) {
    // The column of a credential key whose value may go on below it.
    let mut open: Option<usize> = None;
    // The column of a `? key` naming a credential, waiting for its `: value`.
    let mut explicit: Option<usize> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches([' ', '\t']).len();
        let blank = body.trim().is_empty();
        let at = |start: usize, end: usize| Span::new(line_start + start, end - start);
        if let Some(column) = open {
            if blank || indent > column {
                if !blank {
                    found.push((at(indent, body.len()), Kind::KeyValue));
                }
                line_start += line.len();
                continue;
            }
            open = None;
        }
        let rest = &body[indent..];
        if let Some(column) = explicit.take()
            && indent == column
            && rest.starts_with(':')
        {
            let value = skip_spaces(body, indent + 1);
            if value < body.len() {
                found.push((at(value, body.len()), Kind::KeyValue));
            }
            open = Some(column);
            line_start += line.len();
            continue;
        }
        if let Some(key) = rest.strip_prefix('?')
            && looks_like_credential(key)
            && !key.contains(':')
        {
            explicit = Some(indent);
        }
        if let Some((column, colon)) = credential_key(body) {
            let value = skip_spaces(body, colon + 1);
            if value < body.len() {
                found.push((at(value, body.len()), Kind::KeyValue));
            }
            open = Some(column);
        }
        line_start += line.len();
    }
}

/// The first non-space byte of `body` at or after `from`.
fn skip_spaces(body: &str, from: usize) -> usize {
    body[from..]
        .find(|c: char| c != ' ' && c != '\t')
        .map_or(body.len(), |i| from + i)
}

/// The first credential-looking key of a line: the column where the key
/// starts and where its `:` is. One pass over the
/// line: each key is looked at once, so a long line of colons costs its
/// length.
fn credential_key(body: &str) -> Option<(usize, usize)> {
    let comment = comment_start(body);
    let mut region = 0;
    for (i, byte) in body.bytes().enumerate() {
        match byte {
            b'{' | b',' | b'[' => region = i + 1,
            b':' => {
                let mut key = body[region..i].trim_end();
                if comment.is_some_and(|c| i > c) {
                    // Prose around a colon is no key: only the word before it.
                    key = key.rsplit([' ', '\t', '#']).next().unwrap_or(key);
                }
                let name = key.trim_start_matches(['-', '?', ' ', '\t']);
                if looks_like_credential(name) {
                    // Where the key itself starts: the column its value's
                    // continuation lines are indented under.
                    let start = region + body[region..i].trim_end().len() - name.len();
                    return Some((start, i));
                }
                region = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// Where a line's comment starts (a `#` at its start or after a space).
fn comment_start(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()))
}

/// The bytes a token of a URL or connection string ends at.
fn ends_token(byte: u8) -> bool {
    byte.is_ascii_whitespace() || matches!(byte, b'"' | b'\'' | b'`' | b'<' | b'>')
}

/// The password of every `scheme://user:PASSWORD@…`, read from the text
/// rather than parsed as a URL, so a libpq multi-host list
/// (`@db1:5432,db2:5432`), a bad port or an unencoded character never hides
/// one. The user info ends at the last `@` before the query or fragment.
fn url_passwords(text: &str, found: &mut Vec<(Span, Kind)>) {
    let bytes = text.as_bytes();
    // A `://` inside a password already found adds nothing; the `://`s of
    // one token share its end and last `@` (both kept: a line of them
    // stays linear).
    let mut covered = 0;
    let mut token: Option<(usize, Option<usize>)> = None;
    for (scheme_end, _) in text.match_indices("://") {
        let start = scheme_end + 3;
        if scheme_end < covered {
            continue;
        }
        let (end, last_at) = match token {
            Some((end, last_at)) if start < end => (end, last_at),
            _ => {
                let end = (start..bytes.len())
                    .find(|&i| ends_token(bytes[i]) || matches!(bytes[i], b'?' | b'#'))
                    .unwrap_or(bytes.len());
                let last_at = (start..end).rev().find(|&i| bytes[i] == b'@');
                token = Some((end, last_at));
                (end, last_at)
            }
        };
        let Some(at) = last_at.filter(|&at| at >= start && at < end) else {
            continue;
        };
        if let Some(colon) = (start..at).find(|&i| bytes[i] == b':')
            && colon + 1 < at
        {
            found.push((Span::new(colon + 1, at - colon - 1), Kind::UrlPassword));
            covered = at;
        }
    }
}

/// The value of every credential-looking `key=value` (`?password=…`,
/// `&sslpassword=…`, `password=…` in a libpq connection string).
fn parameters(text: &str, found: &mut Vec<(Span, Kind)>) {
    let bytes = text.as_bytes();
    let is_key = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    let mut covered = 0;
    for (equals, _) in text.match_indices('=') {
        if equals < covered {
            continue;
        }
        let key_start = (0..equals)
            .rev()
            .find(|&i| !is_key(bytes[i]))
            .map_or(0, |i| i + 1);
        if !looks_like_credential(&text[key_start..equals]) {
            continue;
        }
        let start = equals + 1;
        let end = (start..bytes.len())
            .find(|&i| ends_token(bytes[i]) || bytes[i] == b'&')
            .unwrap_or(bytes.len());
        if end > start {
            found.push((Span::new(start, end - start), Kind::Parameter));
        }
        covered = end;
    }
}

/// Every `AKID` followed by at least 16 letters or digits, not inside a
/// longer word: a Tencent Cloud SecretId wherever it is written.
fn secret_ids(text: &str, found: &mut Vec<(Span, Kind)>) {
    let bytes = text.as_bytes();
    for (start, _) in text.match_indices("AKID") {
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let end = (start + 4..bytes.len())
            .find(|&i| !bytes[i].is_ascii_alphanumeric())
            .unwrap_or(bytes.len());
        if end - start - 4 >= 16 {
            found.push((Span::new(start, end - start), Kind::SecretId));
        }
    }
}

/// What a credential found in the tree is called, and where it belongs.
fn describe(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::SecretId => (
            "a value shaped like a Tencent Cloud SecretId (AKID…)",
            CREDENTIAL_SOURCES,
        ),
        Kind::UrlPassword => ("a URL with a password", URL_PASSWORD),
        Kind::Parameter => (
            "a password parameter (`password=…`) in a URL or connection string",
            URL_PASSWORD,
        ),
        Kind::KeyValue => (
            "a value holding a credential-looking `name: value`",
            CREDENTIAL_SOURCES,
        ),
    }
}

/// The secrets of one config file and the masking every diagnostic about it
/// passes through: its text with them masked (for snippets), and their text
/// (masked in messages, labels and help).
pub(super) struct Secrets {
    file: Arc<SourceFile>,
    /// Every secret-looking span, from the text and the tree.
    spans: Vec<Span>,
    /// Where the tree's credentials were refused (keys and strings), in
    /// file order: what the reader leaves unread.
    refused: Vec<Span>,
}

impl Secrets {
    /// The secrets of a file's text, found whatever its parse state.
    pub(crate) fn in_text(file: &Arc<SourceFile>) -> Secrets {
        Secrets {
            file: file.clone(),
            spans: scan(file.text())
                .into_iter()
                .map(|(span, _)| span)
                .collect(),
            refused: Vec::new(),
        }
    }

    /// Credentials in the parsed tree, each a located refusal: every
    /// credential-looking key at any depth (at the key; its whole value is
    /// masked), and every string that holds a secret, by its own text or by
    /// a secret found in the file's text within it (the whole string is
    /// masked). Returns the refusals; their spans are what the reader
    /// leaves unread.
    pub(crate) fn in_tree(&mut self, root: &Node) -> Vec<Diag> {
        let mut refusals = Vec::new();
        self.walk(root, &mut refusals);
        self.refused = refusals.iter().filter_map(Diag::primary_span).collect();
        self.refused.sort_unstable_by_key(|span| span.start);
        refusals
    }

    fn walk(&mut self, node: &Node, refusals: &mut Vec<Diag>) {
        match &node.kind {
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    let name = key
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| key.display());
                    if looks_like_credential(&name) {
                        self.spans.push(value.span);
                        refusals.push(self.refusal(
                            key.span,
                            &format!("`{name}` looks like a credential"),
                            CREDENTIAL_SOURCES,
                        ));
                        continue;
                    }
                    self.walk(key, refusals);
                    self.walk(value, refusals);
                }
            }
            NodeKind::Seq(items) => items.iter().for_each(|item| self.walk(item, refusals)),
            NodeKind::Str(text) => {
                let raw = self.file.text().get(node.span.start..node.span.end());
                let found = scan(text)
                    .into_iter()
                    .chain(scan(raw.unwrap_or("")))
                    .map(|(_, kind)| kind)
                    .min();
                if let Some(kind) = found {
                    // The whole string: masking only the secret inside it
                    // would depend on how the value was quoted or escaped.
                    self.spans.push(node.span);
                    let (what, help) = describe(kind);
                    refusals.push(self.refusal(node.span, what, help));
                }
            }
            _ => {}
        }
    }

    fn refusal(&self, span: Span, what: &str, help: &str) -> Diag {
        Diag::error(
            Code::ConfigCredential,
            format!(
                "{what} in {}: the config file never holds credentials",
                self.file.name()
            ),
        )
        .at(&self.file, span, "looks like a credential")
        .with_help(help)
    }

    /// Whether a credential was refused within `span` (a value holding
    /// one is not read: it is to be removed, not corrected).
    pub(crate) fn refused_within(&self, span: Span) -> bool {
        let first = self.refused.partition_point(|s| s.start < span.start);
        self.refused
            .get(first)
            .is_some_and(|s| s.start < span.end().max(span.start + 1))
    }

    /// Every diagnostic about the file, as it may be shown: pointing into the
    /// file with its secrets masked, and no secret's text in any message,
    /// label or help.
    pub(crate) fn redact(&self, diags: Vec<Diag>) -> Vec<Diag> {
        let masked = masked(&self.file, &merged(&self.spans));
        let texts = SecretTexts::new(&self.texts());
        diags
            .into_iter()
            .map(|diag| diag.redacted(&self.file, &masked, |text| texts.mask(text)))
            .collect()
    }

    /// Each of `texts` with every secret's text in it masked, as
    /// diagnostics show it.
    pub(crate) fn mask_all(&self, texts: &[&str]) -> Vec<String> {
        let secrets = SecretTexts::new(&self.texts());
        texts.iter().map(|text| secrets.mask(text)).collect()
    }

    /// The text of every secret, line by line, without surrounding spaces
    /// and quotes.
    fn texts(&self) -> Vec<&str> {
        let text = self.file.text();
        let mut texts: Vec<&str> = self
            .spans
            .iter()
            .filter_map(|span| text.get(span.start..span.end().min(text.len())))
            .flat_map(str::lines)
            .map(|line| line.trim().trim_matches(['"', '\'']).trim())
            // YAML's own marks (`|`, `{`) are no secret, and masking them
            // would blank them out of every message.
            .filter(|line| line.chars().any(char::is_alphanumeric))
            .collect();
        texts.sort_unstable();
        texts.dedup();
        texts
    }
}

/// The secrets' texts, found in a message in one pass however many there
/// are (a file of 50,000 credential lines has 50,000).
struct SecretTexts {
    search: Option<AhoCorasick>,
}

impl SecretTexts {
    fn new(texts: &[&str]) -> Self {
        let search = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(texts)
            .ok();
        SecretTexts { search }
    }

    /// `text` with every secret in it replaced by `*`s: every place any
    /// secret covers, overlapping ones too (two secrets that overlap in the
    /// text are masked whole, not the first and what it left). A short
    /// secret (a few characters could be part of any word) counts only
    /// where it stands alone, not inside a longer word.
    fn mask(&self, text: &str) -> String {
        let Some(search) = &self.search else {
            return text.to_owned();
        };
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let mut covered = vec![false; text.len()];
        for found in search.find_overlapping_iter(text) {
            let (start, end) = (found.start(), found.end());
            let inside_a_word =
                word(text[..start].chars().next_back()) || word(text[end..].chars().next());
            if end - start < 8 && inside_a_word {
                continue;
            }
            covered[start..end].iter_mut().for_each(|c| *c = true);
        }
        text.char_indices()
            .map(|(i, c)| if covered[i] { '*' } else { c })
            .collect()
    }
}

/// The spans in file order, overlapping ones joined: each byte masked once.
fn merged(spans: &[Span]) -> Vec<Span> {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable_by_key(|span| span.start);
    let mut out: Vec<Span> = Vec::with_capacity(sorted.len());
    for span in sorted {
        match out.last_mut() {
            Some(last) if span.start <= last.end() => {
                last.len = last.len.max(span.end() - last.start);
            }
            _ => out.push(span),
        }
    }
    out
}

/// The file with every secret span masked by `*` (newlines kept, same byte
/// length), so every span still points where it did and no snippet can
/// show a secret.
fn masked(file: &Arc<SourceFile>, secrets: &[Span]) -> Arc<SourceFile> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Vec<&str> {
        scan(text)
            .into_iter()
            .map(|(span, _)| &text[span.start..span.end()])
            .collect()
    }

    #[test]
    fn every_shape_of_secret_is_found_in_any_text() {
        assert_eq!(secrets("secret_key: abc\n"), ["abc"]);
        assert_eq!(secrets("x: { token: abc, rate: 5 }\n"), ["abc, rate: 5 }"]);
        assert_eq!(secrets("\"secret key\": abc\n"), ["abc"]);
        assert_eq!(
            secrets("password:\n  abc\n  def\nrate: 5\n"),
            ["abc", "def"]
        );
        assert_eq!(
            secrets("token: |\n  abc\n\n  def\nrate: [\n"),
            ["|", "abc", "def"]
        );
        assert_eq!(secrets("? token\n: abc\n"), ["abc"]);
        assert_eq!(secrets("- password: abc\n  rate: 5\n"), ["abc"]);
        assert_eq!(secrets("# password: abc\n"), ["abc"]);
        assert!(secrets("# Never put credentials here: they come from\n").is_empty());
        assert_eq!(
            secrets("h: postgres://ci:PW1@db1:5432,db2:5432/x\n"),
            ["PW1"]
        );
        assert_eq!(secrets("h: postgres://ci:PW2@db1:99999/x\n"), ["PW2"]);
        assert_eq!(secrets("h: postgres://ci:p/w@d@db/x?a=b@c\n"), ["p/w@d"]);
        assert_eq!(secrets("h: postgres://ci@db/x?password=PW3&a=1\n"), ["PW3"]);
        assert_eq!(secrets("h: \"host=db sslpassword=PW4 user=ci\"\n"), ["PW4"]);
        assert_eq!(
            secrets("a: prod-AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\n"),
            ["AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"]
        );
        // Not secrets: a user without a password, a short AKID word, ports.
        assert!(
            secrets("h: postgres://ci@db1:5432,db2:5432/x\nb: AKIDS\nendpoint: https://h:443\n")
                .is_empty()
        );
    }

    #[test]
    fn a_long_line_of_colons_and_signs_is_scanned_in_one_pass() {
        let line = ":=://@".repeat(200_000);
        // Linear: this would take minutes if each key looked back to the
        // start of the line.
        let _ = scan(&line);
    }

    #[test]
    fn messages_lose_every_secret_but_keep_their_words() {
        let secrets = SecretTexts::new(&["hunter2secret", "hunter2", "pw", "a b", "b"]);
        assert_eq!(
            secrets.mask("`hunter2secret` is not a level; pw: pwd, hunter2, xa b"),
            "`*************` is not a level; **: pwd, *******, xa *"
        );
        // Two secrets overlapping in a message are masked whole.
        let secrets = SecretTexts::new(&["AAAAAAAABBBB", "BBBBCCCCCCCC"]);
        assert_eq!(
            secrets.mask("xAAAAAAAABBBBCCCCCCCCx"),
            "x********************x"
        );
    }
}

//! Table-driven validation cases: each policy mistake gives one diagnostic
//! with the expected code, whose primary span covers exactly the expected
//! text (so line, column and width are all checked).

use ecmguard::diag::Diag;

use crate::support::{Test, diagnostics};

/// A minimal valid rule around `body` lines (already indented by 4).
fn rule(body: &str) -> String {
    format!("rules:\n  - id: r1\n    title: A rule\n{body}")
}

struct Case {
    name: &'static str,
    yaml: String,
    code: &'static str,
    /// The text the primary span must cover (its first occurrence after `after`).
    covers: &'static str,
    after: &'static str,
    help_has: &'static str,
}

fn case(name: &'static str, yaml: String, code: &'static str, covers: &'static str) -> Case {
    Case {
        name,
        yaml,
        code,
        covers,
        after: "",
        help_has: "",
    }
}

impl Case {
    fn after(mut self, anchor: &'static str) -> Self {
        self.after = anchor;
        self
    }
    fn help(mut self, needle: &'static str) -> Self {
        self.help_has = needle;
        self
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "unknown top-level key",
            "rulez:\n  - id: a\n".into(),
            "unknown-key",
            "rulez",
        )
        .help("did you mean `rules`"),
        case(
            "unknown rule key",
            rule("    severty: error\n    assert: { ImageState: NORMAL }\n"),
            "unknown-key",
            "severty",
        )
        .help("`severity`"),
        case(
            "unknown severity",
            rule("    severity: eror\n    assert: { ImageState: NORMAL }\n"),
            "unknown-severity",
            "eror",
        )
        .help("`error`"),
        case(
            "unknown field",
            rule("    assert: { ImageTyp: PRIVATE_IMAGE }\n"),
            "unknown-field",
            "ImageTyp",
        )
        .help("`ImageType`"),
        case(
            "unknown nested field",
            rule("    assert: { SrcImage.Regoin: x }\n"),
            "unknown-field",
            "SrcImage.Regoin",
        )
        .help("`SrcImage.Region`"),
        case(
            "unknown operator",
            rule("    assert: { ImageCreateTime: { newer_then: 180d } }\n"),
            "unknown-operator",
            "newer_then",
        )
        .help("`newer_than`"),
        case(
            "operator on wrong type",
            rule("    assert: { ImageName: { older_than: 10d } }\n"),
            "operator-type",
            "older_than",
        ),
        case(
            "ordering a string",
            rule("    assert: { OsVersion: { gt: \"7\" } }\n"),
            "operator-type",
            "gt",
        ),
        case(
            "string for an integer",
            rule("    assert: { ImageSize: \"50\" }\n"),
            "operand-type",
            "\"50\"",
        )
        .help("remove the quotes"),
        case(
            "integer for a string",
            rule("    assert: { OsVersion: 16 }\n"),
            "operand-type",
            "16",
        )
        .after("OsVersion")
        .help("quote it"),
        case(
            "float for an integer",
            rule("    assert: { ImageSize: { gt: 1.5 } }\n"),
            "operand-type",
            "1.5",
        ),
        case(
            "string for a boolean",
            rule("    assert: { IsSupportCloudInit: \"yes\" }\n"),
            "operand-type",
            "\"yes\"",
        ),
        case(
            "list item of wrong type",
            rule("    assert: { ImageOwner: { in: [1, \"2\"] } }\n"),
            "operand-type",
            "\"2\"",
        ),
        case(
            "bad regex",
            rule("    assert: { ImageName: { matches: \"([a-z\" } }\n"),
            "invalid-regex",
            "\"([a-z\"",
        ),
        case(
            "bad glob",
            rule("    assert: { ImageName: { glob: \"web-[a\" } }\n"),
            "invalid-glob",
            "\"web-[a\"",
        ),
        case(
            "bare number duration",
            rule("    assert: { ImageCreateTime: { newer_than: 180 } }\n"),
            "invalid-duration",
            "180",
        )
        .help("180d"),
        case(
            "ambiguous m",
            rule("    assert: { ImageCreateTime: { older_than: 5m } }\n"),
            "invalid-duration",
            "5m",
        )
        .help("`min`"),
        case(
            "unknown unit",
            rule("    assert: { ImageCreateTime: { older_than: 3days } }\n"),
            "invalid-duration",
            "3days",
        ),
        case(
            "bad date",
            rule("    assert: { ImageCreateTime: { gt: \"2024-13-01\" } }\n"),
            "invalid-time",
            "\"2024-13-01\"",
        ),
        case(
            "duration as a time",
            rule("    assert: { ImageCreateTime: { gt: 180d } }\n"),
            "invalid-time",
            "180d",
        )
        .help("older_than"),
        case(
            "in on a timestamp",
            rule("    assert: { ImageCreateTime: { in: [\"2024-01-01\"] } }\n"),
            "operator-type",
            "in",
        ),
        case(
            "null matcher",
            rule("    assert: { TaskId: null }\n"),
            "operand-type",
            "null",
        )
        .help("exists: false"),
        case(
            "missing title",
            "rules:\n  - id: r1\n    assert: { ImageState: NORMAL }\n".into(),
            "missing-key",
            "id",
        )
        .after("- "),
        case(
            "missing id",
            "rules:\n  - title: T\n    assert: { ImageState: NORMAL }\n".into(),
            "missing-key",
            "title",
        ),
        case(
            "bad rule id",
            "rules:\n  - id: Private_Age\n    title: T\n    assert: { ImageState: NORMAL }\n"
                .into(),
            "invalid-rule-id",
            "Private_Age",
        )
        .help("private_age"),
        case(
            "both assert and expect",
            rule("    assert: { ImageState: NORMAL }\n    expect: { count: { gte: 1 } }\n"),
            "check-kind",
            "expect",
        ),
        case(
            "neither assert nor expect",
            rule("    severity: info\n"),
            "check-kind",
            "id: r1",
        ),
        case(
            "unknown placeholder",
            rule("    assert: { ImageState: NORMAL }\n    message: \"{ImageNam} is broken\"\n"),
            "unknown-placeholder",
            "{ImageNam}",
        )
        .help("`ImageName`"),
        case(
            "count placeholder in assert",
            rule("    assert: { ImageState: NORMAL }\n    message: \"{count} bad\"\n"),
            "unknown-placeholder",
            "{count}",
        )
        .help("set-level"),
        case(
            "images placeholder in assert",
            rule("    assert: { ImageState: NORMAL }\n    message: \"{images} bad\"\n"),
            "unknown-placeholder",
            "{images}",
        )
        .help("set-level"),
        case(
            "unclosed placeholder",
            rule("    assert: { ImageState: NORMAL }\n    message: \"{ImageId is bad\"\n"),
            "invalid-template",
            "\"{ImageId is bad\"",
        ),
        case(
            "unknown param",
            rule("    assert: { ImageCreateTime: { newer_than: \"${max_age}\" } }\n"),
            "unknown-param",
            "\"${max_age}\"",
        ),
        case(
            "param of the wrong type",
            format!(
                "params:\n  size: {{ default: big }}\n{}",
                rule("    assert: { ImageSize: { lte: \"${size}\" } }\n")
            ),
            "operand-type",
            "\"${size}\"",
        ),
        case(
            "param without a value",
            format!(
                "params:\n  limit: {{ description: d }}\n{}",
                rule("    assert: { ImageSize: { lte: \"${limit}\" } }\n")
            ),
            "missing-param-value",
            "limit",
        ),
        case(
            "yaml syntax",
            "rules:\n  - id: [unclosed\n".into(),
            "yaml-syntax",
            "",
        ),
        case(
            "empty condition",
            rule("    assert: {}\n"),
            "empty-condition",
            "{}",
        ),
        case(
            "empty in list",
            rule("    assert: { Platform: { in: [] } }\n"),
            "empty-condition",
            "[]",
        ),
        case(
            "ignore_case alone",
            rule("    assert: { ImageName: { ignore_case: true } }\n"),
            "ignore-case-alone",
            "ignore_case",
        ),
        case(
            "ignore_case on an integer",
            rule("    assert: { ImageSize: { eq: 50, ignore_case: true } }\n"),
            "operator-type",
            "ignore_case",
        ),
        case(
            "duplicate key",
            rule("    assert: { ImageState: NORMAL }\n    title: Again\n"),
            "duplicate-key",
            "title",
        )
        .after("NORMAL"),
        case(
            "duplicate operator",
            rule("    assert: { ImageSize: { gt: 1, gt: 2 } }\n"),
            "duplicate-key",
            "gt",
        )
        .after("gt: 1"),
        case(
            "unknown policy value",
            rule("    assert: { ImageState: NORMAL }\n    unknown: maybe\n"),
            "unknown-unknown-policy",
            "maybe",
        ),
        case(
            "not with a list",
            rule("    assert: { not: [ { ImageState: NORMAL } ] }\n"),
            "wrong-type",
            "[ { ImageState: NORMAL } ]",
        ),
        case(
            "all with a mapping",
            rule("    assert: { all: { ImageState: NORMAL } }\n"),
            "wrong-type",
            "{ ImageState: NORMAL }",
        )
        .after("all:"),
        case(
            "negative count",
            rule("    expect: { count: { gte: -1 } }\n"),
            "invalid-count",
            "-1",
        ),
        case(
            "unknown count op",
            rule("    expect: { count: { atleast: 1 } }\n"),
            "invalid-count",
            "atleast",
        ),
        case(
            "unknown unique path",
            rule("    expect: { unique: ImageNme }\n"),
            "unknown-field",
            "ImageNme",
        )
        .help("`ImageName`"),
        case(
            "rules not a list",
            "rules: { id: a }\n".into(),
            "wrong-type",
            "{ id: a }",
        ),
        case(
            "waiver for unknown rule",
            format!(
                "{}waivers:\n  - rules: [r2]\n    images: [img-a]\n    reason: r\n",
                rule("    assert: { ImageState: NORMAL }\n")
            ),
            "unknown-rule",
            "r2",
        )
        .help("`r1`"),
        case(
            "waiver without reason",
            format!(
                "{}waivers:\n  - rules: [r1]\n    images: [img-a]\n",
                rule("    assert: { ImageState: NORMAL }\n")
            ),
            "missing-key",
            "rules",
        )
        .after("waivers:"),
        case(
            "waiver with bad expiry",
            format!(
                "{}waivers:\n  - rules: [r1]\n    images: [img-a]\n    reason: r\n    expires: 31/03/2027\n",
                rule("    assert: { ImageState: NORMAL }\n")
            ),
            "invalid-time",
            "31/03/2027",
        ),
        case(
            "url not http",
            rule("    url: example.com\n    assert: { ImageState: NORMAL }\n"),
            "invalid-url",
            "example.com",
        ),
        case(
            "tags not a list",
            rule("    tags: security\n    assert: { ImageState: NORMAL }\n"),
            "wrong-type",
            "security",
        ),
        case("no rules", "params: {}\n".into(), "no-rules", ""),
    ]
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[test]
fn every_mistake_is_located_exactly() {
    let mut failures = Vec::new();
    for case in cases() {
        let diags = diagnostics(&case.yaml);
        let errors: Vec<&Diag> = diags.iter().filter(|d| d.is_error()).collect();
        let Some(diag) = errors.iter().find(|d| d.code.name() == case.code) else {
            failures.push(format!(
                "{}: no `{}` diagnostic; got {:?}",
                case.name,
                case.code,
                errors
                    .iter()
                    .map(|d| (d.code.name(), &d.message))
                    .collect::<Vec<_>>()
            ));
            continue;
        };
        if errors.len() != 1 {
            failures.push(format!(
                "{}: expected exactly one error, got {:?}",
                case.name,
                errors
                    .iter()
                    .map(|d| (d.code.name(), &d.message))
                    .collect::<Vec<_>>()
            ));
        }
        if !case.covers.is_empty() {
            let search_from = case
                .yaml
                .find(case.after)
                .map_or(0, |i| i + case.after.len());
            let start = search_from
                + case.yaml[search_from..]
                    .find(case.covers)
                    .expect("needle in yaml");
            let span = diag.primary_span().expect("located");
            let (line, column) = position(&case.yaml, start);
            let got = diag.location().map(|(_, at)| (at.line, at.column));
            let width = case
                .yaml
                .get(span.start..span.end())
                .map(|s| s.chars().count());
            if got != Some((line, column)) || width != Some(case.covers.chars().count()) {
                failures.push(format!(
                    "{}: expected {}:{} width {} ({:?}), got {:?} width {:?} ({:?})",
                    case.name,
                    line,
                    column,
                    case.covers.chars().count(),
                    case.covers,
                    got,
                    width,
                    case.yaml.get(span.start..span.end())
                ));
            }
        } else if case.code == "yaml-syntax" && diag.primary_span().is_none() {
            failures.push(format!("{}: a YAML error must be located", case.name));
        }
        if !case.help_has.is_empty() && !diag.help.as_deref().unwrap_or("").contains(case.help_has)
        {
            failures.push(format!(
                "{}: help {:?} lacks {:?}",
                case.name, diag.help, case.help_has
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );
}

const FIVE_MISTAKES: &str = "\
rules:
  - id: private-image-max-age
    title: Private images are fresh
    severty: error
    where: { ImageTyp: PRIVATE_IMAGE }
    assert: { ImageCreateTime: { newer_than: 180 } }
  - id: sizes
    title: Images are small
    assert: { ImageSize: { lte: \"50\" } }
  - id: names
    title: Names
    assert: { ImageName: { matches: \"([a-z\" } }
";

#[test]
fn five_mistakes_give_five_located_diagnostics_in_one_run() {
    let diags = diagnostics(FIVE_MISTAKES);
    let errors: Vec<(&str, usize)> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            (
                d.code.name(),
                d.location().map(|(_, at)| at.line).unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("unknown-key", 4),
            ("unknown-field", 5),
            ("invalid-duration", 6),
            ("operand-type", 9),
            ("invalid-regex", 12)
        ]
    );
}

#[test]
fn validate_reports_all_five_and_exits_2() {
    let out = Test::new()
        .policy(FIVE_MISTAKES)
        .args(&["validate"])
        .run()
        .code(2);
    for code in [
        "unknown-key",
        "unknown-field",
        "invalid-duration",
        "operand-type",
        "invalid-regex",
    ] {
        assert!(
            out.stderr.contains(&format!("ecmguard::{code}")),
            "missing {code} in\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("policies/main.yaml:4:5"),
        "{}",
        out.stderr
    );
}

#[test]
fn problems_in_several_files_are_reported_together() {
    let out = Test::new()
        .file("policies/a.yaml", "rules:\n  - id: a\n    title: A\n    assert: { ImageTyp: x }\n")
        .file("policies/b.yaml", "rules:\n  - id: b\n    title: B\n    severity: critical\n    assert: { ImageState: NORMAL }\n")
        .file("policies/skip.test.yaml", "this is not a policy: [\n")
        .args(&["validate"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("policies/a.yaml:4:15"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("policies/b.yaml:4:15"),
        "{}",
        out.stderr
    );
}

#[test]
fn rule_ids_are_unique_across_files() {
    let out = Test::new()
        .file(
            "policies/a.yaml",
            "rules:\n  - id: same\n    title: A\n    assert: { ImageState: NORMAL }\n",
        )
        .file(
            "policies/b.yaml",
            "rules:\n  - id: same\n    title: B\n    assert: { ImageState: NORMAL }\n",
        )
        .args(&["validate"])
        .run()
        .code(2);
    out.stderr_has("ecmguard::duplicate-rule-id")
        .stderr_has("the first is in policies/a.yaml:2:9");
}

#[test]
fn warnings_do_not_fail_validation() {
    Test::new()
        .policy("params:\n  unused: { default: 1 }\nrules:\n  - id: a\n    title: A\n    assert: { ImageState: NORMAL }\n")
        .args(&["validate"])
        .run()
        .code(0)
        .stdout_has("ecmguard::unused-param")
        .stdout_has("ok: 1 rule in 1 file valid");
}

#[test]
/// Each is stopped by the bound meant for it, named in its diagnostic: the
/// parser's budget for the alias bomb and the nesting, the size cap before
/// parsing, the UTF-8 check.
fn hostile_policy_files_are_stopped_by_their_bounds() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nrules: *g\n";
    let deep = format!("rules: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let big = format!("# {}\nrules: []\n", "x".repeat(2 * 1024 * 1024));
    for (name, text, code, bound) in [
        (
            "bomb",
            bomb.as_bytes().to_vec(),
            "ecmguard::yaml-syntax",
            "more than 250,000 values once its aliases are expanded",
        ),
        (
            "deep",
            deep.into_bytes(),
            "ecmguard::yaml-syntax",
            "recursion limit exceeded",
        ),
        (
            "big",
            big.into_bytes(),
            "ecmguard::file-too-large",
            "are limited to",
        ),
        (
            "utf8",
            b"rules: [\xff\xfe]\n".to_vec(),
            "ecmguard::invalid-utf8",
            "not valid UTF-8",
        ),
    ] {
        let out = Test::new()
            .file("policies/main.yaml", text)
            .args(&["validate"])
            .run();
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(code), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(bound), "{name}: {}", out.stderr);
    }
}

/// Every reader's diagnostics exactly as a user sees them (code, message,
/// snippet, labels, help), pinned by insta: the policy files of the
/// malformed corpus, and one file per mistake of each other reader (the
/// config file, param files, policy tests). A change to what any of them
/// prints shows up here as a snapshot difference to review.
mod rendered {
    use crate::support::Test;

    /// A policy every param file and test file below is read against.
    const POLICY: &str = "params:\n  min_size: { default: 20 }\n  max_age: { default: 180d }\n  os: { default: [Ubuntu] }\n  flag: { default: true }\nrules:\n  - id: size\n    title: Disks are large enough\n    assert: { ImageSize: { gte: \"${min_size}\" } }\n  - id: age\n    title: Fresh\n    assert: { ImageCreateTime: { newer_than: \"${max_age}\" }, Platform: \"${os}\", IsSupportCloudInit: \"${flag}\" }\n";

    fn section(out: &mut String, name: &str, stderr: &str) {
        out.push_str(&format!("===== {name}\n{stderr}"));
    }

    #[test]
    fn policy_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("corpus")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        names.sort();
        let mut out = String::new();
        for name in names {
            let bytes = std::fs::read(dir.join(&name)).expect("fixture");
            let path = format!("p/{name}");
            let run = Test::new()
                .file(&path, bytes)
                .args(&["validate", "--policy", &path])
                .run();
            section(&mut out, &name, &run.stderr);
        }
        insta::assert_snapshot!("policy_files", out);
    }

    const CONFIGS: &[(&str, &str)] = &[
        ("unknown keys", "polcy: x\nfail-on: error\nzzz: 1\n"),
        ("duplicate key", "rate: 1\nrate: 2\n"),
        ("not a mapping", "- policy\n"),
        ("a key that is not a string", "1: x\n"),
        ("yaml syntax", "policy: [\n"),
        (
            "empty values",
            "policy: []\nbaseline: \"\"\naccount: \"\"\n",
        ),
        (
            "wrong types",
            "policy: 5\nparam_files: { a: 1 }\nfail_on: 1\nreports: { a: 1 }\nrate: \"20\"\ntimeout: 30\nendpoint: [x]\nhistory: 5\nbaseline: [x]\n",
        ),
        (
            "a list item of the wrong type",
            "policy: [a, 5]\nreports: [json=x.json, 5]\n",
        ),
        (
            "invalid values",
            "fail_on: eror\napi_time_zone: Asia/Shanghia\nrate: -1\ntimeout: 0s\n",
        ),
        ("timeouts", "timeout: 1mo\n"),
        ("timeout without unit", "timeout: 30x\n"),
        ("reports", "reports: [jsno=r.json, sarif, =x]\n"),
        ("history not a URL", "history: \"postgres://[bad\"\n"),
        (
            "account with control characters",
            "account: \"a\\u0007b\"\n",
        ),
        ("endpoints", "endpoint: http://example.com\n"),
        ("endpoint with a path", "endpoint: https://example.com/x\n"),
        (
            "credential key",
            "fail_on: error\nsecret_key: Gu5t9xGARNpq86cd98joQYCN3EXAMPLE\n",
        ),
        (
            "nested credential",
            "tencentcloud:\n  SecretId: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\n",
        ),
        (
            "SecretId value",
            "account: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\n",
        ),
        (
            "URL password",
            "history: postgres://ecm:hunter2@db.example.com/ecm\n",
        ),
        (
            "syntax error next to a credential",
            "Password: hunter2\npolicy: [\n",
        ),
    ];

    #[test]
    fn config_files() {
        let mut out = String::new();
        for (name, text) in CONFIGS {
            let run = Test::new()
                .policy(POLICY)
                .file("ecmguard.yaml", text)
                .args(&["validate"])
                .run();
            section(&mut out, name, &run.stderr);
        }
        insta::assert_snapshot!("config_files", out);
    }

    const PARAM_FILES: &[(&str, &str)] = &[
        ("not a mapping", "- a\n"),
        (
            "shapes",
            "min_size:\nos: { x: 1 }\nflag: [[1]]\nmin_size: 2\n1: x\n",
        ),
        ("unknown name", "min_sise: 30\n"),
        (
            "wrong types",
            "min_size: big\nflag: maybe\nos: [a, b]\nmax_age: [1d]\n",
        ),
        ("yaml syntax", "min_size: [\n"),
    ];

    #[test]
    fn param_files() {
        let mut out = String::new();
        for (name, text) in PARAM_FILES {
            let run = Test::new()
                .policy(POLICY)
                .file("vars.yaml", text)
                .args(&["validate", "--param-file", "vars.yaml"])
                .run();
            section(&mut out, name, &run.stderr);
        }
        insta::assert_snapshot!("param_files", out);
    }

    const CASE: &str =
        "  - name: a case\n    images: [{ ImageId: img-a, ImageSize: 50 }]\n    expect: []\n";

    fn test_files() -> Vec<(&'static str, String)> {
        vec![
            ("not a mapping", "- a\n".into()),
            ("unknown and missing keys", "now: 2026-01-01T00:00:00+08:00\nrule: [size]\ncases:\n  - nme: x\n".into()),
            ("duplicate keys", format!("now: 2026-01-01T00:00:00+08:00\nnow: 2026-01-01T00:00:00+08:00\ncases:\n{CASE}")),
            ("wrong types", "now: 5\nrules: size\ncases: {}\n".into()),
            ("case shapes", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: 5\n    images: {}\n    expect: {}\n    params: []\n    history: {}\n  - name: no now\n    now: yesterday\n    images: []\n    expect: []\n".into()),
            ("images", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images:\n      - { ImageTyp: PRIVATE_IMAGE, ImageSize: \"50\", ImageName: 5, IsSupportCloudInit: yes, 5: x }\n      - { SrcImage: { Regoin: x, RegionID: \"1\" } }\n      - { SrcImage: [] }\n      - 7\n      - { ImageCreateTime: 5 }\n    expect: []\n".into()),
            ("expect entries", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images: []\n    expect:\n      - { rule: size, status: violated }\n      - { rul: size, status: violation }\n      - { rule: 5, image: [], status: waived }\n      - 5\n".into()),
            ("history entries", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images: []\n    expect: []\n    history:\n      - { rule: size, first_seen: later }\n      - { image: img-a }\n      - { rule: size, first_seen: 2025-12-01T00:00:00+08:00, extra: 1 }\n".into()),
            ("params", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images: []\n    expect: []\n    params: { 5: x, min_size: 3 }\n".into()),
            ("rules not loaded", "now: 2026-01-01T00:00:00+08:00\nrules: [sise]\ncases:\n  - name: x\n    images: []\n    expect: [{ rule: aeg, status: violation }]\n".into()),
            ("yaml syntax", "cases: [\n".into()),
            // A field or param written twice would silently keep the last.
            ("fields and params written twice", "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images:\n      - { ImageId: img-a, ImageSize: 50, ImageSize: 10, SrcImage: { Region: a, Region: b } }\n    params: { min_size: 3, min_size: 4 }\n    expect: []\n".into()),
        ]
    }

    #[test]
    fn policy_test_files() {
        let mut out = String::new();
        for (name, text) in test_files() {
            let run = Test::new()
                .file("p/main.yaml", POLICY)
                .file("p/main.test.yaml", &text)
                .args(&["test", "p/main.test.yaml"])
                .run();
            section(&mut out, name, &run.stderr);
            out.push_str(&run.stdout);
        }
        insta::assert_snapshot!("policy_test_files", out);
    }
}

/// What a run prints about a file is bounded by the tool, not by the file:
/// past a cap a file's problems are counted in one diagnostic, long values
/// are clipped where they are quoted, and a snippet never prints a huge
/// line whole. Each case is a file a generator could write, checked by the
/// size of what is printed (the cost is a benchmark's business:
/// `scripts/bench_inputs.sh`).
mod bounded {
    use crate::support::Test;

    const POLICY: &str = "params:\n  min_size: { default: 20 }\nrules:\n  - id: size\n    title: Disks are large enough\n    assert: { ImageSize: { gte: \"${min_size}\" } }\n";

    /// 50,000 `kNNNNN: 1` lines: half a megabyte of keys.
    fn keys(n: usize) -> String {
        (0..n).map(|i| format!("k{i:05}: 1\n")).collect()
    }

    fn value(n: usize) -> String {
        "a".repeat(n)
    }

    #[track_caller]
    fn assert_bounded(out: &crate::support::Output, limit: usize, needles: &[&str]) {
        assert_eq!(out.code, 2, "{}", &out.stderr[..out.stderr.len().min(3000)]);
        assert!(
            out.stderr.len() + out.stdout.len() < limit,
            "{} bytes printed (limit {limit}):\n{}",
            out.stderr.len() + out.stdout.len(),
            &out.stderr[..out.stderr.len().min(3000)]
        );
        for needle in needles {
            assert!(
                out.stderr.contains(needle),
                "no {needle:?} in:\n{}",
                &out.stderr[..out.stderr.len().min(3000)]
            );
        }
    }

    #[test]
    fn a_config_file_of_50_000_unknown_keys() {
        let out = Test::new()
            .policy(POLICY)
            .file("ecmguard.yaml", keys(50_000))
            .args(&["validate"])
            .run();
        assert_bounded(
            &out,
            40_000,
            &[
                "unknown key `k00049` in the config file",
                "and 49,950 more problems in ecmguard.yaml, not shown",
                "[ecmguard.yaml:51:1]",
            ],
        );
        assert!(
            !out.stderr.contains("`k00050`"),
            "the 51st is counted, not shown"
        );
    }

    /// 50,000 credentials, each masked in every snippet and message shown.
    #[test]
    fn a_config_file_of_50_000_credentials() {
        let text: String = (0..50_000).map(|i| format!("token{i}: v{i}s\n")).collect();
        let out = Test::new()
            .policy(POLICY)
            .file("ecmguard.yaml", text)
            .args(&["validate"])
            .run();
        assert_bounded(
            &out,
            40_000,
            &[
                "`token49` looks like a credential",
                "and 49,950 more problems in ecmguard.yaml",
            ],
        );
        assert!(!out.stderr.contains("v49s") && !out.stderr.contains("v50s"));
    }

    #[test]
    fn a_config_value_of_900_kb() {
        let out = Test::new()
            .policy(POLICY)
            .file("ecmguard.yaml", format!("fail_on: {}\n", value(900_000)))
            .args(&["validate"])
            .run();
        assert_bounded(
            &out,
            5_000,
            &["(900,000", "is not a level", "[ecmguard.yaml:1:10]"],
        );
    }

    #[test]
    fn a_param_file_of_50_000_unknown_names() {
        let out = Test::new()
            .policy(POLICY)
            .file("vars.yaml", keys(50_000))
            .args(&["validate", "--param-file", "vars.yaml"])
            .run();
        assert_bounded(
            &out,
            60_000,
            &["and 49,950 more problems in vars.yaml, not shown"],
        );
        // One name set 50,000 times.
        let out = Test::new()
            .policy(POLICY)
            .file("vars.yaml", "min_size: 1\n".repeat(50_000))
            .args(&["validate", "--param-file", "vars.yaml"])
            .run();
        assert_bounded(
            &out,
            60_000,
            &["and 49,949 more problems in vars.yaml, not shown"],
        );
    }

    #[test]
    fn a_param_value_of_900_kb() {
        let out = Test::new()
            .policy(POLICY)
            .file("vars.yaml", format!("min_size: {}\n", value(900_000)))
            .args(&["validate", "--param-file", "vars.yaml"])
            .run();
        assert_bounded(&out, 5_000, &["(900,000", "is not an integer"]);
    }

    const RULE: &str =
        "rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n";

    #[test]
    fn a_policy_file_of_50_000_unknown_keys() {
        let indented: String = keys(50_000).lines().map(|l| format!("    {l}\n")).collect();
        let out = Test::new()
            .file("p.yaml", format!("{RULE}{indented}"))
            .args(&["validate", "--policy", "p.yaml"])
            .run();
        assert_bounded(
            &out,
            400_000,
            &[
                "unknown key `k00499` in a rule",
                "and 49,500 more problems in p.yaml, not shown",
                "error: 50,000 problems",
            ],
        );
    }

    #[test]
    fn a_policy_value_of_900_kb() {
        let out = Test::new()
            .file(
                "p.yaml",
                format!("{RULE}    severity: {}\n", value(900_000)),
            )
            .args(&["validate", "--policy", "p.yaml"])
            .run();
        assert_bounded(&out, 5_000, &["unknown severity", "`aaaa", "(900,000"]);
    }

    /// Every problem of a file people write is listed: a policy with a
    /// mistake in each of 300 rules shows all 300.
    #[test]
    fn a_realistic_policy_shows_every_problem() {
        let rules: String = (0..300)
            .map(|i| format!("  - id: r{i}\n    title: Rule {i}\n    severty: error\n    assert: {{ ImageState: NORMAL }}\n"))
            .collect();
        let out = Test::new()
            .file("p.yaml", format!("rules:\n{rules}"))
            .args(&["validate", "--policy", "p.yaml"])
            .run()
            .code(2);
        assert_eq!(out.stderr.matches("unknown key `severty`").count(), 300);
        assert!(!out.stderr.contains("more-problems"));
        assert!(
            out.stderr.contains("error: 300 problems"),
            "{}",
            &out.stderr[out.stderr.len() - 200..]
        );
    }
}

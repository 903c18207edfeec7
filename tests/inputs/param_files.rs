//! `--param-file FILE`: values typed like `--param`, and every mistake a
//! located diagnostic in the file (exit 2).

use super::{failing, failing_images, images_with_plain_web, project};

#[test]
fn values_are_typed_like_param_values() {
    // A quoted regex keeps its `#` (cut there, `^web` would pass `web`); a
    // YAML list is a list; 10d a duration.
    let out = project()
        .images(images_with_plain_web())
        .file(
            "vars.yaml",
            "name_re: \"^web #x$\"\nallowed_os: [Debian, Ubuntu]\nmax_age: 10d\nmin_size: 50\n",
        )
        .check(&["--format", "json", "--param-file", "vars.yaml"])
        .run()
        .code(1);
    assert_eq!(
        failing_images(&out),
        [
            ("age".to_owned(), "img-a".to_owned()),
            ("age".to_owned(), "img-web".to_owned()),
            ("naming".to_owned(), "img-web".to_owned())
        ]
    );
    // A list as text, as --param takes it; a literal string that is not the name.
    let out = project()
        .file("vars.yaml", "allowed_os: Debian,CentOS\nname_re: '^web$'\n")
        .check(&["--format", "json", "--param-file", "vars.yaml"])
        .run()
        .code(1);
    assert_eq!(failing(&out), ["naming", "os"]);
}

#[test]
fn an_unknown_name_is_located_with_did_you_mean() {
    project()
        .file("vars.yaml", "max_age: 90d\nmin_sise: 5\n")
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unknown-param-in-file")
        .stderr_has("vars.yaml sets `min_sise`, but no policy file defines a param `min_sise`")
        .stderr_has("[vars.yaml:2:1]")
        .stderr_has("did you mean `min_size`?")
        .stderr_has("1 problem (1 error, 0 warnings) in 1 file");
}

#[test]
fn a_value_of_the_wrong_type_is_located_at_the_value() {
    project()
        .file("vars.yaml", "min_size: big\n")
        .check(&["--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::param-value-type")
        .stderr_has("param `min_size` in vars.yaml: `big` is not an integer")
        .stderr_has("[vars.yaml:1:11]")
        .stderr_has("e.g. min_size: 50");
    // A list where one value is wanted, located at the list.
    project()
        .file("vars.yaml", "max_age: 10d\nmin_size: [1, 2]\n")
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("param `min_size` in vars.yaml: a list is not an integer")
        .stderr_has("[vars.yaml:2:11]");
}

/// A param file is checked whole: a bad value is reported even when the
/// environment or `--param` overrides it in this run.
#[test]
fn an_overridden_bad_value_is_still_reported() {
    project()
        .file("vars.yaml", "min_size: big\n")
        .args(&[
            "validate",
            "--param-file",
            "vars.yaml",
            "--param",
            "min_size=60",
        ])
        .run()
        .code(2)
        .stderr_has("[vars.yaml:1:11]");
}

#[test]
fn a_file_that_is_not_a_mapping_of_values_is_refused() {
    for (text, message, at) in [
        (
            "- min_size\n",
            "a param file is a mapping of param names to values, found a list",
            "[vars.yaml:1:1]",
        ),
        (
            "min_size:\n",
            "param `min_size` has no value in vars.yaml",
            "[vars.yaml:1:9]",
        ),
        (
            "allowed_os: { a: 1 }\n",
            "param `allowed_os` is a mapping; a param value is a scalar or a list",
            "[vars.yaml:1:13]",
        ),
        (
            "allowed_os: [[Ubuntu]]\n",
            "an item of param `allowed_os` is a list; list items are scalars",
            "[vars.yaml:1:14]",
        ),
    ] {
        project()
            .file("vars.yaml", text)
            .args(&["validate", "--param-file", "vars.yaml"])
            .run()
            .code(2)
            .stderr_has("ecmguard::invalid-param-file")
            .stderr_has(message)
            .stderr_has(at);
    }
    project()
        .file("vars.yaml", "min_size: 30\nmin_size: 40\n")
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::duplicate-key")
        .stderr_has("[vars.yaml:2:1]");
    project()
        .file("vars.yaml", "min_size: [30\n")
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::yaml-syntax")
        .stderr_has("vars.yaml:");
    // An empty file sets nothing.
    project()
        .file("vars.yaml", "# nothing for this environment yet\n")
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(0);
}

#[test]
fn param_files_are_read_like_policy_files() {
    project()
        .args(&["validate", "--param-file", "absent.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::file-read")
        .stderr_has("cannot read absent.yaml");
    let mut big = String::from("min_size: 30\n");
    while big.len() <= 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding\n");
    }
    project()
        .file("vars.yaml", big)
        .args(&["validate", "--param-file", "vars.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::file-too-large");
    project()
        .file("vars/keep", "")
        .args(&["validate", "--param-file", "vars"])
        .run()
        .code(2)
        .stderr_has("cannot read vars")
        .stderr_has("not a regular file");
}

/// A FIFO would block the run until something writes to it.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let test = project();
    let out = {
        let dir = tempfile::TempDir::new().expect("dir");
        let fifo = dir.path().join("vars.yaml");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        let fifo = fifo.display().to_string();
        test.args(&["validate", "--param-file", &fifo]).run()
    };
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
}

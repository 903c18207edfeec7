//! `ECMGUARD_PARAM_<name>`: literal text typed like `--param`; a variable
//! naming no param is a warning (the environment serves many runs), which
//! `validate --strict` turns into a failure.

use super::{failing, failing_images, images_with_plain_web, project};

#[test]
fn a_value_is_literal_text() {
    // `#` and the spaces are kept: a YAML reading would make this `^web`,
    // which `web` passes.
    let out = project()
        .images(images_with_plain_web())
        .env("ECMGUARD_PARAM_name_re", "^web #x$")
        .check(&["--format", "json"])
        .run()
        .code(1);
    assert_eq!(
        failing_images(&out),
        [("naming".to_owned(), "img-web".to_owned())]
    );
    let out = project()
        .env("ECMGUARD_PARAM_name_re", "^web$")
        .env("ECMGUARD_PARAM_max_age", "10d")
        .check(&["--format", "json"])
        .run()
        .code(1);
    assert_eq!(failing(&out), ["age", "naming"]);
}

#[test]
fn a_value_of_the_wrong_type_says_the_expected_form() {
    project()
        .env("ECMGUARD_PARAM_min_size", "big")
        .check(&[])
        .run()
        .code(2)
        .stderr_has("ecmguard::param-value-type")
        .stderr_has("ECMGUARD_PARAM_min_size: `big` is not an integer")
        .stderr_has("e.g. ECMGUARD_PARAM_min_size=50");
}

#[test]
fn a_variable_naming_no_param_is_a_warning_with_did_you_mean() {
    for variable in ["ECMGUARD_PARAM_min_sise", "ECMGUARD_PARAM_MIN_SIZE"] {
        project()
            .env(variable, "5")
            .args(&["validate"])
            .run()
            .code(0)
            .stdout_has("ecmguard::unknown-param-env")
            .stdout_has(&format!(
                "{variable} is set, but no policy file defines a param"
            ))
            .stdout_has("did you mean ECMGUARD_PARAM_min_size? param names are case-sensitive");
        project()
            .env(variable, "5")
            .args(&["validate", "--strict"])
            .run()
            .code(2)
            .stderr_has("ecmguard::unknown-param-env");
    }
    // In a check it is one of the report's warnings, and the gate is unchanged.
    let out = project()
        .env("ECMGUARD_PARAM_other_pack_limit", "5")
        .check(&["--format", "json"])
        .run()
        .code(0);
    let codes: Vec<String> = out.json()["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes, ["unknown-param-env"]);
}

/// A value that is not text cannot be typed like `--param`: an error, not a
/// silently dropped value.
#[cfg(unix)]
#[test]
fn a_value_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStringExt;
    project()
        .env_os(
            "ECMGUARD_PARAM_min_size",
            std::ffi::OsString::from_vec(vec![b'6', 0xff]),
        )
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::invalid-param-env")
        .stderr_has("ECMGUARD_PARAM_min_size: the value is not valid UTF-8");
}

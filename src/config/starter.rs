//! The commented starter `ecmguard.yaml` that `ecmguard init` writes: every
//! key explained, the team choices set, the defaults shown commented out (so
//! a project does not pin today's defaults).

/// A commented starter `ecmguard.yaml` with every key explained (for
/// `ecmguard init`). It loads as is, and with every example uncommented.
pub fn starter_yaml() -> &'static str {
    STARTER
}

/// The starter with `policy:` naming `dir` (as written on `ecmguard init`'s
/// command line, relative to where the file goes), quoted so any path reads
/// back as itself.
pub(crate) fn starter_yaml_for(dir: &str) -> String {
    let line = format!(
        "policy: [{}]",
        serde_json::to_string(dir).unwrap_or_else(|_| format!("\"{dir}\""))
    );
    STARTER.replacen(STARTER_POLICY_LINE, &line, 1)
}

/// The line of [`STARTER`] that names the policies.
const STARTER_POLICY_LINE: &str = "policy: [policies]";

const STARTER: &str = r#"# ecmguard.yaml: project defaults for ecmguard, read from the working directory
# (or named with --config FILE; --config none ignores it). A flag given on the
# command line replaces the value here, lists included. Paths are relative to
# this file's directory. Never put credentials here: ecmguard reads them from
# TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY, ~/.tencentcloud/credentials
# or --profile NAME.

# Policy files, or directories of them (--policy). Default: policies
policy: [policies]

# Lowest severity that fails the gate: error, warning, info or never (--fail-on).
fail_on: error

# Zone of the API's zone-less timestamps: an offset or an IANA name such as
# Asia/Shanghai (--api-time-zone). Default: +08:00
# api_time_zone: "+08:00"

# Param files, YAML mappings of param name to value, lowest precedence first
# (--param-file). ECMGUARD_PARAM_<name> variables and --param override them.
# param_files: [params/production.yaml]

# Reports every check writes, as FORMAT=FILE (--report); formats: human, json,
# sarif, junit, markdown, html, csv, github.
# reports: [json=ecmguard.json, sarif=ecmguard.sarif]

# Findings recorded here are reported as baselined, not failing (--baseline).
# baseline: ecmguard-baseline.json

# Compliance history: a SQLite file, or a postgres:// URL without a password
# (the password comes from PGPASSWORD or ~/.pgpass) (--history).
# history: ecmguard-history.db

# Account label recorded in the history (--account).
# account: production

# The live API: requests per second (--rate; default 20, the documented limit),
# the time limit of one request (--timeout; default 30s) and the endpoint
# (--endpoint; default https://ecm.tencentcloudapi.com).
# rate: 20
# timeout: 30s
# endpoint: https://ecm.tencentcloudapi.com
"#;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::{KEYS, ProjectConfig, parse};
    use crate::diag::Diag;
    use crate::eval::FailOn;
    use crate::source::live;
    use crate::source_text::SourceFile;
    use crate::time::ApiZone;

    fn read(text: &str) -> Result<ProjectConfig, Vec<Diag>> {
        parse(
            &SourceFile::new("ecmguard.yaml", text),
            Path::new("ecmguard.yaml"),
        )
    }

    /// `ecmguard init` writes this: it must load, with every example
    /// uncommented too, and name every key.
    #[test]
    fn the_starter_loads_as_is_and_with_every_example_uncommented() {
        let starter = starter_yaml();
        read(starter).unwrap_or_else(|p| panic!("starter: {p:?}"));
        let uncommented: String = starter
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if KEYS.iter().any(|k| rest.starts_with(&format!("{k}:"))) => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let config = read(&uncommented).unwrap_or_else(|p| panic!("uncommented: {p:?}"));
        for key in KEYS {
            assert!(
                uncommented
                    .lines()
                    .any(|l| l.starts_with(&format!("{key}:"))),
                "the starter does not show `{key}`"
            );
        }
        // The examples of the defaults are the defaults.
        assert_eq!(config.rate, Some(live::DEFAULT_RATE));
        assert_eq!(config.timeout, Some(live::DEFAULT_TIMEOUT));
        assert_eq!(config.endpoint.as_deref(), Some(live::DEFAULT_ENDPOINT));
        assert_eq!(
            config.api_time_zone.map(|z| z.label().to_owned()),
            Some(ApiZone::default().label().to_owned())
        );
        assert_eq!(
            config.policy,
            Some(vec![PathBuf::from(crate::policy::DEFAULT_POLICY_DIR)])
        );
        assert_eq!(config.fail_on, Some(FailOn::default()));
        assert!(starter.contains(STARTER_POLICY_LINE));
    }

    /// `ecmguard init DIR` names DIR, whatever its spelling.
    #[test]
    fn the_starter_names_the_policy_directory_it_is_given() {
        for dir in ["ci/policies", "my policies", "a\"b: [c]", "/abs/path"] {
            let config = read(&starter_yaml_for(dir)).unwrap_or_else(|p| panic!("{dir}: {p:?}"));
            assert_eq!(config.policy, Some(vec![PathBuf::from(dir)]), "{dir}");
        }
    }
}

//! The baseline file format (`ecmguard/baseline/v1`): a sorted JSON list of
//! rule id + ImageId entries, written by `check --write-baseline` and read
//! by `check --baseline`. What a baseline does to findings is `eval`'s.

use serde::{Deserialize, Serialize};

use crate::diag::{Code, Diag};
use crate::eval::baseline::{Baseline, Entry};

/// The largest baseline file read (about a million entries).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// The schema tag of baseline files.
pub const BASELINE_SCHEMA: &str = "ecmguard/baseline/v1";

#[derive(Serialize, Deserialize)]
struct File {
    schema: String,
    entries: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    rule: String,
    image: Option<String>,
}

/// Read a baseline file's bytes; `name` is the path as the user gave it.
pub fn read(name: &str, bytes: &[u8]) -> Result<Baseline, Diag> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| {
        Diag::error(
            Code::InvalidBaseline,
            format!("{name}:{}:{}: invalid baseline: {e}", e.line(), e.column()),
        )
        .with_help("a baseline is the JSON file written by `ecmguard check --write-baseline FILE`")
    })?;
    if file.schema != BASELINE_SCHEMA {
        return Err(Diag::error(
            Code::InvalidBaseline,
            format!(
                "{name}: baseline schema is `{}`; this ecmguard reads `{BASELINE_SCHEMA}`",
                file.schema
            ),
        )
        .with_help("write the baseline again with `ecmguard check --write-baseline FILE`"));
    }
    Ok(Baseline {
        entries: file
            .entries
            .into_iter()
            .map(|e| Entry {
                rule: e.rule,
                image: e.image,
            })
            .collect(),
    })
}

/// Write `baseline` as a pretty-printed baseline file into `out`.
pub fn write(baseline: &Baseline, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let file = File {
        schema: BASELINE_SCHEMA.to_owned(),
        entries: baseline
            .entries
            .iter()
            .map(|e| FileEntry {
                rule: e.rule.clone(),
                image: e.image.clone(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_files_with_its_own_code() {
        let baseline = Baseline {
            entries: vec![
                Entry {
                    rule: "r".into(),
                    image: Some("img-a".into()),
                },
                Entry {
                    rule: "s".into(),
                    image: None,
                },
            ],
        };
        let mut bytes = Vec::new();
        write(&baseline, &mut bytes).unwrap();
        assert_eq!(read("b.json", &bytes).unwrap().entries, baseline.entries);
        for bad in [
            &b"{"[..],
            br#"{"schema":"other","entries":[]}"#,
            br#"{"ImageSet":[]}"#,
        ] {
            assert_eq!(read("b.json", bad).unwrap_err().code, Code::InvalidBaseline);
        }
    }
}

//! Property tests (proptest), sized to keep `cargo test` quick: the policy
//! compiler and the snapshot reader never panic, whatever they are given;
//! byte offsets and line/column positions convert both ways; durations
//! parse back to what they were made of.

use std::sync::Arc;

use ecmguard::policy::duration::Duration;
use ecmguard::policy::{self, CompileOptions};
use ecmguard::source::snapshot;
use ecmguard::source_text::SourceFile;
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::support::options;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // No regression files in the tree: failures are shown, and become tests.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn compile(text: &str, options: &CompileOptions) {
    let _ = policy::compile(vec![SourceFile::new("p.yaml", text)], options);
}

/// Fragments of the policy language, so random text often gets past the
/// YAML syntax and into validation.
const FRAGMENTS: &[&str] = &[
    "rules:",
    "waivers:",
    "params:",
    "\n",
    "\n  ",
    "\n    ",
    "\n      ",
    "- ",
    "id: ",
    "title: ",
    "assert: ",
    "expect: ",
    "where: ",
    "message: ",
    "severity: ",
    "unknown: ",
    "reason: ",
    "images: ",
    "expires: ",
    "default: ",
    "count: ",
    "unique: ",
    "all: ",
    "any: ",
    "not: ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    ": ",
    "ImageId",
    "ImageName",
    "ImageCreateTime",
    "ImageSize",
    "SrcImage.RegionID",
    "IsSupportCloudInit",
    "eq",
    "in",
    "matches",
    "glob",
    "older_than",
    "newer_than",
    "gt",
    "exists",
    "ignore_case",
    "180d",
    "1y6mo",
    "5m",
    "50",
    "\"50\"",
    "true",
    "null",
    "~",
    "r1",
    "img-a",
    "\"${p}\"",
    "${p",
    "'^[a-z]+$'",
    "'(['",
    "\"{ImageId}\"",
    "\"{\"",
    "2024-01-31",
    "&a ",
    "*a",
    "#",
    "\t",
    "镜像",
    "\u{feff}",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...",
];

fn policy_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.concat())
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(
            &[
                "",
                "NORMAL",
                "PRIVATE_IMAGE",
                "2024-01-01 08:00:00",
                "镜像",
                "img-a"
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        ".{0,12}".prop_map(Value::String),
    ]
}

const KEYS: &[&str] = &[
    "ImageId",
    "ImageName",
    "ImageState",
    "ImageType",
    "ImageCreateTime",
    "ImageSize",
    "ImageOwner",
    "IsSupportCloudInit",
    "SrcImage",
    "RegionID",
    "Region",
    "Response",
    "ImageSet",
    "TotalCount",
    "total_count",
    "schema",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "filters",
    "fetched_at",
    "endpoint",
    "Labels",
];

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                let map: Map<String, Value> = entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                Value::Object(map)
            }),
        ]
    })
}

/// Random values in the places the accepted shapes read.
fn snapshot_like() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), 0..6u8).prop_map(|(a, b, shape)| match shape {
        0 => {
            serde_json::json!({ "schema": "ecmguard/snapshot/v1", "total_count": b, "ImageSet": a })
        }
        1 => {
            serde_json::json!({ "Response": { "TotalCount": b, "ImageSet": a, "RequestId": "r" } })
        }
        2 => serde_json::json!([{ "Response": { "ImageSet": a } }, { "Response": b }]),
        3 => serde_json::json!({ "TotalCount": b, "ImageSet": a, "RequestId": "r" }),
        // tccli's pages as `jq -s` puts them together.
        4 => serde_json::json!([{ "TotalCount": b, "ImageSet": a }, { "TotalCount": b, "RequestId": "r", "ImageSet": a }]),
        _ => Value::Array(vec![a, b]),
    })
}

fn check_reader(bytes: &[u8]) -> Result<(), TestCaseError> {
    let in_memory = snapshot::read("t.json", bytes);
    let streamed = snapshot::read_from("t.json", bytes);
    prop_assert_eq!(
        in_memory
            .as_ref()
            .map(|s| s.images.len())
            .map_err(std::mem::discriminant),
        streamed
            .as_ref()
            .map(|s| s.images.len())
            .map_err(std::mem::discriminant)
    );
    // The fast path for files accepts only what the exact parser reads, and
    // reads it the same way.
    if let Ok(Some(fast)) = snapshot::read_fast("t.json", bytes) {
        let exact = in_memory.as_ref();
        prop_assert!(exact.is_ok(), "fast path accepted a refused input");
        if let Ok(exact) = exact {
            prop_assert_eq!(fast.shape, exact.shape);
            prop_assert_eq!(fast.total_count, exact.total_count);
            prop_assert_eq!(&fast.filters, &exact.filters);
            prop_assert_eq!(fast.pages, exact.pages);
            prop_assert_eq!(
                serde_json::to_string(&fast.images).ok(),
                serde_json::to_string(&exact.images).ok()
            );
        }
    }
    if let Ok(snapshot) = in_memory {
        for image in &snapshot.images {
            prop_assert!(serde_json::to_vec(image).is_ok());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_compiler_never_panics_on_text(text in ".{0,300}") {
        compile(&text, &options());
    }

    #[test]
    fn the_compiler_never_panics_on_policy_like_text(text in policy_like()) {
        compile(&text, &options());
    }

    #[test]
    fn the_snapshot_reader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_reader(&bytes)?;
    }

    #[test]
    fn the_snapshot_reader_never_panics_on_structured_json(value in snapshot_like()) {
        let bytes = serde_json::to_vec(&value).expect("serialises");
        check_reader(&bytes)?;
    }

    /// Documents one after another, as `cat` writes the pages of a listing.
    #[test]
    fn the_snapshot_reader_never_panics_on_documents_one_after_another(
        first in snapshot_like(),
        second in snapshot_like(),
        pretty in any::<bool>(),
    ) {
        let text = |value: &Value| if pretty { format!("{value:#}\n") } else { value.to_string() };
        let bytes = format!("{}{}", text(&first), text(&second)).into_bytes();
        check_reader(&bytes)?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn byte_offsets_and_line_columns_round_trip(text in "(.|\n|\r\n){0,80}", extra in 0usize..8) {
        let file: Arc<SourceFile> = SourceFile::new("t.yaml", text.clone());
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let at = file.line_col(offset);
            prop_assert_eq!(file.offset_of(at), Some(offset), "offset {} at {:?}", offset, at);
        }
        // Any byte offset, inside a character or past the end, clamps to the
        // character boundary before it and never panics.
        for offset in 0..=text.len() + extra {
            let mut expected = offset.min(text.len());
            while !text.is_char_boundary(expected) {
                expected -= 1;
            }
            prop_assert_eq!(file.offset_of(file.line_col(offset)), Some(expected));
        }
    }

    #[test]
    fn durations_round_trip(groups in prop::sample::subsequence(
        &[("y", 12i64, 0i64), ("mo", 1, 0), ("w", 0, 604_800), ("d", 0, 86_400), ("h", 0, 3600), ("min", 0, 60), ("s", 0, 1)][..],
        1..=7,
    ), numbers in prop::collection::vec(0i64..5000, 7), shuffle in any::<u64>()) {
        // Units in any order; each at most once.
        let mut groups = groups;
        let n = groups.len();
        for i in (1..n).rev() {
            let j = (shuffle.rotate_left(i as u32 * 9) % (i as u64 + 1)) as usize;
            groups.swap(i, j);
        }
        let mut text = String::new();
        let (mut months, mut seconds) = (0i64, 0i64);
        for ((unit, month_factor, second_factor), number) in groups.iter().zip(&numbers) {
            let number = if *unit == "y" { number % 400 } else { *number };
            text.push_str(&format!("{number}{unit}"));
            months += number * month_factor;
            seconds += number * second_factor;
        }
        let parsed = Duration::parse(&text);
        prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
        let parsed = parsed.expect("checked");
        prop_assert_eq!((parsed.months, parsed.seconds), (months, seconds), "{}", text);
        prop_assert_eq!(parsed.to_string(), text);
    }
}

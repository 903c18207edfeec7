//! A `DescribeImage` response envelope `{"Response": {…}}` with fuzzed
//! contents, read through the snapshot reader's response path (the live
//! client will share this shape). Structure-aware: the fuzzer's bytes fill
//! the envelope's fields, so most inputs get past the outer syntax.
#![no_main]

use ecmguard::source::snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|parts: (&str, &str, u8)| {
    let (image_set, other, choice) = parts;
    let total = match choice % 4 {
        0 => "0".to_owned(),
        1 => "1".to_owned(),
        2 => format!("{}", u64::from(choice) * 1_000_003),
        _ => "null".to_owned(),
    };
    let envelope = match choice % 3 {
        0 => format!(
            r#"{{"Response":{{"TotalCount":{total},"ImageSet":{image_set},"RequestId":"r"}}}}"#
        ),
        1 => format!(r#"{{"Response":{{"Error":{other},"RequestId":"r"}}}}"#),
        _ => format!(
            r#"[{{"Response":{{"TotalCount":{total},"ImageSet":{image_set}}}}},{{"Response":{other}}}]"#
        ),
    };
    let _ = snapshot::read("response.json", envelope.as_bytes());
});

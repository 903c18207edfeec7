//! A `DescribeImage` response body as the live client receives it: parsed by
//! the client's own envelope parser, then typed image by image as `check`
//! does. Half the inputs are raw bytes; the other half fill a well-formed
//! envelope's fields, so most get past the outer syntax.
#![no_main]

use ecmguard::source::live::parse_response_for_fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, &str, &str, u8, &[u8])| {
    let (structured, image_set, other, choice, raw) = input;
    if !structured {
        let _ = parse_response_for_fuzzing(raw);
        return;
    }
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
            r#"{{"Response":{{"TotalCount":{total},"ImageSet":[{image_set}],"RequestId":{other}}}}}"#
        ),
    };
    let _ = parse_response_for_fuzzing(envelope.as_bytes());
});

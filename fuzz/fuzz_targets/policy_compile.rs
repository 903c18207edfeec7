//! Policy loading and validation on arbitrary UTF-8: `policy::compile` must
//! return a policy or located diagnostics, never panic or hang.
#![no_main]

use ecmguard::policy::{self, CompileOptions};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let options = CompileOptions {
        now: jiff::Timestamp::from_second(1_767_196_800).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        zone: ApiZone::default(),
        params: Vec::new(),
    };
    if let Err(diagnostics) = policy::compile(vec![SourceFile::new("fuzz.yaml", text)], &options) {
        // Rendering walks every span against the text: it must not panic either.
        for diagnostic in &diagnostics {
            let _ = format!("{diagnostic:?}");
        }
    }
});

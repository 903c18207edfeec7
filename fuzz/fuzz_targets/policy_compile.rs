//! Policy loading and validation on arbitrary UTF-8: `policy::compile` must
//! return a policy or located diagnostics, never panic or hang; every label
//! of every diagnostic (warnings too) lies inside the text, and every
//! diagnostic renders.
#![no_main]

use ecmguard::policy::{self, CompileOptions};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;
use libfuzzer_sys::fuzz_target;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

fuzz_target!(|text: &str| {
    let options = CompileOptions {
        now: jiff::Timestamp::from_second(1_767_196_800).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        zone: ApiZone::default(),
        params: Vec::new(),
    };
    let diagnostics = match policy::compile(vec![SourceFile::new("fuzz.yaml", text)], &options) {
        Ok(loaded) => loaded.warnings,
        Err(diagnostics) => diagnostics,
    };
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::none());
    for diagnostic in &diagnostics {
        // Every label's span lies inside the text and on character
        // boundaries: the source reads it back.
        let source = diagnostic.source_code();
        for label in diagnostic.labels().into_iter().flatten() {
            let end = label.offset() + label.len();
            assert!(
                end <= text.len()
                    && text.is_char_boundary(label.offset())
                    && text.is_char_boundary(end),
                "a label's span {}..{end} is not in the {}-byte text",
                label.offset(),
                text.len()
            );
            if let Some(source) = source {
                assert!(source.read_span(label.inner(), 1, 1).is_ok(), "a span does not read");
            }
        }
        // And the report as the terminal shows it renders (miette walks
        // every span against the text).
        let mut out = String::new();
        assert!(
            handler.render_report(&mut out, diagnostic).is_ok(),
            "a diagnostic does not render: {diagnostic:?}"
        );
    }
});

//! The project's other YAML inputs on arbitrary UTF-8: the config file
//! (`ecmguard.yaml`) and a param file must each give a value or located
//! diagnostics, never panic or hang.
#![no_main]

use std::path::Path;

use ecmguard::config;
use ecmguard::policy::inputs;
use ecmguard::source_text::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let file = SourceFile::new("ecmguard.yaml", text);
    if let Err(diagnostics) = config::parse(&file, Path::new("ecmguard.yaml")) {
        for diagnostic in &diagnostics {
            let _ = format!("{diagnostic:?}");
        }
    }
    let file = SourceFile::new("params.yaml", text);
    if let Err(diagnostics) = inputs::param_file(&file) {
        for diagnostic in &diagnostics {
            let _ = format!("{diagnostic:?}");
        }
    }
});

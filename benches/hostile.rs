//! Hostile and malformed policies, timed: the work the tests bound by the
//! tool's own limits (the YAML parser's budgets, the size cap, the UTF-8
//! check) and check by the diagnostic each limit gives, measured here
//! instead of with a wall-clock limit in a test. Each is quoted against
//! loading the shipped pack on the same machine in the same run.
//!
//! ```sh
//! cargo bench --bench hostile -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use ecmguard::policy::{self, CompileOptions};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;

fn options() -> CompileOptions {
    CompileOptions {
        now: jiff::Timestamp::from_second(1_767_196_800).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        zone: ApiZone::default(),
        params: Vec::new(),
    }
}

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `(name, text)` of every `*.yaml` in `dir` but the policy tests.
fn yaml_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_string_lossy().into_owned();
            (name.ends_with(".yaml") && !name.ends_with(".test.yaml"))
                .then(|| {
                    Some((
                        name,
                        String::from_utf8_lossy(&std::fs::read(&path).ok()?).into_owned(),
                    ))
                })
                .flatten()
        })
        .collect();
    files.sort();
    files
}

fn compile(files: &[(String, String)], options: &CompileOptions) {
    let sources = files
        .iter()
        .map(|(name, text)| SourceFile::new(name.as_str(), text.as_str()))
        .collect();
    black_box(policy::compile(sources, options).is_ok());
}

fn bench_hostile(c: &mut Criterion) {
    let options = options();
    let pack = yaml_files(&repository("policies"));
    let corpus = yaml_files(&repository("tests/fixtures/malformed"));
    let one = |name: &str| -> Vec<(String, String)> {
        corpus
            .iter()
            .filter(|(file, _)| file == name)
            .cloned()
            .collect()
    };
    let flow = vec![(
        "deep-flow.yaml".to_owned(),
        format!("rules: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
    )];
    let mut group = c.benchmark_group("hostile");
    group.bench_function("shipped_pack (baseline)", |b| {
        b.iter(|| compile(&pack, &options))
    });
    group.bench_function("alias_bomb", |b| {
        let files = one("syntax-alias-bomb.yaml");
        b.iter(|| compile(&files, &options))
    });
    group.bench_function("deep_block_nesting", |b| {
        let files = one("syntax-deep-block-nesting.yaml");
        b.iter(|| compile(&files, &options))
    });
    group.bench_function("deep_flow_nesting_10000", |b| {
        b.iter(|| compile(&flow, &options))
    });
    group.bench_function("malformed_corpus_each_file", |b| {
        b.iter(|| {
            for file in &corpus {
                compile(std::slice::from_ref(file), &options);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_hostile);
criterion_main!(benches);

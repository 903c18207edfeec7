//! Criterion benchmarks at scale: loading and validating a generated
//! 1,000-rule policy set; evaluating 10k, 100k and 1M generated images
//! against the shipped pack; rendering each report format for 100k images
//! with 10% violating.
//!
//! ```sh
//! cargo bench --bench scale -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench scale -- evaluate/100000      # one benchmark
//! ```

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecmguard::eval::{EvalOptions, FailOn, evaluate};
use ecmguard::generate::{GenOptions, write_snapshot};
use ecmguard::image::ImageSet;
use ecmguard::policy::{self, CompileOptions, PolicySet};
use ecmguard::report::human::Style;
use ecmguard::report::{Report, RunInfo};
use ecmguard::source::Provenance;
use ecmguard::source::snapshot::{self, Shape};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;

type Render = fn(&Report<'_>, &mut dyn Write) -> std::io::Result<()>;

/// Every report format, one line each.
const FORMATS: &[(&str, Render)] = &[
    ("human", |r, out| {
        ecmguard::report::human::render(r, out, Style::default())
    }),
    ("json", ecmguard::report::json::render),
    ("sarif", ecmguard::report::sarif::render),
    ("junit", ecmguard::report::junit::render),
    ("markdown", |r, out| {
        ecmguard::report::markdown::render(r, out, ecmguard::report::DEFAULT_MAX_FINDINGS)
    }),
    ("html", ecmguard::report::html::render),
    ("csv", ecmguard::report::csv::render),
    ("github", |r, out| {
        ecmguard::report::github::render(r, out, ecmguard::report::DEFAULT_MAX_FINDINGS)
    }),
];

fn options(now: jiff::Timestamp) -> CompileOptions {
    CompileOptions {
        now,
        zone: ApiZone::default(),
        params: Vec::new(),
    }
}

fn shipped_pack(now: jiff::Timestamp) -> PolicySet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    match policy::load(&[dir], &options(now)) {
        Ok(loaded) => loaded.policy,
        Err(problems) => panic!("the shipped pack does not load: {problems:?}"),
    }
}

fn generated(count: usize, violating: f64) -> ImageSet {
    let options = GenOptions {
        count,
        violating,
        ..GenOptions::default()
    };
    let mut bytes = Vec::new();
    write_snapshot(&options, &mut bytes).expect("generate");
    match snapshot::load_bytes(
        "bench.json",
        &bytes,
        &ApiZone::default(),
        snapshot::Completeness::Proven,
    ) {
        Ok(loaded) => loaded.images,
        Err(error) => panic!("generated snapshot does not load: {error:?}"),
    }
}

/// A policy file of `count` rules using every kind of matcher, params,
/// templates and waivers, as a large organisation's pack might.
fn thousand_rules(count: usize) -> String {
    let mut text = String::from(
        "params:\n  max_age: { default: 180d }\n  platforms: { default: [Ubuntu, CentOS, TencentOS] }\n  pattern: { default: '^[a-z][a-z0-9-]*$' }\nrules:\n",
    );
    let bodies = [
        "    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: \"${max_age}\" } }\n",
        "    assert: { Platform: { in: \"${platforms}\" } }\n    message: \"{ImageId} runs {Platform}\"\n",
        "    where: { OsType: { eq: linux, ignore_case: true } }\n    assert: { IsSupportCloudInit: true }\n",
        "    assert: { ImageName: { matches: \"${pattern}\", not_matches: 'tmp|test' } }\n",
        "    assert: { any: [ { ImageState: NORMAL }, { not: { ImageSize: { gt: 100 } } } ] }\n",
        "    assert: { ImageName: { glob: 'web-*-[0-9]*', ignore_case: true } }\n",
        "    where: { ImageCreateTime: { gte: 2020-01-01 } }\n    assert: { SrcImage.Region: { starts_with: ap-, exists: true } }\n",
        "    expect: { count: { gte: 1 }, unique: [ImageName, ImageOsName] }\n    message: \"{count} images share {value}\"\n",
    ];
    for i in 0..count {
        text.push_str(&format!(
            "  - id: rule-{i:04}\n    title: Generated rule {i}\n    severity: {}\n    remediation: Fix it.\n    tags: [generated]\n{}",
            ["error", "warning", "info"][i % 3],
            bodies[i % bodies.len()]
        ));
    }
    text.push_str("waivers:\n");
    for i in (0..count).step_by(50) {
        text.push_str(&format!(
            "  - rules: [rule-{i:04}]\n    images: [img-00000001]\n    reason: Tracked in OPS-{i}\n    expires: 2030-01-01\n"
        ));
    }
    text
}

fn bench_policy(c: &mut Criterion) {
    let now = GenOptions::default().now;
    let text = thousand_rules(1000);
    let options = options(now);
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("load_validate_1000_rules", |b| {
        b.iter(|| {
            let file = SourceFile::new("rules.yaml", text.as_str());
            let loaded = policy::compile(vec![file], &options);
            black_box(
                loaded
                    .map(|l| l.policy.rules.len())
                    .map_err(|problems| problems.len()),
            )
        })
    });
    group.finish();
}

fn bench_evaluate(c: &mut Criterion) {
    let now = GenOptions::default().now;
    let pack = shipped_pack(now);
    let mut group = c.benchmark_group("evaluate");
    for count in [10_000, 100_000, 1_000_000] {
        let images = generated(count, 0.1);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &images, |b, images| {
            b.iter(|| {
                let evaluation = evaluate(
                    &pack,
                    images,
                    EvalOptions {
                        now,
                        baseline: None,
                        selection: None,
                        history: None,
                    },
                );
                black_box(evaluation.findings.len())
            })
        });
    }
    group.finish();
}

fn bench_render(c: &mut Criterion) {
    let now = GenOptions::default().now;
    let pack = shipped_pack(now);
    let images = generated(100_000, 0.1);
    let evaluation = evaluate(
        &pack,
        &images,
        EvalOptions {
            now,
            baseline: None,
            selection: None,
            history: None,
        },
    );
    let report = Report {
        policy: &pack,
        images: &images,
        run: RunInfo {
            now,
            zone: ApiZone::default(),
            source: Provenance::Snapshot {
                path: "bench.json".into(),
                shape: Shape::Ecmguard,
                assumed_complete: false,
                fetched_at: None,
                endpoint: None,
                filters: None,
            },
            fail_on: FailOn::Error,
            verdict: ecmguard::eval::Verdict::Fail,
            exit_code: 1,
            duration_seconds: 0.0,
            duplicates_dropped: 0,
            baseline: None,
            root: None,
        },
        evaluation,
    };
    let mut group = c.benchmark_group("render_100k");
    group.throughput(Throughput::Elements(report.evaluation.findings.len() as u64));
    for (name, render) in FORMATS {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut out = std::io::sink();
                render(&report, &mut out).expect("render");
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short by default: the machine is shared. Override on the command line.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_policy, bench_evaluate, bench_render
}
criterion_main!(benches);

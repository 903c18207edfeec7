//! Policies: YAML files to a typed, compiled `PolicySet` that keeps source spans.
//!
//! Two steps, as in cargo-deny: *shape* (YAML to a spanned node tree, `yaml`)
//! and *meaning* (`validate`, `matcher`, `params`, `template`), which reports
//! every problem of every file in one run and compiles what is valid.

pub(crate) mod context;
pub mod duration;
pub mod inputs;
pub mod matcher;
pub mod model;
pub mod operator;
pub(crate) mod params;
pub mod pattern;
pub(crate) mod read;
pub(crate) mod template;
pub(crate) mod validate;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use context::CompileOptions;
pub use model::PolicySet;

use crate::diag::{Code, Diag};
use crate::source_text::SourceFile;
use context::Cx;
use read::Read;

/// The policy directory read when no `--policy` (and no `policy:` in the
/// config file) is given.
pub const DEFAULT_POLICY_DIR: &str = "policies";

/// A compiled policy set and the warnings found while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub policy: PolicySet,
    pub warnings: Vec<Diag>,
}

/// The policy files named by `--policy` arguments: files as given, and the
/// `*.yaml`/`*.yml` files under directories, recursively, in sorted order,
/// skipping `*.test.yaml`/`*.test.yml` and hidden entries.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diag>> {
    discover_with(paths, |name| !is_test_file(name))
}

/// Test files (`*.test.yaml`/`*.test.yml`) under the given paths.
pub fn discover_tests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diag>> {
    discover_with(paths, is_test_file)
}

fn is_test_file(name: &str) -> bool {
    name.ends_with(".test.yaml") || name.ends_with(".test.yml")
}

fn discover_with(
    paths: &[PathBuf],
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, Vec<Diag>> {
    let mut found = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = found.len();
                if let Err(err) = walk(path, &keep, &mut found) {
                    diags.push(Diag::error(
                        Code::FileRead,
                        format!("cannot read directory {}: {err}", path.display()),
                    ));
                } else if found.len() == before {
                    diags.push(
                        Diag::error(
                            Code::NoPolicyFiles,
                            format!("{} holds no matching *.yaml or *.yml file", path.display()),
                        )
                        .with_help("point --policy at a policy file or a directory of them"),
                    );
                }
            }
            Ok(_) => found.push(path.clone()),
            Err(err) => diags.push(
                Diag::error(
                    Code::FileRead,
                    format!("cannot read {}: {err}", path.display()),
                )
                .with_help("check the --policy path; without --policy, ecmguard reads ./policies"),
            ),
        }
    }
    if diags.is_empty() {
        Ok(found)
    } else {
        Err(diags)
    }
}

fn walk(dir: &Path, keep: &impl Fn(&str) -> bool, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, keep, found)?;
        } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && keep(&name) {
            found.push(path);
        }
    }
    Ok(())
}

/// Read a policy, test, param or config file: a regular file (a FIFO or
/// device is refused, never waited on), within the size limit, then UTF-8.
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diag> {
    let name = path.display().to_string();
    let limit = yaml::MAX_FILE_BYTES as u64;
    let bytes = crate::input::read_capped(path, limit).map_err(|e| match e {
        crate::input::ReadError::TooLarge { size, limit } => Diag::error(
            Code::FileTooLarge,
            format!("{name} is {size} bytes; policy, test, param and config files are limited to {limit} bytes"),
        )
        .with_help("split the policies into several files in a --policy directory"),
        other => Diag::error(Code::FileRead, format!("cannot read {name}: {other}")).with_help(
            "policy, test, param and config files are regular files: not directories, FIFOs or devices",
        ),
    })?;
    source_from_bytes(name, bytes)
}

/// Check UTF-8 and wrap as a source file, pointing at the first bad byte.
pub fn source_from_bytes(name: String, bytes: Vec<u8>) -> Result<Arc<SourceFile>, Diag> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&err.as_bytes()[..valid]).into_owned();
            let at = SourceFile::new(name.clone(), prefix).line_col(valid);
            Err(Diag::error(
                Code::InvalidUtf8,
                format!(
                    "{name}:{}:{}: the file is not valid UTF-8 (byte offset {valid})",
                    at.line, at.column
                ),
            )
            .with_help("save the file as UTF-8"))
        }
    }
}

/// Load and compile policy files from disk. The error holds every problem
/// found (errors first, then the warnings found beside them).
pub fn load(paths: &[PathBuf], options: &CompileOptions) -> Result<Loaded, Vec<Diag>> {
    load_files(&discover(paths)?, options)
}

/// [`load`] for files already found by [`discover`].
pub fn load_files(files: &[PathBuf], options: &CompileOptions) -> Result<Loaded, Vec<Diag>> {
    let mut sources = Vec::with_capacity(files.len());
    let mut diags = Vec::new();
    for path in files {
        match read_source(path) {
            Ok(source) => sources.push(source),
            Err(diag) => diags.push(diag),
        }
    }
    match compile(sources, options) {
        Ok(loaded) if diags.is_empty() => Ok(loaded),
        Ok(loaded) => Err(diags.into_iter().chain(loaded.warnings).collect()),
        Err(problems) => {
            // A file that could not be read explains the missing rules: "no
            // rule" on top of it would only be noise.
            let unreadable = !diags.is_empty();
            diags.extend(
                problems
                    .into_iter()
                    .filter(|d| !(unreadable && d.code == Code::NoRules)),
            );
            Err(diags)
        }
    }
}

/// Compile policy sources. All problems of all files are reported together.
pub fn compile(files: Vec<Arc<SourceFile>>, options: &CompileOptions) -> Result<Loaded, Vec<Diag>> {
    let Some(first) = files.first().cloned() else {
        return Err(vec![validate::no_rules(&files, None)]);
    };
    let mut cx = Cx::new(options, first);
    let mut roots = Vec::with_capacity(files.len());
    for file in &files {
        cx.file = file.clone();
        match yaml::parse(file) {
            Ok(root) => roots.push((file.clone(), root)),
            Err(diag) => cx.push(diag),
        }
    }

    // Params are global to the set, so every file's are defined first.
    let mut params = Vec::new();
    let mut param_origins = std::collections::HashMap::new();
    let mut sections = Vec::with_capacity(roots.len());
    for (file, root) in &roots {
        cx.file = file.clone();
        let found = validate::sections(&mut cx, root);
        if let Some(node) = found.params {
            validate::define_params(&mut cx, node, &mut params, &mut param_origins);
        }
        sections.push((file.clone(), found));
    }
    // Worked out from the raw documents, so a mistake in one rule neither
    // hides a duplicate nor makes a param look unused.
    let declared_ids: Vec<validate::DeclaredId<'_>> = roots
        .iter()
        .flat_map(|(file, root)| validate::declared_rule_ids(file, root))
        .collect();
    for diag in validate::duplicate_rule_ids(&declared_ids) {
        if let (Some(file), Some(span)) = (diag.file().cloned(), diag.primary_span()) {
            cx.note_duplicate_id(&file, span);
        }
        cx.push(diag);
    }
    let declared: Vec<String> = declared_ids.iter().map(|d| d.id.to_owned()).collect();
    let mut referenced = std::collections::HashSet::new();
    for (_, root) in &roots {
        validate::referenced_params(root, &mut referenced);
    }

    let mut rules = Vec::new();
    for (file, found) in &sections {
        cx.file = file.clone();
        if let Some(node) = found.rules {
            validate::rules(&mut cx, node, &mut rules);
        }
    }
    // Waivers last: they may name rules of any file.
    let mut waivers = Vec::new();
    for (file, found) in &sections {
        cx.file = file.clone();
        if let Some(node) = found.waivers {
            validate::waivers(&mut cx, node, &rules, &declared, &mut waivers);
        }
    }
    params::finish(&mut cx, &params, &referenced);

    let mut diags = std::mem::take(&mut cx.diags);
    // Only when nothing else is wrong: a broken file explains its missing rules.
    if declared.is_empty() && rules.is_empty() && !diags.iter().any(Diag::is_error) {
        let empty = sections
            .iter()
            .find_map(|(file, found)| found.rules.map(|node| (file, node.span)));
        diags.push(validate::no_rules(&files, empty));
    }
    if diags.iter().any(Diag::is_error) {
        errors_first(&mut diags, &files);
        return Err(bounded(diags, options, &roots));
    }
    Ok(Loaded {
        policy: PolicySet {
            files,
            rules,
            waivers,
            params,
        },
        warnings: bounded(diags, options, &roots),
    })
}

/// Errors first, each group in file order, then by position.
fn errors_first(diags: &mut [Diag], files: &[Arc<SourceFile>]) {
    let index: std::collections::HashMap<*const SourceFile, usize> = files
        .iter()
        .enumerate()
        .map(|(i, file)| (Arc::as_ptr(file), i))
        .collect();
    diags.sort_by_cached_key(|d| {
        (
            std::cmp::Reverse(d.level),
            d.file()
                .and_then(|f| index.get(&Arc::as_ptr(f)).copied())
                .unwrap_or(usize::MAX),
            d.primary_span().map_or(0, |s| s.start),
        )
    });
}

/// What a compile prints, bounded: each file's diagnostics capped (a param
/// file at as few as its own reader shows, `inputs`; a policy file at
/// more), and long values clipped where they are quoted.
fn bounded(
    diags: Vec<Diag>,
    options: &CompileOptions,
    roots: &[(Arc<SourceFile>, yaml::Node)],
) -> Vec<Diag> {
    let mut long = Vec::new();
    for (_, root) in roots {
        root.long_strings(&mut long);
    }
    for input in &options.params {
        let texts: Vec<&str> = match &input.value {
            inputs::Given::Text(text) => vec![text.as_str()],
            inputs::Given::List(items) => items.iter().map(|(text, _)| text.as_str()).collect(),
        };
        long.extend(
            texts
                .into_iter()
                .filter(|t| t.chars().nth(crate::text::MAX_VALUE_CHARS).is_some()),
        );
    }
    crate::diag::clip_values(cap(diags, options), &long)
}

/// What each file shows at most: a param file as few as its own reader
/// lets it (`inputs`), a policy file more (`diag::cap_per_file`).
fn cap(diags: Vec<Diag>, options: &CompileOptions) -> Vec<Diag> {
    let param_files: std::collections::HashSet<*const SourceFile> = options
        .params
        .iter()
        .filter(|input| matches!(input.source, model::ParamSource::ParamFile { .. }))
        .map(|input| Arc::as_ptr(&input.file))
        .collect();
    crate::diag::cap_per_file(diags, |file| {
        if param_files.contains(&std::ptr::from_ref(file)) {
            crate::diag::SMALL_FILE
        } else {
            crate::diag::LARGE_FILE
        }
    })
}

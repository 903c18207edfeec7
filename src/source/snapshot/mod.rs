//! Snapshot files: reading every accepted shape into images, and the schema
//! of ours. A snapshot that says it is partial is refused, never judged; what
//! went wrong is a typed [`SnapshotError`] (unreadable, malformed, incomplete,
//! or an API error saved in place of images).
//!
//! Accepted shapes, told apart by their first keys:
//! ours `{"schema": "ecmguard/snapshot/v1", …, "ImageSet": […]}`, a response
//! `{"Response": {…}}`, an array of responses (pages), tccli's
//! `{"TotalCount", "ImageSet", "RequestId"}`, and a bare array of images.

use std::cell::RefCell;
use std::fmt;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use crate::diag::{Code, Diag};
use crate::image::{Image, ImageKey, ImageSet, read_image};
use crate::source::Provenance;
use crate::source_text::{SourceFile, Span};
use crate::time::ApiZone;

mod split;

/// Why a snapshot cannot be judged. Each holds the diagnostic that says so.
#[derive(Debug)]
pub enum SnapshotError {
    /// The file could not be read at all.
    Unreadable(Diag),
    /// Not JSON, none of the accepted shapes, or a field of the wrong type.
    Malformed(Diag),
    /// The snapshot itself says it is not the complete result set.
    Incomplete(Diag),
    /// The snapshot holds an API error response in place of images.
    ApiError(Diag),
}

impl SnapshotError {
    /// The diagnostic that explains the error.
    pub fn diag(&self) -> &Diag {
        match self {
            SnapshotError::Unreadable(d)
            | SnapshotError::Malformed(d)
            | SnapshotError::Incomplete(d)
            | SnapshotError::ApiError(d) => d,
        }
    }

    pub fn into_diag(self) -> Diag {
        match self {
            SnapshotError::Unreadable(d)
            | SnapshotError::Malformed(d)
            | SnapshotError::Incomplete(d)
            | SnapshotError::ApiError(d) => d,
        }
    }
}

/// The schema tag of the snapshots `ecmguard fetch` writes.
pub const SNAPSHOT_SCHEMA: &str = "ecmguard/snapshot/v1";

/// Files up to this size get a source snippet in JSON error messages.
const SNIPPET_LIMIT: usize = 16 * 1024 * 1024;

/// Lines longer than this are not quoted in JSON error messages.
const SNIPPET_LINE_LIMIT: usize = 1024;

/// Which accepted shape a snapshot had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Ecmguard,
    Response,
    Pages,
    Tccli,
    ImageArray,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Ecmguard => "ecmguard snapshot",
            Shape::Response => "DescribeImage response",
            Shape::Pages => "array of DescribeImage responses",
            Shape::Tccli => "tccli output",
            Shape::ImageArray => "array of images",
        })
    }
}

/// What a snapshot held, before de-duplication.
#[derive(Debug)]
pub struct Snapshot {
    pub shape: Shape,
    pub images: Vec<Image>,
    /// `TotalCount` / `total_count` when the snapshot states one.
    pub total_count: Option<u64>,
    /// Provenance recorded by `ecmguard fetch`.
    pub fetched_at: Option<String>,
    pub endpoint: Option<String>,
    pub filters: Option<serde_json::Value>,
    /// The `usage` section of an ecmguard snapshot (`fetch --usage`), as read; checked by
    /// [`usage`] when the run reads usage.
    pub usage: Option<crate::usage::Section>,
}

/// A snapshot read into a complete, de-duplicated image set.
#[derive(Debug)]
pub struct Loaded {
    pub images: ImageSet,
    pub provenance: Provenance,
    /// The snapshot's `usage` section, if it has one (see [`usage`]).
    pub usage: Option<crate::usage::Section>,
}

/// The usage a snapshot saved, checked as a live listing is: both sets present with their
/// totals, every item with its id, as many distinct items as each total. Without a section
/// (a snapshot fetched without `--usage`, or a shape that cannot hold one) the run cannot
/// know usage: exit 3, saying what reads it (`needed_by`) and to fetch it with `--usage`.
pub fn usage(
    name: &str,
    section: Option<crate::usage::Section>,
    needed_by: &str,
) -> Result<crate::usage::Usage, SnapshotError> {
    use crate::usage::{SectionError, UsageError};
    let Some(section) = section else {
        return Err(SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotUsageMissing,
                format!("{name} holds no usage (instances and modules), needed by {needed_by}: no image can be judged by what uses it"),
            )
            .with_help("fetch it with --usage (`ecmguard fetch --usage -o FILE`; fetch also saves usage when its --policy reads it), or check live"),
        ));
    };
    section.check().map(crate::usage::Usage::new).map_err(|e| match e {
        SectionError::Missing(key) => SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotIncomplete,
                format!("{name}: the usage section has no `{key}`, so whether it holds every instance and module cannot be established"),
            )
            .with_help("fetch it again with `ecmguard fetch --usage -o FILE`, which records both totals"),
        ),
        SectionError::Set(error @ UsageError::WithoutId { .. }) => SnapshotError::Malformed(
            Diag::error(
                Code::SnapshotImageWithoutId,
                format!("{name}: in the usage section, {error}: it cannot be told apart from another, so no count can be taken"),
            )
            .with_help("every instance has an InstanceId and every module a ModuleId: the file was edited or is not what `ecmguard fetch --usage` wrote"),
        ),
        SectionError::Set(error @ UsageError::Incomplete { .. }) => SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotIncomplete,
                format!("{name}: the usage section holds {error}; it is not the complete listing"),
            )
            .with_help("fetch it again with `ecmguard fetch --usage -o FILE`"),
        ),
    })
}

/// Read the snapshot `name` (a path, or `-` for `stdin`), build the image set
/// with times read in `zone`, and refuse it if it is not complete. This is
/// the whole of `check --snapshot` before evaluation.
///
/// The input is parsed as it is read, never held whole: at peak a check holds
/// the images and a read buffer, not the file's bytes as well (which, for a
/// large account, would double its memory).
pub fn load(name: &str, zone: &ApiZone, stdin: &mut dyn Read) -> Result<Loaded, SnapshotError> {
    let snapshot = if name == "-" {
        read_from(name, stdin)?
    } else {
        let mut file = std::fs::File::open(name).map_err(|e| read_failure(name, &e))?;
        // A regular file can be read twice: first the fast path, which hands
        // each image's bytes to the in-memory parser; anything it is unsure
        // of is read again, from the start, by the exact streaming parser.
        if file.metadata().is_ok_and(|meta| meta.is_file()) {
            if let Ok(Some(snapshot)) = read_fast(name, &file) {
                return finish(name, snapshot, zone);
            }
            file.seek(SeekFrom::Start(0))
                .map_err(|e| read_failure(name, &e))?;
        }
        // A file can be read again for an error snippet, so nothing of it is
        // kept while parsing.
        stream(name, file, false).map_err(|err| {
            let bytes = std::fs::metadata(name)
                .ok()
                .filter(|meta| meta.len() <= SNIPPET_LIMIT as u64)
                .and_then(|_| std::fs::read(name).ok());
            err.into_failure(name, bytes.as_deref())
        })?
    };
    finish(name, snapshot, zone)
}

/// [`load`] for a snapshot already in memory (tests, benchmarks, fuzzing).
pub fn load_bytes(name: &str, bytes: &[u8], zone: &ApiZone) -> Result<Loaded, SnapshotError> {
    finish(name, read(name, bytes)?, zone)
}

fn read_failure(name: &str, err: &std::io::Error) -> SnapshotError {
    SnapshotError::Unreadable(
        Diag::error(
            Code::FileRead,
            format!("cannot read snapshot {name}: {err}"),
        )
        .with_help("create one with `ecmguard fetch -o FILE`, or pass `-` to read stdin"),
    )
}

fn finish(name: &str, snapshot: Snapshot, zone: &ApiZone) -> Result<Loaded, SnapshotError> {
    let Snapshot {
        shape,
        images,
        total_count,
        fetched_at,
        endpoint,
        filters,
        usage,
    } = snapshot;
    if let Some(position) = images.iter().position(|image| image.id().is_none()) {
        return Err(SnapshotError::Malformed(
            Diag::error(
                Code::SnapshotImageWithoutId,
                format!(
                    "{name}: image {} of the {shape} has no `ImageId`; images without one cannot be told apart, de-duplicated or baselined",
                    position + 1
                ),
            )
            .with_help("every DescribeImage image has an ImageId: the file was edited or is not a DescribeImage result"),
        ));
    }
    let images = ImageSet::new(images, zone);
    check_total(name, shape, total_count, images.len())?;
    Ok(Loaded {
        images,
        provenance: Provenance::Snapshot {
            path: name.to_owned(),
            shape,
            fetched_at,
            endpoint,
            filters,
        },
        usage,
    })
}

/// The fast path for files: [`split`] cuts a top-level object into its
/// `ImageSet` (parsed one image at a time) and the rest (the envelope), which
/// the exact parser reads to decide the shape. `None`: not a shape the fast
/// path handles, or anything it is unsure of; read the input the exact way.
/// Public so that tests and the fuzz target can check it agrees with [`read`].
pub fn read_fast(name: &str, reader: impl Read) -> std::io::Result<Option<Snapshot>> {
    let Some(parts) = split::split_top_object(SkipBom::new(reader))? else {
        return Ok(None);
    };
    let Ok(mut snapshot) = read(name, &parts.envelope) else {
        return Ok(None);
    };
    if !matches!(snapshot.shape, Shape::Ecmguard | Shape::Tccli) {
        return Ok(None);
    }
    snapshot.images = parts.images;
    Ok(Some(snapshot))
}

/// Parse a snapshot held in memory. `name` is how the user named it (`-` for stdin).
pub fn read(name: &str, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = parse(&mut de).map_err(|err| json_error(name, Some(bytes), &err))?;
    top.into_snapshot(name)
}

/// Parse a snapshot as it is read from `reader`, holding only a read buffer
/// (and, for error snippets, the first bytes of a small input).
pub fn read_from(name: &str, reader: impl Read) -> Result<Snapshot, SnapshotError> {
    stream(name, reader, true).map_err(|err| err.into_failure(name, None))
}

/// Why a streamed read failed, before it is turned into diagnostics.
enum StreamError {
    Snapshot(SnapshotError),
    Io(serde_json::Error),
    /// A JSON error, with the recorded input if it was kept.
    Json(serde_json::Error, Option<Vec<u8>>),
}

impl StreamError {
    /// `reread` is the input read again for a snippet, when not recorded.
    fn into_failure(self, name: &str, reread: Option<&[u8]>) -> SnapshotError {
        match self {
            StreamError::Snapshot(failure) => failure,
            StreamError::Io(err) => read_failure(name, &std::io::Error::other(err)),
            StreamError::Json(err, recorded) => {
                json_error(name, recorded.as_deref().or(reread), &err)
            }
        }
    }
}

fn stream(name: &str, reader: impl Read, record: bool) -> Result<Snapshot, StreamError> {
    let recording = Rc::new(RefCell::new(Recording {
        bytes: Vec::new(),
        overflowed: !record,
    }));
    let recorder = Recorder {
        inner: SkipBom::new(reader),
        recording: Rc::clone(&recording),
    };
    // BufReader outside the recorder: the parser pulls bytes from the
    // buffer one at a time, and the recorder sees whole chunks.
    let mut de =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(READ_CHUNK, recorder));
    match parse(&mut de) {
        Ok(top) => top.into_snapshot(name).map_err(StreamError::Snapshot),
        Err(err) if err.is_io() => Err(StreamError::Io(err)),
        Err(err) => {
            let recording = recording.take();
            let bytes = (!recording.overflowed).then_some(recording.bytes);
            Err(StreamError::Json(err, bytes))
        }
    }
}

fn parse<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> serde_json::Result<Top> {
    let top = TopSeed.deserialize(&mut *de)?;
    de.end()?;
    Ok(top)
}

/// A UTF-8 byte-order mark: not JSON, but some editors start a file with one.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Passes a reader through, without a byte-order mark at its start.
struct SkipBom<R> {
    inner: R,
    /// The first bytes, read to look for a mark, not yet handed on.
    head: Vec<u8>,
    checked: bool,
}

impl<R: Read> SkipBom<R> {
    fn new(inner: R) -> Self {
        SkipBom {
            inner,
            head: Vec::new(),
            checked: false,
        }
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            self.checked = true;
            let mut head = [0u8; 3];
            let mut filled = 0;
            while filled < head.len() {
                match self.inner.read(&mut head[filled..])? {
                    0 => break,
                    n => filled += n,
                }
            }
            if &head[..filled] != BOM {
                self.head = head[..filled].to_vec();
            }
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// How much the streaming reader asks the OS for at a time.
const READ_CHUNK: usize = 256 * 1024;

/// The bytes read so far, while they fit under `SNIPPET_LIMIT`
/// (`overflowed` from the start when nothing is to be kept).
#[derive(Default)]
struct Recording {
    bytes: Vec<u8>,
    overflowed: bool,
}

/// Passes reads through, keeping a copy of a small input so that a JSON error
/// can show the offending line; a large input is not kept (and no snippet
/// is shown for it, as for in-memory input over the limit).
struct Recorder<R> {
    inner: R,
    recording: Rc<RefCell<Recording>>,
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut recording = self.recording.borrow_mut();
        if !recording.overflowed {
            if recording.bytes.len() + n > SNIPPET_LIMIT {
                recording.overflowed = true;
                recording.bytes = Vec::new();
            } else {
                recording.bytes.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// Check that a snapshot which states a total holds exactly that many distinct
/// images. `distinct` is the count after de-duplication by `ImageId`.
fn check_total(
    name: &str,
    shape: Shape,
    total_count: Option<u64>,
    distinct: usize,
) -> Result<(), SnapshotError> {
    match total_count {
        Some(total) if total != distinct as u64 => Err(SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotIncomplete,
                format!(
                    "{name}: the {shape} holds {} but its TotalCount is {total}; it is not the complete result set",
                    crate::text::count(distinct as u64, "distinct image", "distinct images")
                ),
            )
            .with_help("fetch every page with `ecmguard fetch -o FILE` (or save all pages) and check that file"),
        )),
        _ => Ok(()),
    }
}

fn json_error(name: &str, bytes: Option<&[u8]>, err: &serde_json::Error) -> SnapshotError {
    let (line, column) = (err.line(), err.column());
    let message = strip_position(&err.to_string());
    let mut diag = Diag::error(
        Code::SnapshotJson,
        format!("{name}:{line}:{column}: invalid snapshot: {message}"),
    )
    .with_help(if err.is_eof() {
        "the snapshot ends early: it was cut off; fetch it again".to_owned()
    } else {
        "a snapshot is JSON as `ecmguard fetch` writes it, or a DescribeImage response, pages, tccli output, or an array of images".to_owned()
    });
    if let Some(bytes) = bytes
        && bytes.len() <= SNIPPET_LIMIT
    {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        // A recording can end inside a character; show the valid prefix.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        let file = SourceFile::new(name, text);
        let line_start = file.offset_of(crate::source_text::LineCol { line, column: 1 });
        // A minified snapshot is one long line: quoting it would flood the
        // terminal, and the line and column in the message say enough.
        let line_len = |start: usize| text[start..].find('\n').unwrap_or(text.len() - start);
        if let Some(start) = line_start.filter(|&start| line_len(start) <= SNIPPET_LINE_LIMIT) {
            let mut offset = (start + column.saturating_sub(1)).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            diag = diag.at(&Arc::clone(&file), Span::new(offset, 0), "here");
        }
    }
    SnapshotError::Malformed(diag)
}

/// serde_json appends " at line L column C"; we show the position up front.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn shape_error(name: &str, message: impl Into<String>) -> SnapshotError {
    SnapshotError::Malformed(Diag::error(Code::SnapshotShape, format!("{name}: {}", message.into()))
        .with_help("accepted: an ecmguard snapshot, a DescribeImage response {\"Response\": …}, an array of responses, tccli output {\"TotalCount\", \"ImageSet\"}, or an array of images"))
}

// ---------------------------------------------------------------------------

/// One `{"Response": {…}}` page.
#[derive(Debug, Default)]
struct Page {
    total_count: Option<u64>,
    /// Whether `ImageSet` was there at all (`null` is there: an empty page).
    has_image_set: bool,
    images: Vec<Image>,
    /// An `Error` key, in whatever shape it came.
    error: Option<ApiError>,
}

/// What a page's `Error` said, read loosely: any `Error` at all means the
/// request failed, whether or not it has a readable `Code`.
#[derive(Debug, Default)]
struct ApiError {
    code: String,
    message: String,
}

impl ApiError {
    fn from_raw(raw: &RawValue) -> ApiError {
        #[derive(serde::Deserialize)]
        struct Shaped {
            #[serde(rename = "Code", default)]
            code: Option<serde_json::Value>,
            #[serde(rename = "Message", default)]
            message: Option<serde_json::Value>,
        }
        let text = |v: Option<serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        match serde_json::from_str::<Shaped>(raw.get()) {
            Ok(shaped) => ApiError {
                code: text(shaped.code),
                message: text(shaped.message),
            },
            // A string, a number, a list: quote (the start of) it as the message.
            Err(_) => ApiError {
                code: String::new(),
                message: raw.get().chars().take(200).collect(),
            },
        }
    }
}

#[derive(Debug)]
enum Top {
    /// An object with top-level keys.
    Object(Box<TopObject>),
    Pages(Vec<Page>),
    Images(Vec<Image>),
    EmptyArray,
}

#[derive(Debug, Default)]
struct TopObject {
    schema: Option<String>,
    response: Option<Page>,
    image_set: Option<Option<Vec<Image>>>,
    total_count: Option<u64>,
    tccli_total: Option<u64>,
    request_id: bool,
    fetched_at: Option<String>,
    endpoint: Option<String>,
    filters: Option<serde_json::Value>,
    usage: Option<crate::usage::Section>,
}

impl Top {
    fn into_snapshot(self, name: &str) -> Result<Snapshot, SnapshotError> {
        let bare = |shape, images, total_count| Snapshot {
            shape,
            images,
            total_count,
            fetched_at: None,
            endpoint: None,
            filters: None,
            usage: None,
        };
        match self {
            Top::EmptyArray => Ok(bare(Shape::ImageArray, Vec::new(), None)),
            Top::Images(images) => Ok(bare(Shape::ImageArray, images, None)),
            Top::Pages(pages) => {
                let mut total = None;
                let mut images = Vec::new();
                for (index, page) in pages.into_iter().enumerate() {
                    if let Some(error) = page.error {
                        return Err(api_error(name, &error));
                    }
                    unknown_completeness(name, &page, &format!("page {}", index + 1))?;
                    match (total, page.total_count) {
                        (Some(a), Some(b)) if a != b => {
                            return Err(SnapshotError::Incomplete(
                                Diag::error(
                                    Code::SnapshotIncomplete,
                                    format!("{name}: TotalCount changed between pages ({a} before page {index}, then {b}); the pages are not one consistent listing"),
                                )
                                .with_help("fetch the full set again with `ecmguard fetch -o FILE`"),
                            ));
                        }
                        (None, Some(b)) => total = Some(b),
                        _ => {}
                    }
                    images.extend(page.images);
                }
                Ok(bare(Shape::Pages, images, total))
            }
            Top::Object(object) => object.into_snapshot(name),
        }
    }
}

impl TopObject {
    fn into_snapshot(self, name: &str) -> Result<Snapshot, SnapshotError> {
        if let Some(page) = self.response {
            if self.image_set.is_some() || self.schema.is_some() {
                return Err(shape_error(
                    name,
                    "has both `Response` and top-level `ImageSet`/`schema`",
                ));
            }
            if let Some(error) = page.error {
                return Err(api_error(name, &error));
            }
            unknown_completeness(name, &page, "the response")?;
            return Ok(Snapshot {
                shape: Shape::Response,
                images: page.images,
                total_count: page.total_count,
                fetched_at: None,
                endpoint: None,
                filters: None,
                usage: None,
            });
        }
        let Some(image_set) = self.image_set else {
            return Err(shape_error(
                name,
                "has no `ImageSet` and no `Response`: this is not a snapshot",
            ));
        };
        let images = image_set.unwrap_or_default();
        match self.schema {
            Some(schema) if schema == SNAPSHOT_SCHEMA => Ok(Snapshot {
                shape: Shape::Ecmguard,
                images,
                total_count: Some(
                    self.total_count
                        .or(self.tccli_total)
                        .ok_or_else(|| missing_total(name, Shape::Ecmguard, "total_count"))?,
                ),
                fetched_at: self.fetched_at,
                endpoint: self.endpoint,
                filters: self.filters,
                usage: self.usage,
            }),
            Some(schema) => Err(shape_error(
                name,
                format!("has schema `{schema}`; this ecmguard reads `{SNAPSHOT_SCHEMA}`"),
            )),
            None => {
                let _ = self.request_id;
                Ok(Snapshot {
                    shape: Shape::Tccli,
                    images,
                    total_count: Some(
                        self.tccli_total
                            .or(self.total_count)
                            .ok_or_else(|| missing_total(name, Shape::Tccli, "TotalCount"))?,
                    ),
                    fetched_at: None,
                    endpoint: None,
                    filters: None,
                    // Only ecmguard's own snapshots hold usage.
                    usage: None,
                })
            }
        }
    }
}

/// Ours and tccli's state the listing's total; without it (or with `null`)
/// the snapshot's completeness cannot be established.
fn missing_total(name: &str, shape: Shape, key: &str) -> SnapshotError {
    SnapshotError::Incomplete(
        Diag::error(
            Code::SnapshotIncomplete,
            format!("{name}: the {shape} has no integer `{key}`, so whether it holds the complete result set cannot be established"),
        )
        .with_help("fetch the result set again with `ecmguard fetch -o FILE`, which records its total"),
    )
}

/// A response page says how many images the listing has (`TotalCount`) and
/// holds them (`ImageSet`, `null` for none): without either, whether the
/// snapshot is complete cannot be established, so it is not judged.
fn unknown_completeness(name: &str, page: &Page, which: &str) -> Result<(), SnapshotError> {
    let missing = match (page.total_count.is_some(), page.has_image_set) {
        (true, true) => return Ok(()),
        (false, true) => "`TotalCount`",
        (true, false) => "`ImageSet`",
        (false, false) => "`TotalCount` and `ImageSet`",
    };
    Err(SnapshotError::Incomplete(
        Diag::error(
            Code::SnapshotIncomplete,
            format!("{name}: {which} has no {missing}, so whether it is the complete result set cannot be established"),
        )
        .with_help("save complete DescribeImage responses, or fetch with `ecmguard fetch -o FILE`"),
    ))
}

fn api_error(name: &str, error: &ApiError) -> SnapshotError {
    // The API's words, escaped: they are printed, and could hold anything.
    let code = crate::text::escape(&error.code);
    let message = crate::text::escape(&error.message);
    let detail = match (code.as_ref(), message.as_ref()) {
        ("", "") => "an `Error` with no code or message".to_owned(),
        ("", message) => format!("an `Error` without a code: {message}"),
        (code, message) => format!("{code}: {message}"),
    };
    SnapshotError::ApiError(
        Diag::error(
            Code::SnapshotApiError,
            format!("{name}: holds an API error instead of images: {detail}"),
        )
        .with_help(
            "the request that produced this file failed; fetch again with `ecmguard fetch -o FILE`",
        ),
    )
}

// --- serde plumbing -------------------------------------------------------

struct TopSeed;

impl<'de> DeserializeSeed<'de> for TopSeed {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a JSON object or array (a snapshot, a response, pages, tccli output or images)",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        let mut pages = Vec::new();
        let mut images = Vec::new();
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            match element {
                Element::Page(page) if images.is_empty() => pages.push(page),
                Element::Image(image) if pages.is_empty() => images.push(*image),
                _ => {
                    return Err(A::Error::custom(
                        "the array mixes DescribeImage responses and images",
                    ));
                }
            }
        }
        Ok(match (pages.is_empty(), images.is_empty()) {
            (false, _) => Top::Pages(pages),
            (_, false) => Top::Images(images),
            _ => Top::EmptyArray,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = TopObject::default();
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Schema => top.schema = Some(map.next_value()?),
                TopKey::Response => top.response = Some(map.next_value_seed(ResponseSeed)?),
                TopKey::ImageSet => top.image_set = Some(map.next_value_seed(ImageListSeed)?),
                TopKey::TotalCount => {
                    top.tccli_total = map.next_value_seed(CountSeed("TotalCount"))?
                }
                TopKey::OurTotal => {
                    top.total_count = map.next_value_seed(CountSeed("total_count"))?
                }
                TopKey::RequestId => {
                    top.request_id = true;
                    map.next_value::<IgnoredAny>()?;
                }
                TopKey::FetchedAt => top.fetched_at = map.next_value()?,
                TopKey::Endpoint => top.endpoint = map.next_value()?,
                TopKey::Filters => top.filters = map.next_value()?,
                TopKey::Usage => top.usage = map.next_value()?,
                TopKey::Other | TopKey::Error => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top::Object(Box::new(top)))
    }
}

/// A count (`TotalCount`, `total_count`) or null, said the way people
/// read it: "a whole number of images" rather than serde's `u64`.
struct CountSeed(&'static str);

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = Option<u64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number of images for {} (or null)", self.0)
    }
    fn visit_none<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_u64(self)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<u64>, E> {
        u64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
    }
}

enum TopKey {
    Error,
    Schema,
    Response,
    ImageSet,
    TotalCount,
    OurTotal,
    RequestId,
    FetchedAt,
    Endpoint,
    Filters,
    Usage,
    Other,
}

impl<'de> serde::Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TopKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<TopKey, E> {
                Ok(match v {
                    "Error" => TopKey::Error,
                    "schema" => TopKey::Schema,
                    "Response" => TopKey::Response,
                    "ImageSet" => TopKey::ImageSet,
                    "TotalCount" => TopKey::TotalCount,
                    "total_count" => TopKey::OurTotal,
                    "RequestId" => TopKey::RequestId,
                    "fetched_at" => TopKey::FetchedAt,
                    "endpoint" => TopKey::Endpoint,
                    "filters" => TopKey::Filters,
                    "usage" => TopKey::Usage,
                    _ => TopKey::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// `ImageSet`: an array of images, or null.
struct ImageListSeed;

impl<'de> DeserializeSeed<'de> for ImageListSeed {
    type Value = Option<Vec<Image>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ImageListSeed {
    type Value = Option<Vec<Image>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of images or null")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut images = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(image) = seq.next_element::<Image>()? {
            images.push(image);
        }
        Ok(Some(images))
    }
}

/// The value of `Response`.
struct ResponseSeed;

impl<'de> DeserializeSeed<'de> for ResponseSeed {
    type Value = Page;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed {
    type Value = Page;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DescribeImage Response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut page = Page::default();
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::TotalCount => {
                    page.total_count = map.next_value_seed(CountSeed("TotalCount"))?
                }
                TopKey::ImageSet => {
                    page.has_image_set = true;
                    page.images = map.next_value_seed(ImageListSeed)?.unwrap_or_default()
                }
                TopKey::Error => {
                    let raw = map.next_value::<Box<RawValue>>()?;
                    page.error = Some(ApiError::from_raw(&raw));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

enum Element {
    Page(Page),
    Image(Box<Image>),
}

/// An element of a top-level array: a page if its first key is `Response`,
/// otherwise an image.
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Element;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an image object or a {\"Response\": …} page")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        match map.next_key::<ImageKey>()? {
            None => Ok(Element::Image(Box::default())),
            Some(ImageKey::Other(key)) if &*key == "Response" => {
                let page = map.next_value_seed(ResponseSeed)?;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(Element::Page(page))
            }
            Some(first) => {
                read_image(Some(first), &mut map).map(|image| Element::Image(Box::new(image)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(json: &str) -> Snapshot {
        read("t.json", json.as_bytes()).expect("reads")
    }

    #[test]
    fn a_byte_order_mark_is_skipped_by_every_reader() {
        let text = "\u{feff}[{\"ImageId\":\"img-a\"}]";
        assert_eq!(
            read("t.json", text.as_bytes()).expect("reads").images.len(),
            1
        );
        assert_eq!(
            read_from("t.json", text.as_bytes())
                .expect("streams")
                .images
                .len(),
            1
        );
        let ours = format!(
            "\u{feff}{{\"schema\":\"{SNAPSHOT_SCHEMA}\",\"total_count\":1,\"ImageSet\":[{{\"ImageId\":\"a\"}}]}}"
        );
        let fast = read_fast("t.json", ours.as_bytes())
            .unwrap()
            .expect("fast path");
        assert_eq!(fast.images.len(), 1);
        // A mark anywhere else is still not JSON.
        assert!(read("t.json", "[\u{feff}]".as_bytes()).is_err());
        // Short inputs pass through whole.
        assert!(read_from("t.json", "[]".as_bytes()).is_ok());
    }

    #[test]
    fn reads_every_shape() {
        let image = r#"{"ImageId":"img-a"}"#;
        let s = shape_of(&format!(
            r#"{{"schema":"{SNAPSHOT_SCHEMA}","total_count":1,"ImageSet":[{image}]}}"#
        ));
        assert_eq!(
            (s.shape, s.images.len(), s.total_count),
            (Shape::Ecmguard, 1, Some(1))
        );
        let s = shape_of(&format!(
            r#"{{"Response":{{"TotalCount":1,"ImageSet":[{image}],"RequestId":"r"}}}}"#
        ));
        assert_eq!((s.shape, s.images.len()), (Shape::Response, 1));
        let s = shape_of(&format!(
            r#"[{{"Response":{{"TotalCount":2,"ImageSet":[{image}]}}}},{{"Response":{{"TotalCount":2,"ImageSet":null}}}}]"#
        ));
        assert_eq!(
            (s.shape, s.images.len(), s.total_count),
            (Shape::Pages, 1, Some(2))
        );
        let s = shape_of(&format!(
            r#"{{"TotalCount":1,"ImageSet":[{image}],"RequestId":"r"}}"#
        ));
        assert_eq!((s.shape, s.images.len()), (Shape::Tccli, 1));
        let s = shape_of(&format!("[{image},{image}]"));
        assert_eq!((s.shape, s.images.len()), (Shape::ImageArray, 2));
        assert_eq!(shape_of("[]").images.len(), 0);
    }

    #[test]
    fn errors_are_located_and_classified() {
        let err = read("t.json", b"{\"ImageSet\": [\n {\"ImageSize\": \"50\"}]}").unwrap_err();
        assert!(matches!(err, SnapshotError::Malformed(_)));
        let text = err.diag().message.clone();
        assert!(text.contains("t.json:2:"), "{text}");
        let err = read("t.json", br#"{"ImageSet": [{"ImageId": "img-"#).unwrap_err();
        assert!(matches!(err, SnapshotError::Malformed(_)));
        let err = read("t.json", br#"{"foo": 1}"#).unwrap_err();
        assert!(matches!(err, SnapshotError::Malformed(_)));
        let err = read(
            "t.json",
            br#"{"Response":{"Error":{"Code":"AuthFailure","Message":"x"},"RequestId":"r"}}"#,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            SnapshotError::Incomplete(_) | SnapshotError::ApiError(_)
        ));
        let err = read(
            "t.json",
            br#"[{"Response":{"TotalCount":2}},{"Response":{"TotalCount":3}}]"#,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            SnapshotError::Incomplete(_) | SnapshotError::ApiError(_)
        ));
    }

    /// Whatever the fast path accepts, the exact parser reads the same way.
    fn same(bytes: &[u8]) {
        let exact = read("t.json", bytes);
        let fast = read_fast("t.json", bytes).expect("no I/O error");
        if let Some(fast) = fast {
            let exact = exact.expect("the fast path accepted what the exact one refuses");
            assert_eq!(fast.shape, exact.shape);
            assert_eq!(fast.total_count, exact.total_count);
            assert_eq!(fast.fetched_at, exact.fetched_at);
            assert_eq!(fast.endpoint, exact.endpoint);
            assert_eq!(fast.filters, exact.filters);
            assert_eq!(fast.usage, exact.usage);
            let json = |s: &Snapshot| serde_json::to_string(&s.images).unwrap();
            assert_eq!(json(&fast), json(&exact));
        }
    }

    #[test]
    fn generated_snapshots_take_the_fast_path_and_agree() {
        use crate::generate::{GenOptions, write_snapshot};
        let mut bytes = Vec::new();
        write_snapshot(
            &GenOptions {
                count: 2000,
                violating: 0.5,
                ..GenOptions::default()
            },
            &mut bytes,
        )
        .unwrap();
        let fast = read_fast("t.json", bytes.as_slice()).unwrap();
        assert_eq!(fast.map(|s| s.images.len()), Some(2000));
        same(&bytes);
    }

    /// A usage section larger than the envelope's limit does not send the images down the
    /// slow path; both paths read it the same.
    #[test]
    fn a_large_usage_section_keeps_the_fast_path() {
        let instances: Vec<String> = (0..12_000)
            .map(|i| {
                format!(
                    r#"{{"InstanceId":"ein-{i:08}","InstanceState":"RUNNING","Image":{{"ImageId":"img-a"}},"SimpleModule":null}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"schema":"{SNAPSHOT_SCHEMA}","total_count":1,"ImageSet":[{{"ImageId":"img-a"}}],
               "usage":{{"instances_total":12000,"modules_total":0,"InstanceSet":[{}],"ModuleSet":[]}}}}"#,
            instances.join(",")
        );
        assert!(json.len() > 1 << 20);
        let fast = read_fast("t.json", json.as_bytes())
            .unwrap()
            .expect("the fast path");
        let section = fast.usage.clone().expect("usage read");
        assert_eq!(section.instances.map(|i| i.len()), Some(12_000));
        same(json.as_bytes());
    }

    #[test]
    fn only_top_level_image_sets_of_ours_and_tccli_take_the_fast_path() {
        for (json, handled) in [
            (
                r#"{"TotalCount":1,"ImageSet":[{"ImageId":"a"}],"RequestId":"r"}"#,
                true,
            ),
            (r#" { "ImageSet" : [ ] , "TotalCount" : 0 } "#, true),
            (
                r#"{"Response":{"TotalCount":1,"ImageSet":[{"ImageId":"a"}]}}"#,
                false,
            ),
            (r#"[{"ImageId":"a"}]"#, false),
            (r#"{"ImageSet":null}"#, false),
            (r#"{"Image\u0053et":[]}"#, false),
            (r#"{"ImageSet":[{"ImageId":"a"},]}"#, false),
            (r#"{"ImageSet":[],"ImageSet":[]}"#, false),
            (r#"{"ImageSet":[{"ImageId":"a"}]"#, false),
            (
                r#"{"ImageSet":[{"ImageId":"a\"}]}"}],"TotalCount":1}"#,
                true,
            ),
            // Complete JSON, but no total: left to the exact parser, which refuses it.
            (r#"{"ImageSet":[{"ImageId":"a"}]}"#, false),
            (r#"{"ImageSet":[]} x"#, false),
            (r#"{"schema":"other","ImageSet":[]}"#, false),
            (
                r#"{"filters":[1,{"a":"]"}],"ImageSet":[{"ImageSize":"50"}]}"#,
                false,
            ),
            (
                r#"{"filters":[1,{"a":"]"}],"ImageSet":[{"ImageId":"a","ImageSize":50}],"TotalCount":1}"#,
                true,
            ),
        ] {
            let fast = read_fast("t.json", json.as_bytes()).unwrap();
            assert_eq!(fast.is_some(), handled, "{json}");
            same(json.as_bytes());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

        /// Random edits of a valid snapshot: whatever the fast path accepts,
        /// the exact parser reads the same way.
        #[test]
        fn the_fast_path_agrees_with_the_exact_parser(
            at in 0usize..4000,
            byte in proptest::prelude::any::<u8>(),
            cut in proptest::prelude::any::<bool>(),
        ) {
            use crate::generate::{GenOptions, write_snapshot};
            let mut bytes = Vec::new();
            write_snapshot(&GenOptions { count: 6, ..GenOptions::default() }, &mut bytes).unwrap();
            let at = at % bytes.len();
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            same(&bytes);
        }
    }
}

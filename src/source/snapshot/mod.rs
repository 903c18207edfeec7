//! Snapshot files: reading every accepted shape into images, and the schema
//! of ours. A snapshot is judged only when it is known to be complete; what
//! went wrong is a typed [`SnapshotError`] (unreadable, malformed, incomplete,
//! or an API error saved in place of images).
//!
//! Accepted shapes: ours `{"schema": "ecmguard/snapshot/v1", …, "ImageSet":
//! […]}`, a response `{"Response": {…}}`, tccli's output `{"TotalCount",
//! "ImageSet", "RequestId"}`, the pages of one listing in either of those two
//! shapes (a JSON array of them, as `jq -s` writes it, or the documents one
//! after another, as `cat` writes them), and a bare array of images, which
//! states no total and is judged only on the user's word
//! ([`Completeness::Assumed`], `--assume-complete`).
//!
//! `document` reads the JSON documents, `listing` makes one listing of them,
//! `stream` parses them as they are read (through `reader`, which skips a
//! byte-order mark and keeps a small input for error snippets), `error` says
//! what went wrong, and this module decides whether the images are the whole set.

use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use crate::diag::{Code, Diag};
use crate::image::{Image, ImageSet};
use crate::source::Provenance;
use crate::time::ApiZone;

mod document;
mod error;
mod listing;
mod reader;
mod split;
mod stream;

use document::SnapshotImage;
use document::Top;
pub use error::SnapshotError;
use error::{SNIPPET_LIMIT, json_error, read_failure};
use reader::{BOM, SkipBom};
use stream::{parse, stream};

/// The schema tag of the snapshots `ecmguard fetch` writes.
pub(crate) const SNAPSHOT_SCHEMA: &str = "ecmguard/snapshot/v1";

/// Which accepted shape a snapshot had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Ecmguard,
    Response,
    /// Several pages: a JSON array of responses or tccli outputs, or such
    /// documents one after another.
    Pages,
    Tccli,
    ImageArray,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Ecmguard => "ecmguard snapshot",
            Shape::Response => "DescribeImage response",
            Shape::Pages => "pages of one listing",
            Shape::Tccli => "tccli output",
            Shape::ImageArray => "array of images",
        })
    }
}

/// Whether a snapshot that states no total may be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Completeness {
    /// Only a snapshot that proves it is complete: it states a total, and
    /// holds exactly that many distinct images. A bare array is refused.
    #[default]
    Proven,
    /// `--assume-complete`: a bare array of images is the whole set on the
    /// user's word (recorded in the provenance, warned about in reports). A
    /// snapshot that states a total is still held to it.
    Assumed,
}

/// What a snapshot held, before de-duplication. `T`: how its images are
/// held ([`Image`] for a check, the JSON as written for the emulator).
#[derive(Debug)]
pub struct Snapshot<T = Image> {
    pub shape: Shape,
    pub images: Vec<T>,
    /// `TotalCount` / `total_count` when the snapshot states one.
    pub total_count: Option<u64>,
    /// How many pages the listing was saved in (1 but for [`Shape::Pages`]).
    pub pages: usize,
    /// Provenance recorded by `ecmguard fetch`.
    pub fetched_at: Option<String>,
    pub endpoint: Option<String>,
    pub filters: Option<serde_json::Value>,
    /// The `usage` section of an ecmguard snapshot (`fetch --usage`), as read; checked by
    /// [`usage`] when the run reads usage.
    pub usage: Option<crate::usage::Section>,
}

impl<T> Snapshot<T> {
    fn bare(shape: Shape, images: Vec<T>, total_count: Option<u64>) -> Self {
        Snapshot {
            shape,
            images,
            total_count,
            pages: 1,
            fetched_at: None,
            endpoint: None,
            filters: None,
            usage: None,
        }
    }
}

/// A snapshot read into a complete, de-duplicated image set.
#[derive(Debug)]
pub struct Loaded {
    pub images: ImageSet,
    pub provenance: Provenance,
    /// What every report should say about the source: that its completeness
    /// was assumed, or that `--assume-complete` changed nothing.
    pub warnings: Vec<Diag>,
    /// The snapshot's `usage` section, if it has one (see [`usage`]).
    pub usage: Option<crate::usage::Section>,
}

/// The usage a snapshot saved, checked as a live listing is: both sets present with their
/// totals, every item with its id, as many distinct items as each total. Without a section
/// (a snapshot fetched without `--usage`, or a shape that cannot hold one) the run cannot
/// know usage: exit 3, saying what needs it (`needed_by`) and to fetch it with `--usage`.
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
/// with times read in `zone`, and refuse it if it is not known to be
/// complete. This is the whole of `check --snapshot` before evaluation.
///
/// The input is parsed as it is read, never held whole: at peak a check holds
/// the images and a read buffer, not the file's bytes as well (which, for a
/// large account, would double its memory).
pub fn load(
    name: &str,
    zone: &ApiZone,
    completeness: Completeness,
    stdin: &mut dyn Read,
) -> Result<Loaded, SnapshotError> {
    finish(name, read_input(name, stdin)?, zone, completeness)
}

/// [`load`] for a snapshot already in memory (tests, benchmarks, fuzzing).
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    zone: &ApiZone,
    completeness: Completeness,
) -> Result<Loaded, SnapshotError> {
    finish(name, read(name, bytes)?, zone, completeness)
}

/// The images of the snapshot `name` (a path, or `-` for `stdin`) as the JSON
/// they were written in (nulls, key order and unknown values kept), for a
/// server that serves them as an account: the API emulator. The same shapes
/// and checks as [`load`]; duplicates are dropped, the first one kept.
pub fn load_json(
    name: &str,
    completeness: Completeness,
    stdin: &mut dyn Read,
) -> Result<Vec<serde_json::Value>, SnapshotError> {
    let snapshot = read_input::<serde_json::Value>(name, stdin)?;
    check_ids(name, &snapshot)?;
    let mut seen = HashSet::new();
    let Snapshot {
        shape,
        images,
        total_count,
        pages,
        ..
    } = snapshot;
    let images: Vec<serde_json::Value> = images
        .into_iter()
        .filter(|image| image.image_id().is_none_or(|id| seen.insert(id.to_owned())))
        .collect();
    judge(name, shape, total_count, pages, images.len(), completeness)?;
    Ok(images)
}

/// A snapshot from a path, or from `stdin` for `-`.
fn read_input<T: SnapshotImage>(
    name: &str,
    stdin: &mut dyn Read,
) -> Result<Snapshot<T>, SnapshotError> {
    if name == "-" {
        return stream(name, stdin, true).map_err(|err| err.into_failure(name, None));
    }
    let mut file = std::fs::File::open(name).map_err(|e| read_failure(name, &e))?;
    // A regular file can be read twice: first the fast path, which hands
    // each image's bytes to the in-memory parser; anything it is unsure
    // of is read again, from the start, by the exact streaming parser.
    if file.metadata().is_ok_and(|meta| meta.is_file()) {
        if let Ok(Some(snapshot)) = read_fast_as(name, &file) {
            return Ok(snapshot);
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
    })
}

fn finish(
    name: &str,
    snapshot: Snapshot,
    zone: &ApiZone,
    completeness: Completeness,
) -> Result<Loaded, SnapshotError> {
    check_ids(name, &snapshot)?;
    let Snapshot {
        shape,
        images,
        total_count,
        pages,
        fetched_at,
        endpoint,
        filters,
        usage,
    } = snapshot;
    let images = ImageSet::new(images, zone);
    let assumed = judge(name, shape, total_count, pages, images.len(), completeness)?;
    let warnings = match (completeness, assumed) {
        (Completeness::Proven, _) => Vec::new(),
        (Completeness::Assumed, true) => vec![assumed_complete(name, images.len())],
        (Completeness::Assumed, false) => vec![assumption_unused(name, shape)],
    };
    Ok(Loaded {
        images,
        provenance: Provenance::Snapshot {
            path: name.to_owned(),
            shape,
            assumed_complete: assumed,
            fetched_at,
            endpoint,
            filters,
        },
        warnings,
        usage,
    })
}

/// Images without an `ImageId` cannot be de-duplicated or counted against a
/// total: refused before either is tried. (Pages are checked page by page
/// as they are read, which can say which page.)
fn check_ids<T: SnapshotImage>(name: &str, snapshot: &Snapshot<T>) -> Result<(), SnapshotError> {
    match snapshot.images.iter().position(|i| i.image_id().is_none()) {
        Some(position) => Err(listing::without_id(
            name,
            &format!("image {} of the {}", position + 1, snapshot.shape),
        )),
        None => Ok(()),
    }
}

/// Whether `distinct` images (after de-duplication by `ImageId`) are the
/// whole result set: exactly the total the snapshot states, or, for a bare
/// array, which states none, the user's word. `Ok(true)`: judged on that word.
fn judge(
    name: &str,
    shape: Shape,
    total_count: Option<u64>,
    pages: usize,
    distinct: usize,
    completeness: Completeness,
) -> Result<bool, SnapshotError> {
    let holds = crate::text::count(distinct as u64, "distinct image", "distinct images");
    match total_count {
        Some(total) if total == distinct as u64 => Ok(false),
        // Pages prove they are all there only by adding up: their distinct
        // ImageIds number exactly their one TotalCount. A page saved twice
        // adds nothing (duplicates are dropped, as a live listing drops
        // them); a missing page leaves the count short.
        Some(total) if shape == Shape::Pages => Err(SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotIncomplete,
                format!(
                    "{name}: the {} hold {holds} but their TotalCount is {total}; a page is missing (or the listing changed while it was saved), so this is not the complete result set",
                    crate::text::count(pages as u64, "page", "pages"),
                ),
            )
            .with_help("save every page, Offset 0, 100, 200, … up to TotalCount (README, \"Snapshots\"), or let `ecmguard fetch -o FILE` page, pace and check the listing"),
        )),
        Some(total) => Err(SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotIncomplete,
                format!(
                    "{name}: the {shape} holds {holds} but its TotalCount is {total}; it is not the complete result set"
                ),
            )
            .with_help("fetch every page with `ecmguard fetch -o FILE` (or save all pages) and check that file"),
        )),
        None if completeness == Completeness::Assumed => Ok(true),
        None => Err(SnapshotError::Incomplete(
            Diag::error(
                Code::SnapshotWithoutTotal,
                format!(
                    "{name}: a bare array of {} states no total, so whether it is the complete result set cannot be established",
                    crate::text::count(distinct as u64, "image", "images")
                ),
            )
            .with_help("save the listing with its total (`ecmguard fetch -o FILE`, or tccli's whole output of every page), or pass --assume-complete if this array is the whole set"),
        )),
    }
}

/// The warning every report carries when a bare array was judged on the
/// user's word.
fn assumed_complete(name: &str, images: usize) -> Diag {
    Diag::warning(
        Code::SnapshotAssumedComplete,
        format!(
            "the snapshot {name} states no total; its {} were judged as the complete result set on your word (--assume-complete)",
            crate::text::count(images as u64, "image", "images")
        ),
    )
    .with_help("to have completeness proven instead, save the listing with its total: `ecmguard fetch -o FILE`")
}

/// `--assume-complete` on a snapshot that states its total: the total is
/// checked all the same, so the flag changed nothing, which the user should
/// know rather than believe it did something.
fn assumption_unused(name: &str, shape: Shape) -> Diag {
    Diag::warning(
        Code::AssumeCompleteUnused,
        format!(
            "--assume-complete changed nothing: the snapshot {name} ({shape}) states its total, and holds it"
        ),
    )
    .with_help("--assume-complete is for bare arrays of images, which state no total; drop it here")
}

/// The fast path for files: [`split`] cuts each top-level object into its
/// `ImageSet` (parsed one image at a time) and the rest (the envelope), which
/// the exact parser reads to decide the shape. `None`: not a shape the fast
/// path handles, or anything it is unsure of; read the input the exact way.
/// Public so that tests and the fuzz target can check it agrees with [`read`].
pub fn read_fast(name: &str, reader: impl Read) -> std::io::Result<Option<Snapshot>> {
    read_fast_as(name, reader)
}

fn read_fast_as<T: SnapshotImage>(
    name: &str,
    reader: impl Read,
) -> std::io::Result<Option<Snapshot<T>>> {
    let Some(split) = split::split_documents::<T, _>(SkipBom::new(reader))? else {
        return Ok(None);
    };
    let several = split.documents.len() > 1;
    let mut documents = Vec::with_capacity(split.documents.len());
    for envelope in split.documents {
        // Each envelope on its own, as a document of one (its `ImageSet` is
        // empty: nothing goes into the scratch vector).
        let mut de = serde_json::Deserializer::from_slice(&envelope.bytes);
        let Ok((of_envelope, _)) = parse::<_, T>(&mut de) else {
            return Ok(None);
        };
        let Ok([document]) = <[Top; 1]>::try_from(of_envelope) else {
            return Ok(None);
        };
        match document {
            // Ours (alone) or tccli's, each with its `ImageSet` back in place.
            Top::Object(mut object)
                if object.response.is_none()
                    && (object.schema.is_none() || !several)
                    && matches!(object.image_set, Some(Some(_))) =>
            {
                object.image_set = Some(Some(envelope.images));
                documents.push(Top::Object(object));
            }
            _ => return Ok(None),
        }
    }
    Ok(listing::assemble(name, documents, split.images).ok())
}

/// Parse a snapshot held in memory. `name` is how the user named it (`-` for stdin).
pub fn read(name: &str, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (documents, images) = parse(&mut de).map_err(|err| json_error(name, Some(bytes), &err))?;
    listing::assemble(name, documents, images)
}

/// Parse a snapshot as it is read from `reader`, holding only a read buffer
/// (and, for error snippets, the first bytes of a small input).
pub fn read_from(name: &str, reader: impl Read) -> Result<Snapshot, SnapshotError> {
    stream(name, reader, true).map_err(|err| err.into_failure(name, None))
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
            assert_eq!(fast.pages, exact.pages);
            let json = |s: &Snapshot| serde_json::to_string(&s.images).unwrap();
            assert_eq!(json(&fast), json(&exact));
        }
    }

    /// tccli's output of one page of a listing of `total`.
    fn tccli_page(total: u64, ids: &[&str]) -> String {
        let images: Vec<String> = ids
            .iter()
            .map(|id| format!("{{\n        \"ImageId\": \"{id}\"\n    }}"))
            .collect();
        format!(
            "{{\n    \"TotalCount\": {total},\n    \"ImageSet\": [\n    {}\n    ],\n    \"RequestId\": \"r\"\n}}\n",
            images.join(",\n    ")
        )
    }

    #[test]
    fn an_array_of_tccli_outputs_is_pages_not_images() {
        let pages = format!(
            "[{},{}]",
            tccli_page(3, &["img-a", "img-b"]),
            tccli_page(3, &["img-c"])
        );
        let s = shape_of(&pages);
        assert_eq!(
            (s.shape, s.images.len(), s.total_count, s.pages),
            (Shape::Pages, 3, Some(3), 2)
        );
        // Whatever key tccli's output starts with.
        let s = shape_of(
            r#"[{"ImageSet":[{"ImageId":"a"}],"TotalCount":1},{"RequestId":"r","TotalCount":1,"ImageSet":null}]"#,
        );
        assert_eq!((s.shape, s.images.len()), (Shape::Pages, 1));
        // Responses and tccli outputs are both pages.
        let s = shape_of(
            r#"[{"Response":{"TotalCount":2,"ImageSet":[{"ImageId":"a"}]}},{"TotalCount":2,"ImageSet":[{"ImageId":"b"}]}]"#,
        );
        assert_eq!((s.shape, s.images.len(), s.pages), (Shape::Pages, 2, 2));
    }

    #[test]
    fn documents_one_after_another_are_the_pages_of_one_listing() {
        let cat = format!(
            "{}{}",
            tccli_page(3, &["img-a", "img-b"]),
            tccli_page(3, &["img-c"])
        );
        let responses = r#"{"Response":{"TotalCount":2,"ImageSet":[{"ImageId":"a"}]}}{"Response":{"TotalCount":2,"ImageSet":[{"ImageId":"b"}],"RequestId":"r"}}"#;
        for text in [cat.as_str(), responses] {
            let exact = shape_of(text);
            assert_eq!(exact.shape, Shape::Pages, "{text}");
            assert_eq!(exact.pages, 2);
            assert_eq!(exact.total_count, Some(exact.images.len() as u64));
            let streamed = read_from("t.json", text.as_bytes()).expect("streams");
            assert_eq!(streamed.images.len(), exact.images.len());
            same(text.as_bytes());
        }
        // tccli's pages take the fast path; the responses are left to the exact one.
        assert!(read_fast("t.json", cat.as_bytes()).unwrap().is_some());
        assert!(read_fast("t.json", responses.as_bytes()).unwrap().is_none());
    }

    #[test]
    fn pages_are_checked_like_a_live_listing() {
        let incomplete = |text: &str, says: &str| {
            let err = read("t.json", text.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    err,
                    SnapshotError::Incomplete(_) | SnapshotError::ApiError(_)
                ),
                "{text}"
            );
            let message = &err.diag().message;
            assert!(message.contains(says), "{text}: {message}");
        };
        // One TotalCount across pages.
        incomplete(
            &format!("{}{}", tccli_page(3, &["a", "b"]), tccli_page(4, &["c"])),
            "document 2 says TotalCount 4, the pages before it 3",
        );
        // An Error in any page, of either shape.
        incomplete(
            &format!(
                "{}{{\"Error\":{{\"Code\":\"InternalError\",\"Message\":\"m\"}},\"RequestId\":\"r\"}}",
                tccli_page(3, &["a"])
            ),
            "document 2 holds an API error instead of images: InternalError: m",
        );
        incomplete(
            r#"[{"TotalCount":1,"ImageSet":[]},{"Response":{"Error":"boom"}}]"#,
            "page 2 holds an API error",
        );
        // A page that does not say its total.
        incomplete(
            r#"[{"TotalCount":1,"ImageSet":[]},{"ImageSet":[{"ImageId":"a"}]}]"#,
            "page 2 has no `TotalCount`",
        );
        // Whether every page is there is decided with the images (`judge`).
        let two_of_three = shape_of(&format!(
            "{}{}",
            tccli_page(3, &["a"]),
            tccli_page(3, &["b"])
        ));
        let err = judge(
            "t.json",
            two_of_three.shape,
            two_of_three.total_count,
            two_of_three.pages,
            2,
            Completeness::Assumed,
        )
        .unwrap_err();
        assert!(
            err.diag().message.contains(
                "the 2 pages hold 2 distinct images but their TotalCount is 3; a page is missing"
            ),
            "{}",
            err.diag().message
        );
    }

    #[test]
    fn a_mixed_array_or_a_document_that_cannot_follow_is_a_located_error() {
        for (text, at, says) in [
            (
                "[{\"TotalCount\":2,\"ImageSet\":[]},\n {\"ImageId\":\"a\"}]",
                "t.json:2:",
                "element 2 is an image, but the elements before it are pages",
            ),
            (
                "[{\"ImageId\":\"a\"},\n {\"Response\":{\"TotalCount\":1,\"ImageSet\":[]}}]",
                "t.json:2:",
                "element 2 is a page",
            ),
            (
                "[{\"schema\":\"ecmguard/snapshot/v1\",\"total_count\":0,\"ImageSet\":[]}]",
                "t.json:1:",
                "element 1 is an ecmguard snapshot",
            ),
            (
                "{\"TotalCount\":0,\"ImageSet\":[]}\n{\"schema\":\"ecmguard/snapshot/v1\"}",
                "t.json:2:",
                "document 2 is an ecmguard snapshot",
            ),
            (
                "[{\"ImageId\":\"a\"}]\n{\"TotalCount\":0,\"ImageSet\":[]}",
                "t.json:2:",
                "after an array of images",
            ),
            (
                "{\"TotalCount\":0,\"ImageSet\":[]}\n[]",
                "t.json:2:",
                "document 2 is a JSON array",
            ),
        ] {
            for err in [
                read("t.json", text.as_bytes()).unwrap_err(),
                read_from("t.json", text.as_bytes()).unwrap_err(),
            ] {
                assert!(matches!(err, SnapshotError::Malformed(_)), "{text}");
                let message = &err.diag().message;
                assert!(message.contains(at), "{text}: {message}");
                assert!(message.contains(says), "{text}: {message}");
            }
        }
    }

    #[test]
    fn a_bare_array_is_judged_only_on_the_users_word() {
        let zone = ApiZone::default();
        let bare = br#"[{"ImageId":"a"},{"ImageId":"b"}]"#;
        let err = load_bytes("t.json", bare, &zone, Completeness::Proven).unwrap_err();
        assert!(matches!(err, SnapshotError::Incomplete(_)));
        assert_eq!(err.diag().code, Code::SnapshotWithoutTotal);
        let loaded = load_bytes("t.json", b"[]", &zone, Completeness::Proven);
        assert!(loaded.is_err(), "an empty array states no total either");

        let loaded = load_bytes("t.json", bare, &zone, Completeness::Assumed).expect("judged");
        assert_eq!(loaded.images.len(), 2);
        assert!(loaded.provenance.assumed_complete());
        assert_eq!(
            loaded.warnings.iter().map(|w| w.code).collect::<Vec<_>>(),
            [Code::SnapshotAssumedComplete]
        );

        // A snapshot that states its total is held to it, assumed or not.
        let stated = br#"{"TotalCount":2,"ImageSet":[{"ImageId":"a"},{"ImageId":"b"}]}"#;
        let loaded = load_bytes("t.json", stated, &zone, Completeness::Assumed).expect("judged");
        assert!(!loaded.provenance.assumed_complete());
        assert_eq!(loaded.warnings[0].code, Code::AssumeCompleteUnused);
        let short = br#"{"TotalCount":3,"ImageSet":[{"ImageId":"a"},{"ImageId":"b"}]}"#;
        assert!(matches!(
            load_bytes("t.json", short, &zone, Completeness::Assumed),
            Err(SnapshotError::Incomplete(_))
        ));
        let loaded = load_bytes("t.json", stated, &zone, Completeness::Proven).expect("judged");
        assert!(loaded.warnings.is_empty());
    }

    /// Images go into one vector as they are read; where a key is repeated,
    /// the last one counts, as for any JSON object serde reads.
    #[test]
    fn a_repeated_image_set_keeps_the_last() {
        let s = shape_of(
            r#"{"TotalCount":1,"ImageSet":[{"ImageId":"a"},{"ImageId":"b"}],"ImageSet":[{"ImageId":"c"}]}"#,
        );
        let ids: Vec<&str> = s.images.iter().filter_map(|i| i.id()).collect();
        assert_eq!(ids, ["c"]);
        let s = shape_of(
            r#"[{"Response":{"TotalCount":2,"ImageSet":[{"ImageId":"x"}],"ImageSet":[{"ImageId":"a"}]}},{"TotalCount":2,"ImageSet":[{"ImageId":"b"}]}]"#,
        );
        let ids: Vec<&str> = s.images.iter().filter_map(|i| i.id()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn json_images_are_kept_as_written() {
        let text = r#"[{"TotalCount":2,"ImageSet":[{"TaskId":null,"ImageId":"a","Labels":[1]}]},
            {"TotalCount":2,"ImageSet":[{"ImageId":"a","ImageName":"again"},{"ImageId":"b","SrcImage":null}]}]"#;
        let images = load_json("-", Completeness::Proven, &mut text.as_bytes()).expect("loads");
        assert_eq!(
            serde_json::Value::Array(images).to_string(),
            r#"[{"TaskId":null,"ImageId":"a","Labels":[1]},{"ImageId":"b","SrcImage":null}]"#
        );
        let bare = r#"[{"ImageId":"a"}]"#;
        assert!(load_json("-", Completeness::Proven, &mut bare.as_bytes()).is_err());
        assert!(load_json("-", Completeness::Assumed, &mut bare.as_bytes()).is_ok());
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

    /// `bytes` cut at `at` (`cut`), or with the byte there replaced.
    fn edited(mut bytes: Vec<u8>, at: usize, byte: u8, cut: bool) -> Vec<u8> {
        let at = at % bytes.len();
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        bytes
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
            same(&edited(bytes, at, byte, cut));
        }

        /// The same for the pages of a listing one after another (`cat`),
        /// which the fast path cuts document by document.
        #[test]
        fn the_fast_path_agrees_on_pages_one_after_another(
            at in 0usize..4000,
            byte in proptest::prelude::any::<u8>(),
            cut in proptest::prelude::any::<bool>(),
        ) {
            let bytes = format!(
                "{}{}{}",
                tccli_page(5, &["img-a", "img-b"]),
                tccli_page(5, &["img-c", "img-d"]),
                tccli_page(5, &["img-e"])
            )
            .into_bytes();
            same(&edited(bytes, at, byte, cut));
        }
    }
}

//! The snapshot parsed as it is read: serde_json's streaming parser over the
//! reader, every JSON document of the input read into its images and
//! envelope, and a failure kept with what is needed to report it.

use std::cell::RefCell;
use std::io::{BufReader, Read};
use std::rc::Rc;

use serde::de::DeserializeSeed;

use super::document::{FirstDocument, LaterDocument, SnapshotImage, Top};
use super::error::{SnapshotError, json_error, read_failure};
use super::reader::{READ_CHUNK, Recorder, Recording, SkipBom};
use super::{Snapshot, listing};

/// Why a streamed read failed, before it is turned into diagnostics.
pub(super) enum StreamError {
    Snapshot(SnapshotError),
    Io(serde_json::Error),
    /// A JSON error, with the recorded input if it was kept.
    Json(serde_json::Error, Option<Vec<u8>>),
}

impl StreamError {
    /// `reread` is the input read again for a snippet, when not recorded.
    pub(super) fn into_failure(self, name: &str, reread: Option<&[u8]>) -> SnapshotError {
        match self {
            StreamError::Snapshot(failure) => failure,
            StreamError::Io(err) => read_failure(name, &std::io::Error::other(err)),
            StreamError::Json(err, recorded) => {
                json_error(name, recorded.as_deref().or(reread), &err)
            }
        }
    }
}

pub(super) fn stream<T: SnapshotImage>(
    name: &str,
    reader: impl Read,
    record: bool,
) -> Result<Snapshot<T>, StreamError> {
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
        Ok((documents, images)) => {
            listing::assemble(name, documents, images).map_err(StreamError::Snapshot)
        }
        Err(err) if err.is_io() => Err(StreamError::Io(err)),
        Err(err) => {
            let recording = recording.take();
            let bytes = (!recording.overflowed).then_some(recording.bytes);
            Err(StreamError::Json(err, bytes))
        }
    }
}

/// Every JSON document of the input, one after another (usually one; the
/// pages of a listing when they were saved one after another, as `cat` does),
/// and every image they hold, in one vector. Each is read as it comes, so
/// nothing but the images accumulates.
pub(super) fn parse<'de, R: serde_json::de::Read<'de>, T: SnapshotImage>(
    de: &mut serde_json::Deserializer<R>,
) -> serde_json::Result<(Vec<Top>, Vec<T>)> {
    let mut images = Vec::new();
    let first = FirstDocument {
        images: &mut images,
    }
    .deserialize(&mut *de)?;
    let mut documents = vec![first];
    loop {
        // `end` skips whitespace and fails if anything else follows; that
        // byte is only peeked, so the next document can be read from it, as
        // serde_json's own stream of values does.
        match de.end() {
            Ok(()) => return Ok((documents, images)),
            Err(err) if err.is_io() => return Err(err),
            Err(_) => {}
        }
        let later = LaterDocument {
            index: documents.len() + 1,
            first: &documents[0],
            images: &mut images,
        }
        .deserialize(&mut *de)?;
        documents.push(later);
    }
}

//! From the documents of a snapshot to one listing: which shape it was, its
//! images, and the total it states. The pages of one listing (an array of
//! them, or documents one after another) are checked as a live listing is:
//! no page may hold an API error, every page states the same `TotalCount`,
//! and every page must say what it holds. Whether the images add up to the
//! total is checked once the images are known, by the parent.
//!
//! The documents say where their images are in the one vector the reader
//! filled; the snapshot takes that vector whole (or, in the rare input that
//! names `ImageSet` twice, the images of the one that counts).

use std::ops::Range;

use crate::diag::{Code, Diag};

use super::document::{ApiError, Page, SnapshotImage, Top, TopObject};
use super::{SNAPSHOT_SCHEMA, Shape, Snapshot, SnapshotError};

/// The snapshot the documents of one input make (`documents` in input order,
/// at least one; `images`, every image they hold).
pub(super) fn assemble<T: SnapshotImage>(
    name: &str,
    documents: Vec<Top>,
    images: Vec<T>,
) -> Result<Snapshot<T>, SnapshotError> {
    let count = documents.len();
    let mut documents = documents.into_iter();
    let Some(first) = documents.next() else {
        return Err(shape_error(name, "holds no JSON document"));
    };
    if count == 1 {
        return single(name, first, images);
    }
    // Documents one after another: each is one page of the listing.
    let mut listing = Listing::new(name);
    for (index, document) in std::iter::once(first).chain(documents).enumerate() {
        let which = format!("document {}", index + 1);
        let page = match document {
            Top::Object(object) => object.into_page(name, &which)?,
            Top::Pages(_) | Top::Images(_) => {
                return Err(shape_error(
                    name,
                    format!(
                        "{which} is a JSON array; only pages (DescribeImage responses or tccli outputs) may follow one another"
                    ),
                ));
            }
        };
        listing.push(page, &which, &images)?;
    }
    Ok(listing.finish(images))
}

fn single<T: SnapshotImage>(
    name: &str,
    document: Top,
    images: Vec<T>,
) -> Result<Snapshot<T>, SnapshotError> {
    match document {
        Top::Images(range) => Ok(Snapshot::bare(
            Shape::ImageArray,
            used(images, &[range]),
            None,
        )),
        Top::Pages(pages) => {
            let mut listing = Listing::new(name);
            for (index, object) in pages.into_iter().enumerate() {
                let which = format!("page {}", index + 1);
                let page = object.into_page(name, &format!("element {}", index + 1))?;
                listing.push(page, &which, &images)?;
            }
            Ok(listing.finish(images))
        }
        Top::Object(object) => object.into_snapshot(name, images),
    }
}

/// The images of `ranges` (disjoint, in order): all of `images` unless an
/// input named `ImageSet` twice, where only the last one counts (as it does
/// for serde_json's maps).
fn used<T>(images: Vec<T>, ranges: &[Range<usize>]) -> Vec<T> {
    if ranges.iter().map(Range::len).sum::<usize>() == images.len() {
        return images;
    }
    let mut keep = vec![false; images.len()];
    for range in ranges {
        keep[range.clone()].fill(true);
    }
    images
        .into_iter()
        .zip(keep)
        .filter_map(|(image, keep)| keep.then_some(image))
        .collect()
}

impl TopObject {
    /// A top-level object on its own: ours, a response, or tccli's output.
    fn into_snapshot<T: SnapshotImage>(
        self,
        name: &str,
        images: Vec<T>,
    ) -> Result<Snapshot<T>, SnapshotError> {
        if self.response.is_some() {
            if self.image_set.is_some() || self.schema.is_some() {
                return Err(shape_error(
                    name,
                    "has both `Response` and top-level `ImageSet`/`schema`",
                ));
            }
            let page = self.into_page(name, "the response")?;
            let page = checked(name, page, "the response", false)?;
            return Ok(Snapshot::bare(
                Shape::Response,
                used(images, &[page.images]),
                page.total_count,
            ));
        }
        match self.schema {
            Some(schema) if schema == SNAPSHOT_SCHEMA => {
                let Some(image_set) = self.image_set else {
                    return Err(shape_error(
                        name,
                        "is an ecmguard snapshot without `ImageSet`",
                    ));
                };
                Ok(Snapshot {
                    shape: Shape::Ecmguard,
                    images: used(images, &[image_set.unwrap_or(0..0)]),
                    total_count: Some(
                        self.total_count
                            .or(self.tccli_total)
                            .ok_or_else(|| missing_total(name, Shape::Ecmguard, "total_count"))?,
                    ),
                    pages: 1,
                    fetched_at: self.fetched_at,
                    endpoint: self.endpoint,
                    filters: self.filters,
                    usage: self.usage,
                })
            }
            Some(schema) => Err(shape_error(
                name,
                format!("has schema `{schema}`; this ecmguard reads `{SNAPSHOT_SCHEMA}`"),
            )),
            None if self.image_set.is_none() && self.error.is_none() => Err(shape_error(
                name,
                "has no `ImageSet` and no `Response`: this is not a snapshot",
            )),
            None => {
                let page = self.into_page(name, "the tccli output")?;
                if let Some(error) = &page.error {
                    return Err(api_error(name, None, error));
                }
                let total = page
                    .total_count
                    .ok_or_else(|| missing_total(name, Shape::Tccli, "TotalCount"))?;
                Ok(Snapshot::bare(
                    Shape::Tccli,
                    used(images, &[page.images]),
                    Some(total),
                ))
            }
        }
    }

    /// This object as one page of a listing: a `{"Response": …}`, or tccli's
    /// output (the same members at the top). `which` names it in messages.
    fn into_page(self, name: &str, which: &str) -> Result<Page, SnapshotError> {
        if self.schema.is_some() {
            return Err(shape_error(
                name,
                format!(
                    "{which} is an ecmguard snapshot, a whole listing: it cannot be one of several pages"
                ),
            ));
        }
        match self.response {
            Some(page) => {
                if self.image_set.is_some() || self.tccli_total.is_some() {
                    return Err(shape_error(
                        name,
                        format!(
                            "{which} has both `Response` and a top-level `ImageSet`/`TotalCount`"
                        ),
                    ));
                }
                Ok(page)
            }
            None => Ok(Page {
                total_count: self.tccli_total.or(self.total_count),
                has_image_set: self.image_set.is_some(),
                images: self.image_set.flatten().unwrap_or(0..0),
                error: self.error,
            }),
        }
    }
}

/// A page that can stand for what it says: no `Error`, a `TotalCount` and
/// an `ImageSet` (`null` is one: an empty page). `which` names it; `several`:
/// it is one of several pages.
fn checked(name: &str, page: Page, which: &str, several: bool) -> Result<Page, SnapshotError> {
    if let Some(error) = &page.error {
        return Err(api_error(name, several.then_some(which), error));
    }
    let missing = match (page.total_count.is_some(), page.has_image_set) {
        (true, true) => return Ok(page),
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

/// The pages of one listing, taken one at a time.
struct Listing<'a> {
    name: &'a str,
    pages: usize,
    total: Option<u64>,
    /// Where each page's images are.
    ranges: Vec<Range<usize>>,
}

impl<'a> Listing<'a> {
    fn new(name: &'a str) -> Self {
        Listing {
            name,
            pages: 0,
            total: None,
            ranges: Vec::new(),
        }
    }

    /// Take `page`, whose images are in `images`.
    fn push<T: SnapshotImage>(
        &mut self,
        page: Page,
        which: &str,
        images: &[T],
    ) -> Result<(), SnapshotError> {
        let name = self.name;
        let page = checked(name, page, which, true)?;
        self.pages += 1;
        match (self.total, page.total_count) {
            (Some(before), Some(now)) if before != now => {
                return Err(SnapshotError::Incomplete(
                    Diag::error(
                        Code::SnapshotIncomplete,
                        format!("{name}: {which} says TotalCount {now}, the pages before it {before}; the pages are not one consistent listing"),
                    )
                    .with_help("the listing changed while it was saved; save every page again, or fetch with `ecmguard fetch -o FILE`, which restarts a listing that moves"),
                ));
            }
            (None, now) => self.total = now,
            _ => {}
        }
        // Here rather than over the whole set, so the message says which page.
        let page_images = images.get(page.images.clone()).unwrap_or_default();
        if let Some(position) = page_images.iter().position(|i| i.image_id().is_none()) {
            return Err(without_id(
                name,
                &format!("image {} of {which}", position + 1),
            ));
        }
        self.ranges.push(page.images);
        Ok(())
    }

    fn finish<T>(self, images: Vec<T>) -> Snapshot<T> {
        Snapshot {
            pages: self.pages,
            ..Snapshot::bare(Shape::Pages, used(images, &self.ranges), self.total)
        }
    }
}

/// An image without an `ImageId`; `which` says where it is.
pub(super) fn without_id(name: &str, which: &str) -> SnapshotError {
    SnapshotError::Malformed(
        Diag::error(
            Code::SnapshotImageWithoutId,
            format!(
                "{name}: {which} has no `ImageId`; images without one cannot be told apart, de-duplicated or baselined"
            ),
        )
        .with_help("every DescribeImage image has an ImageId: the file was edited or is not a DescribeImage result"),
    )
}

pub(super) fn shape_error(name: &str, message: impl Into<String>) -> SnapshotError {
    SnapshotError::Malformed(Diag::error(Code::SnapshotShape, format!("{name}: {}", message.into()))
        .with_help("accepted: an ecmguard snapshot, a DescribeImage response {\"Response\": …}, tccli output {\"TotalCount\", \"ImageSet\"}, the pages of one listing in either shape (a JSON array of them, or one after another), or an array of images"))
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

/// `which`: the page that holds the error, when there are several.
fn api_error(name: &str, which: Option<&str>, error: &ApiError) -> SnapshotError {
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
            match which {
                Some(which) => {
                    format!("{name}: {which} holds an API error instead of images: {detail}")
                }
                None => format!("{name}: holds an API error instead of images: {detail}"),
            },
        )
        .with_help(
            "the request that produced this file failed; fetch again with `ecmguard fetch -o FILE`",
        ),
    )
}

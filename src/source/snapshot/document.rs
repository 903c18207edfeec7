//! Reading the JSON documents of a snapshot into what they hold: a whole
//! listing (ours), one page (a `{"Response": …}` or tccli's output), an array
//! of pages, or an array of images. Knows the keys of every shape, and tells a
//! page from an image by the first key of the first element, so an array of
//! tccli outputs (`jq -s`) is read as pages, never as images without an
//! `ImageId`. Whether the result is complete is decided by `listing`.
//!
//! Every error here is a serde error, so that serde_json places it at the line
//! and column where the input went wrong; that is what makes a mixed array or
//! a second document that cannot follow the first a located error.
//!
//! The images of every document go, as they are read, into one vector the
//! reader owns; a page keeps only where its images are in it. So the pages of
//! a listing cost what their images cost, as one document of them would: no
//! vector per page, and no copy of them all into another.

use std::fmt;
use std::ops::Range;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::value::RawValue;

use crate::image::{Image, ImageKey, read_image};

/// What a snapshot's images are read into: ecmguard's typed [`Image`] for a
/// check, or the JSON exactly as written ([`serde_json::Value`]: nulls, key
/// order and unknown values kept) for the API emulator, which serves a file's
/// images as its account.
pub(crate) trait SnapshotImage: DeserializeOwned {
    /// Reads the rest of an image object whose first key the reader has
    /// already taken (to tell an image from a page by it).
    fn read_rest<'de, A: MapAccess<'de>>(first: ImageKey, map: &mut A) -> Result<Self, A::Error>;

    /// The image's `ImageId`, when it has one.
    fn image_id(&self) -> Option<&str>;
}

impl SnapshotImage for Image {
    fn read_rest<'de, A: MapAccess<'de>>(first: ImageKey, map: &mut A) -> Result<Self, A::Error> {
        read_image(Some(first), map)
    }

    fn image_id(&self) -> Option<&str> {
        self.id()
    }
}

impl SnapshotImage for serde_json::Value {
    fn read_rest<'de, A: MapAccess<'de>>(first: ImageKey, map: &mut A) -> Result<Self, A::Error> {
        let mut object = serde_json::Map::new();
        let first = match first {
            ImageKey::Field(field) => field.json_key().to_owned(),
            ImageKey::SrcImage => "SrcImage".to_owned(),
            ImageKey::Other(name) => name.into(),
        };
        object.insert(first, map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }

    fn image_id(&self) -> Option<&str> {
        self.get("ImageId").and_then(serde_json::Value::as_str)
    }
}

/// One page: a `Response` object, or tccli's output (the same members
/// without the envelope).
#[derive(Debug, Default)]
pub(super) struct Page {
    pub(super) total_count: Option<u64>,
    /// Whether `ImageSet` was there at all (`null` is there: an empty page).
    pub(super) has_image_set: bool,
    /// Where its images are in the reader's vector.
    pub(super) images: Range<usize>,
    /// An `Error` key, in whatever shape it came.
    pub(super) error: Option<ApiError>,
}

/// What a page's `Error` said, read loosely: any `Error` at all means the
/// request failed, whether or not it has a readable `Code`.
#[derive(Debug, Default)]
pub(super) struct ApiError {
    pub(super) code: String,
    pub(super) message: String,
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

/// One top-level JSON value of the input, as read.
#[derive(Debug)]
pub(super) enum Top {
    /// An object: ours, a response or tccli's output (told apart by `listing`).
    Object(Box<TopObject>),
    /// An array whose elements are pages (responses or tccli outputs).
    Pages(Vec<TopObject>),
    /// An array of images, or `[]`: where they are in the reader's vector.
    Images(Range<usize>),
}

impl Top {
    /// Whether another document may follow this one: only pages may (the
    /// pages of one listing, one after another, as `cat` writes them).
    fn may_be_followed(&self) -> bool {
        matches!(self, Top::Object(object) if object.schema.is_none())
    }
}

/// The members of a top-level object (or of a page in an array), by key.
#[derive(Debug, Default)]
pub(super) struct TopObject {
    pub(super) schema: Option<String>,
    pub(super) response: Option<Page>,
    /// `ImageSet`: where its images are in the reader's vector; `Some(None)`
    /// when it was `null`.
    pub(super) image_set: Option<Option<Range<usize>>>,
    pub(super) total_count: Option<u64>,
    pub(super) tccli_total: Option<u64>,
    pub(super) error: Option<ApiError>,
    pub(super) fetched_at: Option<String>,
    pub(super) endpoint: Option<String>,
    pub(super) filters: Option<serde_json::Value>,
    /// The `usage` section (`fetch --usage`), in ecmguard's own snapshots.
    pub(super) usage: Option<crate::usage::Section>,
}

/// Reads the first JSON document of the input; its images go to `images`.
pub(super) struct FirstDocument<'a, T> {
    pub(super) images: &'a mut Vec<T>,
}

impl<'de, T: SnapshotImage> DeserializeSeed<'de> for FirstDocument<'_, T> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: SnapshotImage> Visitor<'de> for FirstDocument<'_, T> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a JSON object or array (a snapshot, a response, pages, tccli output or images)",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        read_array(seq, self.images)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let first = map.next_key::<TopKey>()?;
        let object = read_object(first, &mut map, None, self.images)?;
        Ok(Top::Object(Box::new(object)))
    }
}

/// Reads a document after the first: the pages of one listing saved one after
/// another (`cat page*.json`). Anything else is refused where it starts.
pub(super) struct LaterDocument<'a, T> {
    /// 2 for the second document, and so on.
    pub(super) index: usize,
    pub(super) first: &'a Top,
    pub(super) images: &'a mut Vec<T>,
}

impl<'de, T: SnapshotImage> DeserializeSeed<'de> for LaterDocument<'_, T> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<T> LaterDocument<'_, T> {
    /// A document after one that is not a page: the first is whole already.
    fn after_whole<E: serde::de::Error>(&self) -> E {
        let first = match self.first {
            Top::Object(_) => "an ecmguard snapshot",
            Top::Pages(_) => "an array of pages",
            Top::Images(_) => "an array of images",
        };
        E::custom(format!(
            "another JSON document starts here, after {first}; only pages (DescribeImage responses or tccli outputs) may follow one another"
        ))
    }
}

impl<'de, T: SnapshotImage> Visitor<'de> for LaterDocument<'_, T> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "document {} to be a page: a DescribeImage response or tccli output",
            self.index
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Top, A::Error> {
        if !self.first.may_be_followed() {
            return Err(self.after_whole());
        }
        Err(A::Error::custom(format!(
            "document {} is a JSON array; only pages (DescribeImage responses or tccli outputs) may follow one another",
            self.index
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        if !self.first.may_be_followed() {
            return Err(self.after_whole());
        }
        let first = map.next_key::<TopKey>()?;
        let which = format!("document {}", self.index);
        let object = read_object(first, &mut map, Some(&which), self.images)?;
        Ok(Top::Object(Box::new(object)))
    }
}

/// The members of an object, the first key already read; its images go to
/// `images`. `page`: the object must be a page (named so in the error), so
/// ours is refused at its schema.
fn read_object<'de, T: SnapshotImage, A: MapAccess<'de>>(
    first: Option<TopKey>,
    map: &mut A,
    page: Option<&str>,
    images: &mut Vec<T>,
) -> Result<TopObject, A::Error> {
    let mut top = TopObject::default();
    let mut next = first;
    while let Some(key) = next {
        match key {
            TopKey::Schema => {
                if let Some(which) = page {
                    return Err(A::Error::custom(format!(
                        "{which} is an ecmguard snapshot, a whole listing: it cannot be one of several pages"
                    )));
                }
                top.schema = Some(map.next_value()?);
            }
            TopKey::Response => {
                top.response = Some(map.next_value_seed(ResponseSeed {
                    images: &mut *images,
                })?)
            }
            TopKey::ImageSet => {
                top.image_set = Some(map.next_value_seed(ImageListSeed {
                    images: &mut *images,
                })?)
            }
            TopKey::TotalCount => top.tccli_total = map.next_value_seed(CountSeed("TotalCount"))?,
            TopKey::OurTotal => top.total_count = map.next_value_seed(CountSeed("total_count"))?,
            TopKey::Error => {
                let raw = map.next_value::<Box<RawValue>>()?;
                top.error = Some(ApiError::from_raw(&raw));
            }
            TopKey::FetchedAt => top.fetched_at = map.next_value()?,
            TopKey::Endpoint => top.endpoint = map.next_value()?,
            TopKey::Filters => top.filters = map.next_value()?,
            TopKey::Usage => top.usage = map.next_value()?,
            TopKey::RequestId | TopKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        next = map.next_key::<TopKey>()?;
    }
    Ok(top)
}

/// A top-level array, its images to `images`. Its first element says what it
/// holds (pages or images); every other element must be the same kind.
fn read_array<'de, T: SnapshotImage, A: SeqAccess<'de>>(
    mut seq: A,
    images: &mut Vec<T>,
) -> Result<Top, A::Error> {
    let start = images.len();
    let mut pages = Vec::new();
    let mut holds = None;
    let mut index = 1;
    while let Some(kind) = seq.next_element_seed(ElementSeed {
        index,
        holds,
        pages: &mut pages,
        images: &mut *images,
    })? {
        holds = Some(kind);
        index += 1;
    }
    Ok(match holds {
        Some(Kind::Page) => Top::Pages(pages),
        _ => Top::Images(start..images.len()),
    })
}

/// What an array element is, by its first key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page,
    Image,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Page => "a page (a DescribeImage response or tccli output)",
            Kind::Image => "an image",
        })
    }
}

/// An element of a top-level array, read into `pages` or `images`; it says
/// which it was. `holds`: what the elements before it were, which this one
/// must be too.
struct ElementSeed<'a, T> {
    /// 1-based, for messages.
    index: usize,
    holds: Option<Kind>,
    pages: &'a mut Vec<TopObject>,
    images: &'a mut Vec<T>,
}

impl<'de, T: SnapshotImage> DeserializeSeed<'de> for ElementSeed<'_, T> {
    type Value = Kind;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: SnapshotImage> Visitor<'de> for ElementSeed<'_, T> {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an image object or a page ({\"Response\": …} or tccli output)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let first = map.next_key::<FirstKey>()?;
        let kind = match &first {
            Some(FirstKey::Page(_)) => Kind::Page,
            // `{}`: an image without an ImageId, refused as one by the caller.
            Some(FirstKey::Image(_)) | None => Kind::Image,
            Some(FirstKey::Ours) => {
                return Err(A::Error::custom(format!(
                    "element {} is an ecmguard snapshot, a whole listing; an array may hold the pages of one listing or images",
                    self.index
                )));
            }
        };
        if let Some(holds) = self.holds
            && holds != kind
        {
            return Err(A::Error::custom(format!(
                "element {} is {kind}, but the elements before it are {}; an array holds the pages of one listing or images, not both",
                self.index,
                match holds {
                    Kind::Page => "pages",
                    Kind::Image => "images",
                }
            )));
        }
        match first {
            Some(FirstKey::Page(key)) => {
                let which = format!("element {}", self.index);
                let page = read_object(Some(key), &mut map, Some(&which), self.images)?;
                self.pages.push(page);
            }
            Some(FirstKey::Image(key)) => self.images.push(T::read_rest(key, &mut map)?),
            _ => {
                let image = T::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                self.images.push(image);
            }
        }
        Ok(kind)
    }
}

/// The first key of an array element, which says what the element is.
enum FirstKey {
    Page(TopKey),
    /// A key only our snapshot has at its top.
    Ours,
    Image(ImageKey),
}

impl<'de> serde::Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FirstKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<FirstKey, E> {
                Ok(match TopKey::of(v) {
                    key @ (TopKey::Response
                    | TopKey::TotalCount
                    | TopKey::ImageSet
                    | TopKey::RequestId
                    | TopKey::Error) => FirstKey::Page(key),
                    TopKey::Schema
                    | TopKey::OurTotal
                    | TopKey::FetchedAt
                    | TopKey::Endpoint
                    | TopKey::Filters
                    | TopKey::Usage => FirstKey::Ours,
                    TopKey::Other => FirstKey::Image(ImageKey::from_str(v)),
                })
            }
        }
        d.deserialize_str(V)
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

/// The keys of every shape's top (and of a `Response`).
#[derive(Debug, Clone, Copy)]
pub(super) enum TopKey {
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

impl TopKey {
    fn of(key: &str) -> TopKey {
        match key {
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
        }
    }
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
                Ok(TopKey::of(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// `ImageSet`: an array of images, appended to `images`, or null.
struct ImageListSeed<'a, T> {
    images: &'a mut Vec<T>,
}

impl<'de, T: SnapshotImage> DeserializeSeed<'de> for ImageListSeed<'_, T> {
    type Value = Option<Range<usize>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: SnapshotImage> Visitor<'de> for ImageListSeed<'_, T> {
    type Value = Option<Range<usize>>;
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
        let start = self.images.len();
        self.images.reserve(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(image) = seq.next_element::<T>()? {
            self.images.push(image);
        }
        Ok(Some(start..self.images.len()))
    }
}

/// The value of `Response`; its images go to `images`.
struct ResponseSeed<'a, T> {
    images: &'a mut Vec<T>,
}

impl<'de, T: SnapshotImage> DeserializeSeed<'de> for ResponseSeed<'_, T> {
    type Value = Page;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: SnapshotImage> Visitor<'de> for ResponseSeed<'_, T> {
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
                    let at = self.images.len();
                    page.images = map
                        .next_value_seed(ImageListSeed {
                            images: &mut *self.images,
                        })?
                        .unwrap_or(at..at);
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

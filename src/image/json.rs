//! An image as JSON: read with typed errors that name the field and keep
//! unknown members as sent (`read_image`, `Deserialize`), and written back as
//! the API sent it (`Serialize`).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::field::{Field, FieldType, Slot, image_key_field, src_key_field};
use super::{Image, TextRange, push_text};

// ---------------------------------------------------------------------------
// JSON reading. Hand-written so known keys are matched without allocating and
// so a caller can hand over a map whose first key it has already read (the
// snapshot reader tells pages from images that way).

/// A key of an `Image` JSON object.
pub(crate) enum ImageKey {
    Field(Field),
    SrcImage,
    Other(Box<str>),
}

impl ImageKey {
    pub(crate) fn from_str(key: &str) -> ImageKey {
        if key == "SrcImage" {
            return ImageKey::SrcImage;
        }
        image_key_field(key).map_or_else(|| ImageKey::Other(key.into()), ImageKey::Field)
    }
}

impl<'de> Deserialize<'de> for ImageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = ImageKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<ImageKey, E> {
                Ok(ImageKey::from_str(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// An image being read: the image and the text buffer its strings go to.
struct Builder {
    image: Image,
    text: String,
}

/// Read the rest of an image object, starting with `first` if the caller has
/// already consumed that key.
pub(crate) fn read_image<'de, A: MapAccess<'de>>(
    first: Option<ImageKey>,
    map: &mut A,
) -> Result<Image, A::Error> {
    let mut builder = Builder {
        image: Image::default(),
        // Most images' strings fit: one allocation, trimmed at the end.
        text: String::with_capacity(384),
    };
    let mut next = first;
    loop {
        let key = match next.take() {
            Some(key) => key,
            None => match map.next_key::<ImageKey>()? {
                Some(key) => key,
                None => break,
            },
        };
        match key {
            ImageKey::Field(field) => read_field(&mut builder, field, map)?,
            ImageKey::SrcImage => {
                if let Some(()) = map.next_value_seed(SrcImageSeed(&mut builder))? {
                    builder.image.has_src_image = true;
                }
            }
            ImageKey::Other(name) => {
                let raw = map.next_value::<Box<RawValue>>()?;
                check_depth(&name, &raw)?;
                builder.image.extra_mut().top.push((name, raw));
            }
        }
    }
    let Builder { mut image, text } = builder;
    image.text = text.into_boxed_str();
    Ok(image)
}

fn read_field<'de, A: MapAccess<'de>>(
    builder: &mut Builder,
    field: Field,
    map: &mut A,
) -> Result<(), A::Error> {
    match field.slot() {
        Slot::Str(i) => {
            builder.image.strs[i] = map.next_value_seed(TextSeed(&mut builder.text, field))?;
        }
        Slot::Int(i) => {
            let value = map.next_value_seed(IntSeed(field))?;
            builder.image.set_int(i, value);
        }
        Slot::Bool(i) => builder.image.bools[i] = map.next_value_seed(BoolSeed(field))?,
        // No JSON key maps to a usage path (the key lookups know only the API's fields):
        // usage never comes from an image's own JSON.
        Slot::Usage(_) => {
            map.next_value::<serde::de::IgnoredAny>()?;
        }
    }
    Ok(())
}

/// What a field's JSON value must be, for messages people read: `an
/// integer for ImageSize (or null)` rather than serde's `i64`.
fn expecting(f: &mut fmt::Formatter, field: Field) -> fmt::Result {
    let what = match field.ty() {
        FieldType::Integer => "an integer",
        FieldType::Boolean => "true or false",
        FieldType::String | FieldType::Timestamp => "a string",
    };
    write!(f, "{what} for {} (or null)", field.path())
}

/// An integer field (or null).
struct IntSeed(Field);

impl<'de> DeserializeSeed<'de> for IntSeed {
    type Value = Option<i64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for IntSeed {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        expecting(f, self.0)
    }
    fn visit_none<E>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_i64(self)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<i64>, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<i64>, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
    }
}

/// A boolean field (or null).
struct BoolSeed(Field);

impl<'de> DeserializeSeed<'de> for BoolSeed {
    type Value = Option<bool>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for BoolSeed {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        expecting(f, self.0)
    }
    fn visit_none<E>(self) -> Result<Option<bool>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<bool>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_bool(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Option<bool>, E> {
        Ok(Some(v))
    }
}

/// A string (or null) appended to the image's text buffer, without an
/// allocation of its own.
struct TextSeed<'a>(&'a mut String, Field);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = TextRange;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TextRange, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = TextRange;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        expecting(f, self.1)
    }
    fn visit_none<E>(self) -> Result<TextRange, E> {
        Ok(TextRange::MISSING)
    }
    fn visit_unit<E>(self) -> Result<TextRange, E> {
        Ok(TextRange::MISSING)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<TextRange, D::Error> {
        d.deserialize_str(self)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextRange, E> {
        push_text(self.0, v).ok_or_else(|| E::custom("an image's strings exceed 4 GiB"))
    }
}

/// Reads `SrcImage` (an object or null) straight into the image.
struct SrcImageSeed<'a>(&'a mut Builder);

impl<'de> DeserializeSeed<'de> for SrcImageSeed<'_> {
    type Value = Option<()>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<()>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SrcImageSeed<'_> {
    type Value = Option<()>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SrcImage object or null")
    }
    fn visit_none<E>(self) -> Result<Option<()>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<()>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<()>, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<()>, A::Error> {
        while let Some(key) = map.next_key::<SrcKey>()? {
            match key.0 {
                Ok(field) => read_field(self.0, field, &mut map)?,
                Err(name) => {
                    let raw = map.next_value::<Box<RawValue>>()?;
                    check_depth(&name, &raw)?;
                    self.0.image.extra_mut().src.push((name, raw));
                }
            }
        }
        Ok(Some(()))
    }
}

struct SrcKey(Result<Field, Box<str>>);

impl<'de> Deserialize<'de> for SrcKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = SrcKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a SrcImage field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<SrcKey, E> {
                Ok(SrcKey(src_key_field(v).ok_or_else(|| v.into())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Image {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ImageVisitor;
        impl<'de> Visitor<'de> for ImageVisitor {
            type Value = Image;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an Image object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Image, A::Error> {
                read_image(None, &mut map)
            }
        }
        d.deserialize_map(ImageVisitor)
    }
}

/// How deep an unknown field may nest. Unknown fields are kept and written
/// back into reports, where a million-deep value would make the report
/// unreadable to jq or Python; no real field nests a tenth of this.
pub const MAX_UNKNOWN_DEPTH: usize = 64;

/// Refuse an unknown field that nests deeper than [`MAX_UNKNOWN_DEPTH`]: a
/// linear scan of its raw text, counting brackets outside strings.
fn check_depth<E: serde::de::Error>(name: &str, raw: &RawValue) -> Result<(), E> {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in raw.get().bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_UNKNOWN_DEPTH {
        return Err(E::custom(format!(
            "the unknown field `{}` nests {deepest} levels deep; at most {MAX_UNKNOWN_DEPTH} are kept",
            crate::text::clip(name, 100)
        )));
    }
    Ok(())
}

/// Writes the fields that are present (absent and null are both omitted),
/// then the unknown fields as they were received: the image as the API sent
/// it, without its usage (reports show usage as evidence of its own).
impl Serialize for Image {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for field in Field::of_image().filter(|f| !f.in_src_image()) {
            write_field(&mut map, self, field, field.json_key())?;
        }
        if self.has_src_image {
            map.serialize_entry("SrcImage", &SrcImageView(self))?;
        }
        for (key, raw) in self.extra.iter().flat_map(|e| &e.top) {
            map.serialize_entry(key, raw)?;
        }
        map.end()
    }
}

struct SrcImageView<'a>(&'a Image);

impl Serialize for SrcImageView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for field in Field::ALL.iter().copied().filter(|f| f.in_src_image()) {
            write_field(&mut map, self.0, field, field.json_key())?;
        }
        for (key, raw) in self.0.extra.iter().flat_map(|e| &e.src) {
            map.serialize_entry(key, raw)?;
        }
        map.end()
    }
}

fn write_field<M: SerializeMap>(
    map: &mut M,
    image: &Image,
    field: Field,
    key: &str,
) -> Result<(), M::Error> {
    match field.slot() {
        Slot::Str(i) => match image.str_at(i) {
            Some(v) => map.serialize_entry(key, v),
            None => Ok(()),
        },
        Slot::Int(i) => match image.int_at(i) {
            Some(v) => map.serialize_entry(key, &v),
            None => Ok(()),
        },
        Slot::Bool(i) => match image.bools[i] {
            Some(v) => map.serialize_entry(key, &v),
            None => Ok(()),
        },
        Slot::Usage(_) => Ok(()),
    }
}

//! The field table: every addressable path of an image (the API's Image and
//! SrcImage members, and the `Usage.*` paths), its type, where its value is
//! stored, and the JSON key it is read from.

use std::fmt;

use serde::Serialize;

/// The type of a field path, for type-checking policies when they load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    Timestamp,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Timestamp => "timestamp",
        })
    }
}

/// Where a field's value lives in [`Image`](super::Image): the index of its
/// string, integer or boolean, or which of the usage values it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Str(usize),
    Int(usize),
    Bool(usize),
    Usage(UsageSlot),
}

/// Which of an image's usage values a `Usage.*` path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UsageSlot {
    Instances,
    Running,
    Modules,
    InUse,
}

/// The field table, written once: each group's fields with their JSON key and
/// type. From it come the `Field` enum, each field's path (`SrcImage.` and
/// `Usage.` before the key of those groups), type and key, the key lookups the
/// JSON reader matches every key of every image against, and (by
/// [`assign_slots`]) where each value is stored.
macro_rules! fields {
    (
        image { $($image:ident => $image_key:literal, $image_ty:ident;)* }
        src_image { $($src:ident => $src_key:literal, $src_ty:ident;)* }
        usage { $($usage:ident => $usage_key:literal, $usage_ty:ident, $usage_slot:ident;)* }
    ) => {
        /// A field path: of the DescribeImage Image model (`ImageId`, `SrcImage.RegionID`, …),
        /// or of its usage (`Usage.InUse`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($image,)*
            $($src,)*
            $($usage,)*
        }

        impl Field {
            /// Every field path, in the order of the API documentation, then the usage paths.
            pub const ALL: &'static [Field] = &[
                $(Field::$image,)*
                $(Field::$src,)*
                $(Field::$usage,)*
            ];

            pub fn path(self) -> &'static str {
                match self {
                    $(Field::$image => $image_key,)*
                    $(Field::$src => concat!("SrcImage.", $src_key),)*
                    $(Field::$usage => concat!("Usage.", $usage_key),)*
                }
            }

            /// The key inside its JSON object (`RegionID` for `SrcImage.RegionID`, `InUse`
            /// for `Usage.InUse`).
            pub fn json_key(self) -> &'static str {
                match self {
                    $(Field::$image => $image_key,)*
                    $(Field::$src => $src_key,)*
                    $(Field::$usage => $usage_key,)*
                }
            }

            pub const fn ty(self) -> FieldType {
                match self {
                    $(Field::$image => FieldType::$image_ty,)*
                    $(Field::$src => FieldType::$src_ty,)*
                    $(Field::$usage => FieldType::$usage_ty,)*
                }
            }

            pub fn in_src_image(self) -> bool {
                matches!(self, $(Field::$src)|*)
            }

            /// The usage value a `Usage.*` path reads; `None` for the API's fields.
            const fn usage_slot(self) -> Option<UsageSlot> {
                match self {
                    $(Field::$usage => Some(UsageSlot::$usage_slot),)*
                    _ => None,
                }
            }
        }

        /// The field of a key of an `Image` object. A `match` rather than a search
        /// of `Field::ALL`: every key of every image goes through here, and a
        /// linear scan of string comparisons was the largest single cost of reading
        /// a snapshot.
        pub(super) fn image_key_field(key: &str) -> Option<Field> {
            Some(match key {
                $($image_key => Field::$image,)*
                _ => return None,
            })
        }

        /// The field of a key of a `SrcImage` object (see [`image_key_field`]).
        pub(super) fn src_key_field(key: &str) -> Option<Field> {
            Some(match key {
                $($src_key => Field::$src,)*
                _ => return None,
            })
        }
    };
}

fields! {
    image {
        ImageId => "ImageId", String;
        ImageName => "ImageName", String;
        ImageState => "ImageState", String;
        ImageType => "ImageType", String;
        ImageOsName => "ImageOsName", String;
        ImageDescription => "ImageDescription", String;
        ImageCreateTime => "ImageCreateTime", Timestamp;
        Architecture => "Architecture", String;
        OsType => "OsType", String;
        OsVersion => "OsVersion", String;
        Platform => "Platform", String;
        ImageOwner => "ImageOwner", Integer;
        ImageSize => "ImageSize", Integer;
        ImageSource => "ImageSource", String;
        TaskId => "TaskId", String;
        IsSupportCloudInit => "IsSupportCloudInit", Boolean;
    }
    src_image {
        SrcImageId => "ImageId", String;
        SrcImageName => "ImageName", String;
        SrcImageOsName => "ImageOsName", String;
        SrcImageDescription => "ImageDescription", String;
        SrcRegion => "Region", String;
        SrcRegionId => "RegionID", Integer;
        SrcRegionName => "RegionName", String;
        SrcInstanceName => "InstanceName", String;
        SrcInstanceId => "InstanceId", String;
        SrcImageType => "ImageType", String;
    }
    usage {
        UsageInstances => "Instances", Integer, Instances;
        UsageRunningInstances => "RunningInstances", Integer, Running;
        UsageModules => "Modules", Integer, Modules;
        UsageInUse => "InUse", Boolean, InUse;
    }
}

/// Each field's slot, in [`Field::ALL`] order, and how many of each kind there
/// are: the API's strings and timestamps (the text as sent) take the next string
/// slot, its integers and booleans the next of theirs, in table order; a usage
/// path reads its usage value.
const fn assign_slots() -> ([Slot; Field::ALL.len()], [usize; 3]) {
    let mut slots = [Slot::Str(0); Field::ALL.len()];
    let mut counts = [0; 3];
    let mut i = 0;
    while i < Field::ALL.len() {
        let field = Field::ALL[i];
        slots[i] = if let Some(usage) = field.usage_slot() {
            Slot::Usage(usage)
        } else {
            let kind = match field.ty() {
                FieldType::String | FieldType::Timestamp => 0,
                FieldType::Integer => 1,
                FieldType::Boolean => 2,
            };
            let index = counts[kind];
            counts[kind] += 1;
            match kind {
                0 => Slot::Str(index),
                1 => Slot::Int(index),
                _ => Slot::Bool(index),
            }
        };
        i += 1;
    }
    (slots, counts)
}

const SLOTS: ([Slot; Field::ALL.len()], [usize; 3]) = assign_slots();

/// How many string, integer and boolean values an image stores.
pub(super) const STR_SLOTS: usize = SLOTS.1[0];
pub(super) const INT_SLOTS: usize = SLOTS.1[1];
pub(super) const BOOL_SLOTS: usize = SLOTS.1[2];

// Which integers are present is one bit each of a `u8`.
const _: () = assert!(INT_SLOTS <= 8, "ints_present holds 8 integers");

impl Field {
    /// Where the field's value lives in an image.
    pub(super) fn slot(self) -> Slot {
        SLOTS.0[self as usize]
    }
}

impl Field {
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.path() == path)
    }

    /// A `Usage.*` path: not a member of the API's Image, but what uses the image, listed
    /// from `DescribeInstances` and `DescribeModule` when a rule reads it.
    pub fn is_usage(self) -> bool {
        self.usage_slot().is_some()
    }

    /// The fields of the DescribeImage Image model (every path but `Usage.*`).
    pub fn of_image() -> impl Iterator<Item = Field> {
        Field::ALL.iter().copied().filter(|f| !f.is_usage())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

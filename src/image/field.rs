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

/// Where a field's value lives in [`Image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Str(usize),
    Int(usize),
    Bool,
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

macro_rules! fields {
    ($($variant:ident => $path:literal, $ty:ident, $slot:expr;)*) => {
        /// A field path: of the DescribeImage Image model (`ImageId`, `SrcImage.RegionID`, …),
        /// or of its usage (`Usage.InUse`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            /// Every field path, in the order of the API documentation, then the usage paths.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            pub fn path(self) -> &'static str {
                match self {
                    $(Field::$variant => $path,)*
                }
            }

            pub fn ty(self) -> FieldType {
                match self {
                    $(Field::$variant => FieldType::$ty,)*
                }
            }

            pub(super) fn slot(self) -> Slot {
                match self {
                    $(Field::$variant => $slot,)*
                }
            }
        }
    };
}

pub(super) const STR_SLOTS: usize = 22;
pub(super) const INT_SLOTS: usize = 3;

fields! {
    ImageId => "ImageId", String, Slot::Str(0);
    ImageName => "ImageName", String, Slot::Str(1);
    ImageState => "ImageState", String, Slot::Str(2);
    ImageType => "ImageType", String, Slot::Str(3);
    ImageOsName => "ImageOsName", String, Slot::Str(4);
    ImageDescription => "ImageDescription", String, Slot::Str(5);
    ImageCreateTime => "ImageCreateTime", Timestamp, Slot::Str(6);
    Architecture => "Architecture", String, Slot::Str(7);
    OsType => "OsType", String, Slot::Str(8);
    OsVersion => "OsVersion", String, Slot::Str(9);
    Platform => "Platform", String, Slot::Str(10);
    ImageOwner => "ImageOwner", Integer, Slot::Int(0);
    ImageSize => "ImageSize", Integer, Slot::Int(1);
    ImageSource => "ImageSource", String, Slot::Str(11);
    TaskId => "TaskId", String, Slot::Str(12);
    IsSupportCloudInit => "IsSupportCloudInit", Boolean, Slot::Bool;
    SrcImageId => "SrcImage.ImageId", String, Slot::Str(13);
    SrcImageName => "SrcImage.ImageName", String, Slot::Str(14);
    SrcImageOsName => "SrcImage.ImageOsName", String, Slot::Str(15);
    SrcImageDescription => "SrcImage.ImageDescription", String, Slot::Str(16);
    SrcRegion => "SrcImage.Region", String, Slot::Str(17);
    SrcRegionId => "SrcImage.RegionID", Integer, Slot::Int(2);
    SrcRegionName => "SrcImage.RegionName", String, Slot::Str(18);
    SrcInstanceName => "SrcImage.InstanceName", String, Slot::Str(19);
    SrcInstanceId => "SrcImage.InstanceId", String, Slot::Str(20);
    SrcImageType => "SrcImage.ImageType", String, Slot::Str(21);
    UsageInstances => "Usage.Instances", Integer, Slot::Usage(UsageSlot::Instances);
    UsageRunningInstances => "Usage.RunningInstances", Integer, Slot::Usage(UsageSlot::Running);
    UsageModules => "Usage.Modules", Integer, Slot::Usage(UsageSlot::Modules);
    UsageInUse => "Usage.InUse", Boolean, Slot::Usage(UsageSlot::InUse);
}

impl Field {
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.path() == path)
    }

    /// The key inside its JSON object (`RegionID` for `SrcImage.RegionID`, `InUse` for
    /// `Usage.InUse`).
    pub fn json_key(self) -> &'static str {
        let path = self.path();
        path.strip_prefix("SrcImage.")
            .or_else(|| path.strip_prefix("Usage."))
            .unwrap_or(path)
    }

    pub fn in_src_image(self) -> bool {
        self.path().starts_with("SrcImage.")
    }

    /// A `Usage.*` path: not a member of the API's Image, but what uses the image, listed
    /// from `DescribeInstances` and `DescribeModule` when a rule reads it.
    pub fn is_usage(self) -> bool {
        matches!(self.slot(), Slot::Usage(_))
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

/// The field of a key of an `Image` object. A `match` rather than a search
/// of `Field::ALL`: every key of every image goes through here, and a
/// linear scan of string comparisons was the largest single cost of reading
/// a snapshot. `key_lookups_agree_with_the_field_table` keeps it in step.
pub(super) fn image_key_field(key: &str) -> Option<Field> {
    Some(match key {
        "ImageId" => Field::ImageId,
        "ImageName" => Field::ImageName,
        "ImageState" => Field::ImageState,
        "ImageType" => Field::ImageType,
        "ImageOsName" => Field::ImageOsName,
        "ImageDescription" => Field::ImageDescription,
        "ImageCreateTime" => Field::ImageCreateTime,
        "Architecture" => Field::Architecture,
        "OsType" => Field::OsType,
        "OsVersion" => Field::OsVersion,
        "Platform" => Field::Platform,
        "ImageOwner" => Field::ImageOwner,
        "ImageSize" => Field::ImageSize,
        "ImageSource" => Field::ImageSource,
        "TaskId" => Field::TaskId,
        "IsSupportCloudInit" => Field::IsSupportCloudInit,
        _ => return None,
    })
}

/// The field of a key of a `SrcImage` object (see [`image_key_field`]).
pub(super) fn src_key_field(key: &str) -> Option<Field> {
    Some(match key {
        "ImageId" => Field::SrcImageId,
        "ImageName" => Field::SrcImageName,
        "ImageOsName" => Field::SrcImageOsName,
        "ImageDescription" => Field::SrcImageDescription,
        "Region" => Field::SrcRegion,
        "RegionID" => Field::SrcRegionId,
        "RegionName" => Field::SrcRegionName,
        "InstanceName" => Field::SrcInstanceName,
        "InstanceId" => Field::SrcInstanceId,
        "ImageType" => Field::SrcImageType,
        _ => return None,
    })
}

//! The listing actions of the ECM API that ecmguard reads: `DescribeImage`, and for usage
//! `DescribeInstances` and `DescribeModule`. One listing (`paginate`, `retry`, `client`)
//! serves all three; what differs between them is said here, once: the action's name, the
//! key of its set in a response, the key that tells two items apart, the nouns messages
//! use, and what of an item is kept.
//!
//! Images are kept exactly as the API sent them (snapshots and reports show them whole). An
//! instance or a module is trimmed, as the page arrives, to the members usage reads
//! (`usage::Instance`, `usage::Module`): a full `Instance` is about 3 KiB of JSON, and a
//! large account has tens of thousands of them.

use serde_json::value::RawValue;

use crate::usage::{Instance, Module};

/// One listing action.
#[derive(Debug, PartialEq, Eq)]
pub struct Action {
    /// The action name (`X-TC-Action`), e.g. `DescribeInstances`.
    pub name: &'static str,
    /// The key of the item array in a response, e.g. `InstanceSet`.
    pub set_key: &'static str,
    /// The key of an item's id, after trimming, e.g. `InstanceId`.
    pub id_key: &'static str,
    /// The item, singular and plural, for messages: `instance`, `instances`.
    pub item: &'static str,
    pub items: &'static str,
    /// What of an item is kept.
    trim: Trim,
}

#[derive(Debug, PartialEq, Eq)]
enum Trim {
    /// The item exactly as sent.
    Whole,
    /// `{InstanceId, InstanceState, Image: {ImageId}, SimpleModule}`.
    Instance,
    /// `ModuleItem.Module` as `{ModuleId, ModuleName, ModuleState, DefaultImage: {ImageId}}`.
    Module,
}

/// `DescribeImage`: the images, kept whole.
pub static DESCRIBE_IMAGE: Action = Action {
    name: "DescribeImage",
    set_key: "ImageSet",
    id_key: "ImageId",
    item: "image",
    items: "images",
    trim: Trim::Whole,
};

/// `DescribeInstances`: which image each instance runs.
pub static DESCRIBE_INSTANCES: Action = Action {
    name: "DescribeInstances",
    set_key: "InstanceSet",
    id_key: "InstanceId",
    item: "instance",
    items: "instances",
    trim: Trim::Instance,
};

/// `DescribeModule`: which image each module deploys by default.
pub static DESCRIBE_MODULE: Action = Action {
    name: "DescribeModule",
    set_key: "ModuleItemSet",
    id_key: "ModuleId",
    item: "module",
    items: "modules",
    trim: Trim::Module,
};

/// The usage actions accept at most this many values in one filter (`image-id`,
/// `module-id`): longer lists are sent as several listings.
pub const MAX_USAGE_FILTER_VALUES: usize = 5;

impl Action {
    /// The CAM permission the action needs, e.g. `ecm:DescribeInstances`.
    pub fn permission(&self) -> String {
        format!("ecm:{}", self.name)
    }

    /// `3 instances`.
    pub fn count(&self, n: u64) -> String {
        crate::text::count(n, self.item, self.items)
    }

    /// The item as kept: the same JSON for images, the trimmed members for instances and
    /// modules. `Err` says why the item does not fit the documented model.
    pub(crate) fn keep(&self, raw: Box<RawValue>) -> Result<Box<RawValue>, String> {
        let trimmed = match self.trim {
            Trim::Whole => return Ok(raw),
            Trim::Instance => serde_json::from_str::<Instance>(raw.get())
                .and_then(|instance| serde_json::value::to_raw_value(&instance)),
            Trim::Module => serde_json::from_str::<ModuleItem>(raw.get())
                .and_then(|item| serde_json::value::to_raw_value(&item.module.unwrap_or_default())),
        };
        trimmed.map_err(|e| strip_position(&e.to_string()))
    }
}

/// A `ModuleItemSet` element: `{NodeInstanceNum, Module}`; only `Module` is kept.
#[derive(serde::Deserialize)]
struct ModuleItem {
    #[serde(rename = "Module", default)]
    module: Option<Module>,
}

/// serde_json's messages end with " at line L column C" of the item's own text, which
/// says nothing to someone reading a page.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(action: &Action, json: &str) -> Result<String, String> {
        let raw = RawValue::from_string(json.to_owned()).unwrap();
        action.keep(raw).map(|kept| kept.get().to_owned())
    }

    #[test]
    fn images_are_kept_whole_and_usage_items_trimmed() {
        let image = r#"{"ImageId":"img-1","Future":[1, 2]}"#;
        assert_eq!(keep(&DESCRIBE_IMAGE, image).unwrap(), image);
        let instance = r#"{"InstanceId":"ein-1","InstanceName":"n","InstanceState":"RUNNING",
            "Image":{"ImageId":"img-1","ImageName":"x","SrcImage":{"ImageId":"img-0"}},
            "SimpleModule":{"ModuleId":"em-1","ModuleName":"web"},"CreateTime":"2020-09-27 16:13:51"}"#;
        assert_eq!(
            keep(&DESCRIBE_INSTANCES, instance).unwrap(),
            r#"{"InstanceId":"ein-1","InstanceState":"RUNNING","Image":{"ImageId":"img-1"},"SimpleModule":{"ModuleId":"em-1","ModuleName":"web"}}"#
        );
        let null_image = r#"{"InstanceId":"ein-2","InstanceState":"STOPPED","Image":null}"#;
        assert_eq!(
            keep(&DESCRIBE_INSTANCES, null_image).unwrap(),
            r#"{"InstanceId":"ein-2","InstanceState":"STOPPED","Image":null,"SimpleModule":null}"#
        );
        let module = r#"{"NodeInstanceNum":{"NodeNum":3,"InstanceNum":8},"Module":{"ModuleId":"em-1",
            "ModuleName":"t1","ModuleState":"NORMAL","DefaultImage":{"ImageId":"img-1","ImageName":"d"},"TagSet":null}}"#;
        assert_eq!(
            keep(&DESCRIBE_MODULE, module).unwrap(),
            r#"{"ModuleId":"em-1","ModuleName":"t1","ModuleState":"NORMAL","DefaultImage":{"ImageId":"img-1"}}"#
        );
        // No Module at all: kept without an id, which the listing refuses.
        assert_eq!(
            keep(&DESCRIBE_MODULE, r#"{"Module":null}"#).unwrap(),
            r#"{"ModuleId":null,"ModuleName":null,"ModuleState":null,"DefaultImage":null}"#
        );
        let wrong = keep(
            &DESCRIBE_INSTANCES,
            r#"{"InstanceId":"ein-1","InstanceState":5}"#,
        );
        assert!(wrong.unwrap_err().contains("invalid type"));
    }

    #[test]
    fn permissions_and_nouns() {
        assert_eq!(DESCRIBE_INSTANCES.permission(), "ecm:DescribeInstances");
        assert_eq!(DESCRIBE_MODULE.count(1), "1 module");
        assert_eq!(DESCRIBE_IMAGE.count(2), "2 images");
    }
}

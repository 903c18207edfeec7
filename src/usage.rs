//! Which instances and modules use each image (docs/usage.md): the two listings as ecmguard
//! keeps them ([`Instance`], [`Module`], trimmed to the members usage reads), checked into a
//! complete, de-duplicated [`UsageSet`], and the [`Usage`] index (ImageId → the instances and
//! modules behind its counts, plus how many instances run an image nobody can name) that
//! fills every image's `Usage.*` fields.
//!
//! Pure data: the live listing and the snapshot reader produce the items, `image` joins the
//! index into the image set, and reports read the evidence from it.

use std::collections::HashMap;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The `InstanceState` counted by `Usage.RunningInstances`.
pub const RUNNING: &str = "RUNNING";

/// A `DescribeInstances` instance, trimmed to `{InstanceId, InstanceState, Image: {ImageId},
/// SimpleModule}`. Every member may be absent or null in an answer; which of them must be
/// there is checked by [`UsageSet::new`], not by the parser, so the error can say so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    #[serde(rename = "InstanceId", default)]
    pub id: Option<String>,
    #[serde(rename = "InstanceState", default)]
    pub state: Option<String>,
    /// The image the instance runs; `null` when the API cannot name it.
    #[serde(rename = "Image", default)]
    pub image: Option<ImageRef>,
    #[serde(rename = "SimpleModule", default)]
    pub module: Option<SimpleModule>,
}

/// An `Image` member (`Instance.Image`, `Module.DefaultImage`) trimmed to its `ImageId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    #[serde(rename = "ImageId", default)]
    pub id: Option<String>,
}

/// `Instance.SimpleModule`: the module the instance belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleModule {
    #[serde(rename = "ModuleId", default)]
    pub id: Option<String>,
    #[serde(rename = "ModuleName", default)]
    pub name: Option<String>,
}

/// A `DescribeModule` module (`ModuleItem.Module`), trimmed to `{ModuleId, ModuleName,
/// ModuleState, DefaultImage: {ImageId}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    #[serde(rename = "ModuleId", default)]
    pub id: Option<String>,
    #[serde(rename = "ModuleName", default)]
    pub name: Option<String>,
    #[serde(rename = "ModuleState", default)]
    pub state: Option<String>,
    /// The image the module's new instances get; `null`: the module deploys no image.
    #[serde(rename = "DefaultImage", default)]
    pub default_image: Option<ImageRef>,
}

impl Instance {
    /// An instance of this id and state, running `image` (`None`: its `Image` is null).
    pub fn new(id: &str, state: &str, image: Option<&str>) -> Instance {
        Instance {
            id: Some(id.to_owned()),
            state: Some(state.to_owned()),
            image: image.map(ImageRef::to),
            module: None,
        }
    }

    /// The image this instance runs, when the API names one (`Image` null, or without a
    /// non-empty `ImageId`: unknown).
    pub fn image_id(&self) -> Option<&str> {
        self.image.as_ref().and_then(ImageRef::named)
    }

    pub fn is_running(&self) -> bool {
        self.state.as_deref() == Some(RUNNING)
    }
}

impl Module {
    /// A module of this id deploying `image` (`None`: no default image).
    pub fn new(id: &str, image: Option<&str>) -> Module {
        Module {
            id: Some(id.to_owned()),
            default_image: image.map(ImageRef::to),
            ..Module::default()
        }
    }

    /// The image this module deploys, if it has a default image.
    pub fn image_id(&self) -> Option<&str> {
        self.default_image.as_ref().and_then(ImageRef::named)
    }
}

impl ImageRef {
    /// A reference to the image `id`.
    pub fn to(id: &str) -> ImageRef {
        ImageRef {
            id: Some(id.to_owned()),
        }
    }

    fn named(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.is_empty())
    }
}

/// Why listings of instances and modules cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// An item without its id cannot be told apart from another, so the set is unknown.
    WithoutId {
        /// `instance` or `module`.
        item: &'static str,
        /// 1-based position in its list.
        position: usize,
    },
    /// The distinct items are not as many as the listing's total says.
    Incomplete {
        /// `instances` or `modules`.
        items: &'static str,
        distinct: u64,
        total: u64,
    },
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsageError::WithoutId { item, position } => {
                let key = if *item == "instance" {
                    "InstanceId"
                } else {
                    "ModuleId"
                };
                write!(f, "{item} {position} has no `{key}`")
            }
            UsageError::Incomplete {
                items,
                distinct,
                total,
            } => write!(f, "{distinct} distinct {items} but a total of {total}"),
        }
    }
}

/// The complete instance and module listings: every item with its id, de-duplicated by id
/// (the first kept), exactly as many as each listing's total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageSet {
    pub instances: Vec<Instance>,
    pub modules: Vec<Module>,
}

impl UsageSet {
    /// Check two listings and their totals (`TotalCount`, or a snapshot's `instances_total`
    /// and `modules_total`).
    pub fn new(
        instances: Vec<Instance>,
        instances_total: u64,
        modules: Vec<Module>,
        modules_total: u64,
    ) -> Result<UsageSet, UsageError> {
        let instances = distinct(instances, "instance", "instances", instances_total, |i| {
            i.id.as_deref()
        })?;
        let modules = distinct(modules, "module", "modules", modules_total, |m| {
            m.id.as_deref()
        })?;
        Ok(UsageSet { instances, modules })
    }
}

fn distinct<T>(
    items: Vec<T>,
    item: &'static str,
    plural: &'static str,
    total: u64,
    id: impl Fn(&T) -> Option<&str>,
) -> Result<Vec<T>, UsageError> {
    if let Some(position) = items.iter().position(|x| id(x).is_none_or(str::is_empty)) {
        return Err(UsageError::WithoutId {
            item,
            position: position + 1,
        });
    }
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(items.len());
        items.iter().map(|x| seen.insert(id(x))).collect()
    };
    let mut flags = keep.into_iter();
    let mut items = items;
    items.retain(|_| flags.next().unwrap_or(true));
    if items.len() as u64 != total {
        return Err(UsageError::Incomplete {
            items: plural,
            distinct: items.len() as u64,
            total,
        });
    }
    Ok(items)
}

/// The `usage` section of an ecmguard snapshot, as read: both listings as the API sent them
/// (trimmed) and their totals, each checked by [`Section::check`] before it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Section {
    #[serde(default)]
    pub instances_total: Option<u64>,
    #[serde(default)]
    pub modules_total: Option<u64>,
    #[serde(rename = "InstanceSet", default)]
    pub instances: Option<Vec<Instance>>,
    #[serde(rename = "ModuleSet", default)]
    pub modules: Option<Vec<Module>>,
}

/// Why a snapshot's usage section cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionError {
    /// A total or a set is missing (or null): whether the listing is whole is unknown.
    Missing(&'static str),
    /// An item without its id, or a set that does not add up to its total.
    Set(UsageError),
}

impl Section {
    /// The complete set this section states, or why it is not one.
    pub fn check(self) -> Result<UsageSet, SectionError> {
        let instances_total = self
            .instances_total
            .ok_or(SectionError::Missing("instances_total"))?;
        let modules_total = self
            .modules_total
            .ok_or(SectionError::Missing("modules_total"))?;
        let instances = self.instances.ok_or(SectionError::Missing("InstanceSet"))?;
        let modules = self.modules.ok_or(SectionError::Missing("ModuleSet"))?;
        UsageSet::new(instances, instances_total, modules, modules_total).map_err(SectionError::Set)
    }
}

/// The `usage` section as `fetch` writes it: `{"instances_total", "modules_total",
/// "InstanceSet", "ModuleSet"}`, each item trimmed as it was kept.
#[derive(Debug, Serialize)]
pub struct SectionOut<'a> {
    pub instances_total: u64,
    pub modules_total: u64,
    #[serde(rename = "InstanceSet")]
    pub instances: &'a [Instance],
    #[serde(rename = "ModuleSet")]
    pub modules: &'a [Module],
}

impl<'a> SectionOut<'a> {
    /// The section of a complete set (its totals are its lengths).
    pub fn of(set: &'a UsageSet) -> Self {
        SectionOut {
            instances_total: set.instances.len() as u64,
            modules_total: set.modules.len() as u64,
            instances: &set.instances,
            modules: &set.modules,
        }
    }
}

/// What uses one image: positions in [`UsageSet::instances`] and [`UsageSet::modules`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageUse {
    pub instances: Vec<u32>,
    /// How many of `instances` are `RUNNING`.
    pub running: u32,
    pub modules: Vec<u32>,
}

/// The usage of every image: the listings, and an index from ImageId to what uses it.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    set: UsageSet,
    by_image: HashMap<Box<str>, ImageUse>,
    unknown_image_instances: u64,
}

/// The counts of one image, as its `Usage.*` fields hold them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub instances: u32,
    pub running: u32,
    pub modules: u32,
}

impl Usage {
    /// Index a complete set.
    pub fn new(set: UsageSet) -> Usage {
        // Keys borrowed from the listings while counting, owned once per used image at the
        // end: most images are used more than once.
        let mut borrowed: HashMap<&str, ImageUse> = HashMap::new();
        let mut unknown_image_instances = 0;
        for (position, instance) in set.instances.iter().enumerate() {
            let Some(image) = instance.image_id() else {
                unknown_image_instances += 1;
                continue;
            };
            let entry = borrowed.entry(image).or_default();
            entry.instances.push(position as u32);
            if instance.is_running() {
                entry.running += 1;
            }
        }
        for (position, module) in set.modules.iter().enumerate() {
            // A module without a default image deploys nothing: it uses no image, and it
            // hides none either.
            if let Some(image) = module.image_id() {
                borrowed
                    .entry(image)
                    .or_default()
                    .modules
                    .push(position as u32);
            }
        }
        let by_image = borrowed
            .into_iter()
            .map(|(image, used)| (Box::from(image), used))
            .collect();
        Usage {
            set,
            by_image,
            unknown_image_instances,
        }
    }

    /// The listings indexed.
    pub fn set(&self) -> &UsageSet {
        &self.set
    }

    /// Instances whose image the API does not name (`Image` null): while there is one, no
    /// image can be proven unused, and every count is a lower bound.
    pub fn unknown_image_instances(&self) -> u64 {
        self.unknown_image_instances
    }

    /// Whether the counts are exact (no instance runs an image nobody can name).
    pub fn is_exact(&self) -> bool {
        self.unknown_image_instances == 0
    }

    /// What uses the image `image_id` (nothing counted: `None`).
    pub fn of(&self, image_id: &str) -> Option<&ImageUse> {
        self.by_image.get(image_id)
    }

    /// The counts of the image `image_id`.
    pub fn counts(&self, image_id: &str) -> Counts {
        self.of(image_id).map_or(Counts::default(), |used| Counts {
            instances: used.instances.len() as u32,
            running: used.running,
            modules: used.modules.len() as u32,
        })
    }

    /// The ids of the instances behind an image's count, in listing order.
    pub fn instance_ids<'a>(&'a self, used: &'a ImageUse) -> impl Iterator<Item = &'a str> + 'a {
        used.instances.iter().filter_map(|&i| {
            self.set
                .instances
                .get(i as usize)
                .and_then(|instance| instance.id.as_deref())
        })
    }

    /// The ids of the modules behind an image's count, in listing order.
    pub fn module_ids<'a>(&'a self, used: &'a ImageUse) -> impl Iterator<Item = &'a str> + 'a {
        used.modules.iter().filter_map(|&i| {
            self.set
                .modules
                .get(i as usize)
                .and_then(|module| module.id.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_instances_running_ones_and_modules() {
        let set = UsageSet::new(
            vec![
                Instance::new("ein-1", "RUNNING", Some("img-a")),
                Instance::new("ein-2", "STOPPED", Some("img-a")),
                Instance::new("ein-3", "RUNNING", Some("img-b")),
                Instance::new("ein-4", "LAUNCH_FAILED", Some("img-a")),
            ],
            4,
            vec![
                Module::new("em-1", Some("img-a")),
                Module::new("em-2", None),
            ],
            2,
        )
        .unwrap();
        let usage = Usage::new(set);
        assert!(usage.is_exact());
        assert_eq!(
            usage.counts("img-a"),
            Counts {
                instances: 3,
                running: 1,
                modules: 1
            }
        );
        assert_eq!(usage.counts("img-c"), Counts::default());
        let used = usage.of("img-a").unwrap();
        assert_eq!(
            usage.instance_ids(used).collect::<Vec<_>>(),
            ["ein-1", "ein-2", "ein-4"]
        );
        assert_eq!(usage.module_ids(used).collect::<Vec<_>>(), ["em-1"]);
    }

    #[test]
    fn an_instance_without_a_named_image_makes_counts_lower_bounds() {
        let mut empty = Instance::new("ein-3", "RUNNING", Some(""));
        empty.image = Some(ImageRef { id: None });
        let set = UsageSet::new(
            vec![
                Instance::new("ein-1", "RUNNING", Some("img-a")),
                Instance::new("ein-2", "RUNNING", None),
                empty,
            ],
            3,
            Vec::new(),
            0,
        )
        .unwrap();
        let usage = Usage::new(set);
        assert_eq!(usage.unknown_image_instances(), 2);
        assert!(!usage.is_exact());
    }

    #[test]
    fn a_section_is_written_as_it_is_read_and_checked_whole() {
        let set = UsageSet::new(
            vec![Instance::new("ein-1", "RUNNING", Some("img-a"))],
            1,
            vec![Module::new("em-1", None)],
            1,
        )
        .unwrap();
        let text = serde_json::to_string(&SectionOut::of(&set)).unwrap();
        assert_eq!(
            text,
            r#"{"instances_total":1,"modules_total":1,"InstanceSet":[{"InstanceId":"ein-1","InstanceState":"RUNNING","Image":{"ImageId":"img-a"},"SimpleModule":null}],"ModuleSet":[{"ModuleId":"em-1","ModuleName":null,"ModuleState":null,"DefaultImage":null}]}"#
        );
        let read: Section = serde_json::from_str(&text).unwrap();
        assert_eq!(read.clone().check().unwrap(), set);
        let mut no_total = read.clone();
        no_total.modules_total = None;
        assert_eq!(
            no_total.check().unwrap_err(),
            SectionError::Missing("modules_total")
        );
        let mut short = read;
        short.instances_total = Some(2);
        assert!(matches!(
            short.check(),
            Err(SectionError::Set(UsageError::Incomplete { .. }))
        ));
    }

    #[test]
    fn sets_are_checked_for_ids_and_totals() {
        let dup = UsageSet::new(
            vec![
                Instance::new("ein-1", "RUNNING", Some("img-a")),
                Instance::new("ein-1", "RUNNING", Some("img-a")),
            ],
            1,
            Vec::new(),
            0,
        )
        .unwrap();
        assert_eq!(dup.instances.len(), 1);
        let short = UsageSet::new(Vec::new(), 0, vec![Module::new("em-1", None)], 2).unwrap_err();
        assert_eq!(
            short,
            UsageError::Incomplete {
                items: "modules",
                distinct: 1,
                total: 2
            }
        );
        assert_eq!(short.to_string(), "1 distinct modules but a total of 2");
        let mut nameless = Instance::new("", "RUNNING", None);
        nameless.id = None;
        let err = UsageSet::new(vec![nameless], 1, Vec::new(), 0).unwrap_err();
        assert_eq!(err.to_string(), "instance 1 has no `InstanceId`");
    }
}

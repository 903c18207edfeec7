//! The usage actions: `DescribeInstances` (which instances run which image) and
//! `DescribeModule` (which image each module deploys by default), served from the same data
//! as `DescribeImage`: instances and modules that reference images by id.
//!
//! The data is kept compact ([`Instance`], [`Module`]) and rendered in the API's shape when a
//! page is served: an `Instance` with its `Image` (the whole image object of the data set, as
//! the service embeds it), `SimpleModule` and the other members of the official example; a
//! `ModuleItem` with its `Module` and `DefaultImage`. Filters follow the documented names and
//! limits (at most 5 values per filter).
//!
//! Data comes from a data file's `instances` and `modules` sections ([`load_usage`]), or from
//! an ecmguard snapshot's `usage` section, or is generated with a realistic share of used
//! images ([`generate_usage`]).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::ApiErr;
use crate::data::{Params, check_paging, public_view};

/// `DescribeInstances`.
pub const DESCRIBE_INSTANCES: &str = "DescribeInstances";
/// `DescribeModule`.
pub const DESCRIBE_MODULE: &str = "DescribeModule";

/// The documented filter names of `DescribeInstances`.
pub const INSTANCE_FILTERS: [&str; 16] = [
    "zone",
    "zone-name",
    "module-id",
    "instance-id",
    "instance-name",
    "ip-address",
    "instance-uuid",
    "instance-state",
    "internet-service-provider",
    "tag-key",
    "tag:",
    "instance-family",
    "module-name",
    "image-id",
    "vpc-id",
    "subnet-id",
];

/// The documented filter names of `DescribeModule`.
pub const MODULE_FILTERS: [&str; 5] = [
    "module-name",
    "module-id",
    "image-id",
    "instance-family",
    "security-group-id",
];

/// The documented maximum number of values in one filter of the usage actions.
pub const MAX_FILTER_VALUES: usize = 5;

/// An instance of the data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `InstanceId`, e.g. `ein-bb0ab3pc`.
    pub id: String,
    /// `InstanceName`.
    pub name: String,
    /// `InstanceState`: `RUNNING`, `STOPPED`, `LAUNCH_FAILED`, …
    pub state: String,
    /// The `ImageId` of its image; `None`: the API sends `Image: null`.
    pub image: Option<String>,
    /// The `ModuleId` of its module (`SimpleModule`), if any.
    pub module: Option<String>,
}

/// A module of the data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// `ModuleId`, e.g. `em-5wrpefy1`.
    pub id: String,
    /// `ModuleName`.
    pub name: String,
    /// `ModuleState`: `NORMAL`, `DELETING`, `DELETEFAILED`.
    pub state: String,
    /// The `ImageId` of its `DefaultImage`; `None`: `DefaultImage: null` (it deploys none).
    pub default_image: Option<String>,
}

/// Whether `action` is one of the two usage actions.
pub(crate) fn is_usage_action(action: &str) -> bool {
    action == DESCRIBE_INSTANCES || action == DESCRIBE_MODULE
}

/// The key of the action's set in a response.
pub(crate) fn set_key(action: &str) -> &'static str {
    if action == DESCRIBE_INSTANCES {
        "InstanceSet"
    } else {
        "ModuleItemSet"
    }
}

/// The documented limits of the usage actions' filters.
pub(crate) fn check(action: &str, params: &Params) -> Result<(), ApiErr> {
    check_paging(params)?;
    let names: &[&str] = if action == DESCRIBE_INSTANCES {
        &INSTANCE_FILTERS
    } else {
        &MODULE_FILTERS
    };
    for (name, values) in &params.filters {
        let known = names
            .iter()
            .any(|known| name == known || (*known == "tag:" && name.starts_with("tag:")));
        if !known {
            return Err(ApiErr::new(
                "InvalidParameterValue.InvalidFilter",
                &format!("The filter `{name}` is not supported by {action}."),
            ));
        }
        if values.len() > MAX_FILTER_VALUES {
            return Err(ApiErr::new(
                "InvalidParameterValue.FilterLimitExceeded",
                &format!(
                    "The filter `{name}` accepts at most {MAX_FILTER_VALUES} values, got {}.",
                    values.len()
                ),
            ));
        }
        if !emulated(name) {
            return Err(ApiErr::new(
                "UnsupportedOperation",
                &format!("The filter `{name}` is documented but not emulated."),
            ));
        }
    }
    Ok(())
}

/// The filters the emulator implements (the others are refused, not ignored: a test must
/// not pass on a filter that silently matched everything).
fn emulated(name: &str) -> bool {
    matches!(
        name,
        "image-id"
            | "module-id"
            | "instance-id"
            | "instance-state"
            | "instance-name"
            | "module-name"
    )
}

/// Where each item of a list is, by id: built once and checked on every use (an entry that no
/// longer points at an item with its id, or a miss, rebuilds it, at most once a request), so
/// the pages of a large listing do not each index every image, and no path that changes the
/// data has to remember to update it. With duplicate ids, the last one is found.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    positions: HashMap<String, usize>,
}

/// One request's lookups in an [`IdIndex`]: the index is rebuilt at most once.
struct Lookup<'i, 'a, T> {
    index: &'i mut IdIndex,
    items: &'a [T],
    id_of: fn(&T) -> Option<&str>,
    rebuilt: bool,
}

impl<'i, 'a, T> Lookup<'i, 'a, T> {
    fn new(index: &'i mut IdIndex, items: &'a [T], id_of: fn(&T) -> Option<&str>) -> Self {
        Lookup {
            index,
            items,
            id_of,
            rebuilt: false,
        }
    }

    fn get(&mut self, id: &str) -> Option<&'a T> {
        let found = |index: &IdIndex| {
            let item = self.items.get(*index.positions.get(id)?)?;
            ((self.id_of)(item) == Some(id)).then_some(item)
        };
        if let Some(item) = found(self.index) {
            return Some(item);
        }
        if self.rebuilt {
            return None;
        }
        self.rebuilt = true;
        self.index.positions = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some(((self.id_of)(item)?.to_owned(), i)))
            .collect();
        found(self.index)
    }
}

fn image_id(image: &Value) -> Option<&str> {
    image.get("ImageId")?.as_str()
}

fn module_id(module: &Module) -> Option<&str> {
    Some(&module.id)
}

impl Instance {
    fn matches(
        &self,
        modules: &mut Lookup<'_, '_, Module>,
        filters: &[(String, Vec<String>)],
    ) -> bool {
        filters.iter().all(|(name, values)| {
            let any = |v: Option<&str>| v.is_some_and(|v| values.iter().any(|x| x == v));
            match name.as_str() {
                "image-id" => any(self.image.as_deref()),
                "module-id" => any(self.module.as_deref()),
                "instance-id" => any(Some(&self.id)),
                "instance-state" => any(Some(&self.state)),
                "instance-name" => values.iter().any(|x| self.name.contains(x.as_str())),
                "module-name" => self
                    .module
                    .as_deref()
                    .and_then(|id| modules.get(id))
                    .is_some_and(|m| values.iter().any(|x| m.name.contains(x.as_str()))),
                _ => false,
            }
        })
    }

    /// The instance as `DescribeInstances` sends it, its `Image` the data set's image (or
    /// `{"ImageId"}` alone for an id the data set does not hold).
    fn render(
        &self,
        images: &mut Lookup<'_, '_, Value>,
        modules: &mut Lookup<'_, '_, Module>,
    ) -> Value {
        let image = match &self.image {
            None => Value::Null,
            Some(id) => images
                .get(id)
                .map_or_else(|| json!({ "ImageId": id }), public_view),
        };
        let module = match &self.module {
            None => Value::Null,
            Some(id) => json!({
                "ModuleId": id,
                "ModuleName": modules.get(id).map_or("", |m| m.name.as_str()),
            }),
        };
        // The members of the official example that are not read, so pages are as large as
        // the service's.
        json!({
            "InstanceId": self.id,
            "InstanceName": self.name,
            "InstanceState": self.state,
            "Image": image,
            "SimpleModule": module,
            "CreateTime": "2020-09-27 16:13:51",
            "ExpireTime": "2020-09-27 16:13:51",
            "RestrictState": "NORMAL",
            "ISP": "CTCC",
            "SystemDiskSize": 50,
            "DataDiskSize": 0,
            "SecurityGroupIds": [],
            "TagSet": null,
            "LatestOperation": "ResetInstancesPassword",
            "LatestOperationState": "SUCCESS",
            "UUID": format!("3c3e605a-33a0-41ca-9251-{:012x}", fnv(&self.id) & 0xffff_ffff_ffff),
            "InstanceTypeConfig": {
                "InstanceType": "SN3ne.2XLARGE16", "Vcpu": 8, "Memory": 16,
                "Frequency": "2.5 GHz", "CpuModelName": "Intel Xeon Skylake 6133",
                "InstanceFamilyConfig": { "InstanceFamily": "SN3ne", "InstanceFamilyName": "标准型SN3ne" }
            },
            "VirtualPrivateCloud": {
                "VpcId": "vpc-95ytv1vr", "SubnetId": "subnet-fua8fff8",
                "PrivateIpAddresses": ["10.11.12.6"], "AsVpcGateway": false
            },
            "Position": {
                "ZoneInfo": { "ZoneId": 12000001, "Zone": "ap-bhmini-ecm-1", "ZoneName": "腾讯滨海专区" },
                "RegionInfo": { "Region": "ap-bhmini-ecm", "RegionName": "腾讯滨海专区", "RegionId": 0 }
            }
        })
    }
}

impl Module {
    fn matches(&self, filters: &[(String, Vec<String>)]) -> bool {
        filters.iter().all(|(name, values)| {
            let any = |v: Option<&str>| v.is_some_and(|v| values.iter().any(|x| x == v));
            match name.as_str() {
                "image-id" => any(self.default_image.as_deref()),
                "module-id" => any(Some(&self.id)),
                "module-name" => values.iter().any(|x| self.name.contains(x.as_str())),
                _ => false,
            }
        })
    }

    /// The `ModuleItem` as `DescribeModule` sends it.
    fn render(&self, images: &mut Lookup<'_, '_, Value>, instances: usize) -> Value {
        let image = match &self.default_image {
            None => Value::Null,
            Some(id) => images
                .get(id)
                .map_or_else(|| json!({ "ImageId": id }), public_view),
        };
        json!({
            "Module": {
                "ModuleId": self.id,
                "ModuleName": self.name,
                "ModuleState": self.state,
                "DefaultImage": image,
                "CreateTime": "2024-01-25 19:35:00",
                "DefaultBandwidth": 1024,
                "DefaultSystemDiskSize": 50,
                "SecurityGroupIds": ["esg-g4k23455"],
                "TagSet": null,
                "UserData": ""
            },
            "NodeInstanceNum": { "NodeNum": 1, "InstanceNum": instances }
        })
    }
}

/// The indexes of the data set's images and modules by id, kept between requests.
#[derive(Debug, Default)]
pub(crate) struct Indexes {
    images: IdIndex,
    modules: IdIndex,
}

/// The data a usage page is served from.
pub(crate) struct Data<'a> {
    pub images: &'a [Value],
    pub instances: &'a [Instance],
    pub modules: &'a [Module],
}

/// One page of `action`: how many items match `filters`, and those in `window(total)`
/// rendered (only those: a page renders at most a hundred items, whatever the total, and
/// looks up only their images and modules).
pub(crate) fn page(
    action: &str,
    data: Data<'_>,
    indexes: &mut Indexes,
    filters: &[(String, Vec<String>)],
    window: impl FnOnce(usize) -> std::ops::Range<usize>,
) -> (usize, Vec<Value>) {
    let mut images = Lookup::new(&mut indexes.images, data.images, image_id);
    let mut modules = Lookup::new(&mut indexes.modules, data.modules, module_id);
    if action == DESCRIBE_INSTANCES {
        let matched: Vec<&Instance> = data
            .instances
            .iter()
            .filter(|i| i.matches(&mut modules, filters))
            .collect();
        let page = matched[window(matched.len())]
            .iter()
            .map(|i| i.render(&mut images, &mut modules))
            .collect();
        (matched.len(), page)
    } else {
        let mut members: HashMap<&str, usize> = HashMap::new();
        for instance in data.instances {
            if let Some(module) = &instance.module {
                *members.entry(module.as_str()).or_default() += 1;
            }
        }
        let matched: Vec<&Module> = data.modules.iter().filter(|m| m.matches(filters)).collect();
        let page = matched[window(matched.len())]
            .iter()
            .map(|m| {
                m.render(
                    &mut images,
                    members.get(m.id.as_str()).copied().unwrap_or(0),
                )
            })
            .collect();
        (matched.len(), page)
    }
}

/// Every item of `action` matching `filters`, rendered, in data order.
#[cfg(test)]
fn matching(
    action: &str,
    images: &[Value],
    instances: &[Instance],
    modules: &[Module],
    filters: &[(String, Vec<String>)],
) -> Vec<Value> {
    let data = Data {
        images,
        instances,
        modules,
    };
    page(action, data, &mut Indexes::default(), filters, |total| {
        0..total
    })
    .1
}

/// A synthetic instance (inserted by a fault script), running `image`.
pub fn synthetic_instance(i: usize, image: Option<String>) -> Instance {
    Instance {
        id: format!("ein-{}", crate::data::base36(i as u64, 8)),
        name: format!("node-{i}"),
        state: STATES[i % STATES.len()].to_owned(),
        image,
        module: None,
    }
}

/// A synthetic module (inserted by a fault script), deploying `image`.
pub fn synthetic_module(i: usize, image: Option<String>) -> Module {
    Module {
        id: format!("em-{}", crate::data::base36(i as u64, 8)),
        name: format!("module-{i}"),
        state: "NORMAL".to_owned(),
        default_image: image,
    }
}

/// Instance states in a realistic mix: mostly running, some stopped, a few failed, being
/// destroyed or changing state.
const STATES: [&str; 20] = [
    "RUNNING",
    "RUNNING",
    "STOPPED",
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "LAUNCH_FAILED",
    "RUNNING",
    "RUNNING",
    "STOPPED",
    "RUNNING",
    "SHUTDOWN",
    "RUNNING",
    "RUNNING",
    "STARTING",
    "RUNNING",
    "RUNNING",
    "TERMINATING",
    "RUNNING",
    "RUNNING",
];

/// FNV-1a, for deterministic choices (no randomness: the same data every run).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `instances` instances and `modules` modules over `images`, deterministic, with a
/// realistic share of use: about 55 % of the private images run on instances (each on a
/// few), some public images too; half the modules deploy a private image no instance runs
/// (used only by a module), and one module in ten has no default image. Every instance has
/// an image (a null `Image` only comes from a fault script, `null_image`).
pub fn generate_usage(
    images: &[Value],
    instances: usize,
    modules: usize,
) -> (Vec<Instance>, Vec<Module>) {
    let id_of = |image: &Value| {
        image
            .get("ImageId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let private =
        |image: &&Value| image.get("ImageType").and_then(Value::as_str) == Some("PRIVATE_IMAGE");
    let mut run_by_instances: Vec<String> = Vec::new();
    let mut module_only: Vec<String> = Vec::new();
    for (i, image) in images.iter().filter(private).enumerate() {
        let Some(id) = id_of(image) else { continue };
        match fnv(&id) % 100 {
            0..55 => run_by_instances.push(id),
            55..60 if i % 2 == 0 => module_only.push(id),
            _ => {}
        }
    }
    // A few public images run too (a base image used as is).
    run_by_instances.extend(
        images
            .iter()
            .filter(|image| !private(image))
            .filter_map(id_of)
            .step_by(5),
    );
    let module_list: Vec<Module> = (0..modules)
        .map(|j| {
            let image = if j % 10 == 9 {
                None
            } else if j % 2 == 0 && !module_only.is_empty() {
                Some(module_only[(j / 2) % module_only.len()].clone())
            } else if run_by_instances.is_empty() {
                None
            } else {
                Some(run_by_instances[(j * 7) % run_by_instances.len()].clone())
            };
            Module {
                id: format!("em-{}", crate::data::base36(j as u64, 8)),
                name: format!("module-{j}"),
                state: if j % 50 == 49 { "DELETING" } else { "NORMAL" }.to_owned(),
                default_image: image,
            }
        })
        .collect();
    let instance_list = (0..instances)
        .map(|k| {
            // Images are used unevenly: a few run on many instances, most on a few.
            let image = if run_by_instances.is_empty() {
                None
            } else {
                let pick = (fnv(&k.to_string()) as usize) % run_by_instances.len();
                let skewed = if k % 3 == 0 { pick % 16 } else { pick };
                Some(run_by_instances[skewed % run_by_instances.len()].clone())
            };
            Instance {
                id: format!("ein-{}", crate::data::base36(k as u64, 8)),
                name: format!("node-{k}"),
                state: STATES[k % STATES.len()].to_owned(),
                image,
                module: (modules > 0 && k % 4 != 3).then(|| module_list[k % modules].id.clone()),
            }
        })
        .collect();
    (instance_list, module_list)
}

/// Reads the usage of a data file: its `instances` and `modules` sections, which reference
/// images by id,
///
/// ```json
/// {"ImageSet": [...],
///  "instances": [{"InstanceId": "ein-1", "InstanceState": "RUNNING", "ImageId": "img-1", "ModuleId": "em-1"}],
///  "modules": [{"ModuleId": "em-1", "ModuleName": "web", "DefaultImageId": "img-1"}]}
/// ```
///
/// (`"ImageId": null` is an instance whose `Image` is null; `"DefaultImageId": null` a module
/// without a default image), or an ecmguard snapshot's `usage` section (`InstanceSet` and
/// `ModuleSet` as the API sent them, trimmed). A document with neither has no usage.
pub fn load_usage(text: &str) -> Result<(Vec<Instance>, Vec<Module>), String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let text_of =
        |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let required = |item: &Value, key: &str, what: &str, n: usize| {
        text_of(item, key).ok_or_else(|| format!("{what} {} has no string `{key}`", n + 1))
    };
    let list = |value: Option<&Value>, what: &str| -> Result<Vec<Value>, String> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(format!("`{what}` is not an array")),
        }
    };
    let mut instances = Vec::new();
    let mut modules = Vec::new();
    if let Some(usage) = doc.get("usage") {
        for (n, item) in list(usage.get("InstanceSet"), "usage.InstanceSet")?
            .iter()
            .enumerate()
        {
            instances.push(Instance {
                id: required(item, "InstanceId", "instance", n)?,
                name: text_of(item, "InstanceName").unwrap_or_default(),
                state: text_of(item, "InstanceState").unwrap_or_default(),
                image: item.get("Image").and_then(|i| text_of(i, "ImageId")),
                module: item
                    .get("SimpleModule")
                    .and_then(|m| text_of(m, "ModuleId")),
            });
        }
        for (n, item) in list(usage.get("ModuleSet"), "usage.ModuleSet")?
            .iter()
            .enumerate()
        {
            modules.push(Module {
                id: required(item, "ModuleId", "module", n)?,
                name: text_of(item, "ModuleName").unwrap_or_default(),
                state: text_of(item, "ModuleState").unwrap_or_else(|| "NORMAL".to_owned()),
                default_image: item.get("DefaultImage").and_then(|i| text_of(i, "ImageId")),
            });
        }
    }
    for (n, item) in list(doc.get("instances"), "instances")?.iter().enumerate() {
        instances.push(Instance {
            id: required(item, "InstanceId", "instance", n)?,
            name: text_of(item, "InstanceName").unwrap_or_else(|| format!("node-{n}")),
            state: text_of(item, "InstanceState").unwrap_or_else(|| "RUNNING".to_owned()),
            image: text_of(item, "ImageId"),
            module: text_of(item, "ModuleId"),
        });
    }
    for (n, item) in list(doc.get("modules"), "modules")?.iter().enumerate() {
        modules.push(Module {
            id: required(item, "ModuleId", "module", n)?,
            name: text_of(item, "ModuleName").unwrap_or_else(|| format!("module-{n}")),
            state: text_of(item, "ModuleState").unwrap_or_else(|| "NORMAL".to_owned()),
            default_image: text_of(item, "DefaultImageId"),
        });
    }
    Ok((instances, modules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::generate_images;

    /// The index kept between requests follows the data however it changed: an entry that
    /// points at another item, or a miss, rebuilds it (once a request), and the last of
    /// duplicate ids is found, as a table of the whole list would.
    #[test]
    fn the_id_index_follows_changed_data() {
        let mut index = IdIndex::default();
        let mut images = vec![
            json!({ "ImageId": "img-a", "n": 1 }),
            json!({ "ImageId": "img-b", "n": 2 }),
        ];
        let n = |v: Option<&Value>| v.map(|v| v["n"].clone());
        let mut lookup = Lookup::new(&mut index, &images, image_id);
        assert_eq!(n(lookup.get("img-b")), Some(json!(2)));
        assert_eq!(lookup.get("img-x"), None);
        // Deleted, moved and added images, as DeleteImage and fault scripts change them.
        images.remove(0);
        images.push(json!({ "ImageId": "img-c", "n": 3 }));
        images.push(json!({ "ImageId": "img-c", "n": 4 }));
        let mut lookup = Lookup::new(&mut index, &images, image_id);
        assert_eq!(n(lookup.get("img-b")), Some(json!(2)), "moved");
        assert_eq!(lookup.get("img-a"), None, "deleted");
        assert_eq!(
            n(lookup.get("img-c")),
            Some(json!(4)),
            "added, the last of two"
        );
        assert_eq!(index.positions.len(), 2);
    }

    #[test]
    fn generated_usage_has_a_realistic_share() {
        let images = generate_images(3000);
        let (instances, modules) = generate_usage(&images, 6000, 150);
        assert_eq!((instances.len(), modules.len()), (6000, 150));
        let private: Vec<&str> = images
            .iter()
            .filter(|i| i["ImageType"] == "PRIVATE_IMAGE")
            .map(|i| i["ImageId"].as_str().unwrap())
            .collect();
        let used: std::collections::HashSet<&str> = instances
            .iter()
            .filter_map(|i| i.image.as_deref())
            .chain(modules.iter().filter_map(|m| m.default_image.as_deref()))
            .collect();
        let share =
            private.iter().filter(|id| used.contains(*id)).count() as f64 / private.len() as f64;
        assert!((0.5..0.7).contains(&share), "{share}");
        let run: std::collections::HashSet<&str> = instances
            .iter()
            .filter_map(|i| i.image.as_deref())
            .collect();
        assert!(
            modules
                .iter()
                .filter_map(|m| m.default_image.as_deref())
                .any(|id| !run.contains(id)),
            "some images are used only by a module"
        );
        assert!(modules.iter().any(|m| m.default_image.is_none()));
        assert!(instances.iter().all(|i| i.image.is_some()));
        assert!(instances.iter().any(|i| i.state != "RUNNING"));
        // Deterministic.
        assert_eq!(generate_usage(&images, 6000, 150).0, instances);
    }

    #[test]
    fn data_files_reference_images_and_render_whole() {
        let images = generate_images(3);
        let id = images[1]["ImageId"].as_str().unwrap().to_owned();
        let text = serde_json::to_string(&json!({
            "ImageSet": images,
            "instances": [
                {"InstanceId": "ein-1", "InstanceState": "RUNNING", "ImageId": id, "ModuleId": "em-1"},
                {"InstanceId": "ein-2", "ImageId": null}
            ],
            "modules": [{"ModuleId": "em-1", "ModuleName": "web", "DefaultImageId": id},
                        {"ModuleId": "em-2", "DefaultImageId": null}]
        }))
        .unwrap();
        let (instances, modules) = load_usage(&text).unwrap();
        assert_eq!(instances[1].image, None);
        let page = matching(DESCRIBE_INSTANCES, &images, &instances, &modules, &[]);
        assert_eq!(page[0]["Image"], public_view(&images[1]));
        assert_eq!(page[0]["SimpleModule"]["ModuleName"], "web");
        assert_eq!(page[1]["Image"], Value::Null);
        let by_image = matching(
            DESCRIBE_MODULE,
            &images,
            &instances,
            &modules,
            &[("image-id".into(), vec![id.clone()])],
        );
        assert_eq!(by_image.len(), 1);
        assert_eq!(
            by_image[0]["Module"]["DefaultImage"]["ImageId"],
            id.as_str()
        );
        assert_eq!(by_image[0]["NodeInstanceNum"]["InstanceNum"], 1);
        // A snapshot's usage section reads the same.
        let snapshot = json!({"usage": {"InstanceSet": [{"InstanceId": "ein-9", "InstanceState": "STOPPED",
            "Image": {"ImageId": id}, "SimpleModule": null}], "ModuleSet": []}});
        let (instances, _) = load_usage(&snapshot.to_string()).unwrap();
        assert_eq!(instances[0].image.as_deref(), Some(id.as_str()));
        assert!(load_usage(r#"{"instances": [{"ImageId": "x"}]}"#).is_err());
    }

    #[test]
    fn filters_have_their_documented_limits() {
        let params = |filters: Vec<(&str, usize)>| Params {
            offset: 0,
            limit: 100,
            filters: filters
                .into_iter()
                .map(|(n, k)| (n.to_owned(), (0..k).map(|i| i.to_string()).collect()))
                .collect(),
        };
        assert!(check(DESCRIBE_INSTANCES, &params(vec![("image-id", 5)])).is_ok());
        let code = |action, p| check(action, &p).unwrap_err().code;
        assert_eq!(
            code(DESCRIBE_INSTANCES, params(vec![("image-id", 6)])),
            "InvalidParameterValue.FilterLimitExceeded"
        );
        assert_eq!(
            code(DESCRIBE_MODULE, params(vec![("instance-id", 1)])),
            "InvalidParameterValue.InvalidFilter"
        );
        assert_eq!(
            code(DESCRIBE_INSTANCES, params(vec![("vpc-id", 1)])),
            "UnsupportedOperation"
        );
        assert!(check(DESCRIBE_MODULE, &params(vec![("module-id", 5)])).is_ok());
    }
}

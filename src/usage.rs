//! Which instances and modules use each image (docs/usage.md): the two listings as ecmguard
//! keeps them ([`Instance`], [`Module`], trimmed to the members usage reads), checked into a
//! complete, de-duplicated [`UsageSet`] (and a snapshot's `usage` [`Section`]), and [`Usage`]:
//! the set with how many instances run an image nobody can name, joined by image position
//! into an image set ([`Join`]: the counts that fill every image's `Usage.*` fields, and the
//! instances and modules behind them) or indexed by ImageId ([`ByImage`]).
//!
//! Pure data: the live listing and the snapshot reader produce the items, `image` joins
//! usage into the image set, and reports read the evidence from it.

use std::collections::HashMap;
use std::collections::HashSet;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The `InstanceState` counted by `Usage.RunningInstances`.
pub const RUNNING: &str = "RUNNING";

/// A `DescribeInstances` instance, trimmed to `{InstanceId, InstanceState, Image: {ImageId},
/// SimpleModule}`. Every member may be absent or null in an answer; which of them must be
/// there is checked by [`UsageSet::new`], not by the parser, so the error can say so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    #[serde(rename = "InstanceId", default)]
    pub id: Option<CompactString>,
    #[serde(rename = "InstanceState", default)]
    pub state: Option<CompactString>,
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
    pub id: Option<CompactString>,
}

/// `Instance.SimpleModule`: the module the instance belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleModule {
    #[serde(rename = "ModuleId", default)]
    pub id: Option<CompactString>,
    #[serde(rename = "ModuleName", default)]
    pub name: Option<CompactString>,
}

/// A `DescribeModule` module (`ModuleItem.Module`), trimmed to `{ModuleId, ModuleName,
/// ModuleState, DefaultImage: {ImageId}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    #[serde(rename = "ModuleId", default)]
    pub id: Option<CompactString>,
    #[serde(rename = "ModuleName", default)]
    pub name: Option<CompactString>,
    #[serde(rename = "ModuleState", default)]
    pub state: Option<CompactString>,
    /// The image the module's new instances get; `null`: the module deploys no image.
    #[serde(rename = "DefaultImage", default)]
    pub default_image: Option<ImageRef>,
}

impl Instance {
    /// An instance of this id and state, running `image` (`None`: its `Image` is null).
    pub fn new(id: &str, state: &str, image: Option<&str>) -> Instance {
        Instance {
            id: Some(id.into()),
            state: Some(state.into()),
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
            id: Some(id.into()),
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
            id: Some(id.into()),
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
    // Ids of up to 15 bytes (every real one) are compared as numbers: no id's text is read
    // twice.
    let keep: Vec<bool> = {
        let hashing = IdHashing::new();
        let mut short: HashSet<u128, IdHashing> =
            HashSet::with_capacity_and_hasher(items.len(), hashing);
        let mut long: HashSet<&str, IdHashing> = HashSet::with_hasher(hashing);
        items
            .iter()
            .map(|x| {
                let id = id(x).unwrap_or_default();
                match short_key(id) {
                    Some(key) => short.insert(key),
                    None => long.insert(id),
                }
            })
            .collect()
    };
    let mut items = items;
    if keep.contains(&false) {
        let mut flags = keep.into_iter();
        items.retain(|_| flags.next().unwrap_or(true));
    }
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

/// The usage of the account: the listings, and how many instances run an image nobody can
/// name. What uses each image is worked out by [`Usage::join`] (for an image set) or
/// [`Usage::by_image`] (by id, for anything else).
#[derive(Debug, Clone, Default)]
pub struct Usage {
    set: UsageSet,
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
    /// The usage of a complete set.
    pub fn new(set: UsageSet) -> Usage {
        let unknown_image_instances = set
            .instances
            .iter()
            .filter(|i| i.image_id().is_none())
            .count() as u64;
        Usage {
            set,
            unknown_image_instances,
        }
    }

    /// The listings.
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

    /// What uses each of these images (`ids`, by position; `None`: an image without an id,
    /// which nothing can name). The join of a check: one hash of each image's id and one
    /// lookup per instance and module, into a few flat arrays, so it costs a small share of
    /// evaluating the same images (README, "Performance").
    pub fn join<'a>(&self, ids: impl ExactSizeIterator<Item = Option<&'a str>>) -> Join {
        let n = ids.len();
        let images: Vec<Option<&str>> = ids.collect();
        let wanted = self
            .set
            .instances
            .iter()
            .map(Instance::image_id)
            .chain(self.set.modules.iter().map(Module::image_id));
        let found = positions(&images, wanted);
        let (instance_of, module_of) = found.split_at(self.set.instances.len().min(found.len()));
        let mut counts = vec![Counts::default(); n];
        for (instance, at) in self.set.instances.iter().zip(instance_of) {
            if let Some(c) = at.and_then(|at| counts.get_mut(at as usize)) {
                c.instances += 1;
                c.running += u32::from(instance.is_running());
            }
        }
        for at in module_of {
            if let Some(c) = at.and_then(|at| counts.get_mut(at as usize)) {
                c.modules += 1;
            }
        }
        let (instance_start, instances) = grouped(instance_of, n, |c| c.instances, &counts);
        let (module_start, modules) = grouped(module_of, n, |c| c.modules, &counts);
        Join {
            counts,
            instance_start,
            instances,
            module_start,
            modules,
        }
    }

    /// What uses each image named in the listings, by id: for looking up images that are
    /// not in an image set (a re-check of a few images).
    pub fn by_image(&self) -> ByImage<'_> {
        let mut by_id: HashMap<&str, ImageUse, IdHashing> = HashMap::with_hasher(IdHashing::new());
        for (position, instance) in self.set.instances.iter().enumerate() {
            if let Some(image) = instance.image_id() {
                let entry = by_id.entry(image).or_default();
                entry.instances.push(position as u32);
                entry.running += u32::from(instance.is_running());
            }
        }
        for (position, module) in self.set.modules.iter().enumerate() {
            if let Some(image) = module.image_id() {
                by_id
                    .entry(image)
                    .or_default()
                    .modules
                    .push(position as u32);
            }
        }
        ByImage { usage: self, by_id }
    }

    /// The ids of the instances at these positions, in listing order.
    pub fn instance_ids<'a>(&'a self, positions: &'a [u32]) -> impl Iterator<Item = &'a str> + 'a {
        positions.iter().filter_map(|&i| {
            self.set
                .instances
                .get(i as usize)
                .and_then(|instance| instance.id.as_deref())
        })
    }

    /// The ids of the modules at these positions, in listing order.
    pub fn module_ids<'a>(&'a self, positions: &'a [u32]) -> impl Iterator<Item = &'a str> + 'a {
        positions.iter().filter_map(|&i| {
            self.set
                .modules
                .get(i as usize)
                .and_then(|module| module.id.as_deref())
        })
    }
}

/// Where each of `wanted` is among `images` (the first of an id; `None`: not there), by a
/// hash join partitioned on the ids' hashes so that each partition's table stays in the
/// processor's cache: with one table for a whole account, nearly every lookup was a cache
/// miss, and the join took most of the time of evaluating the same images (README,
/// "Performance"). Ids are hashed once, as numbers when they are short (an ImageId is);
/// longer ones, which real ids never are, go through one ordinary table.
fn positions<'a>(
    images: &[Option<&'a str>],
    wanted: impl Iterator<Item = Option<&'a str>>,
) -> Vec<Option<u32>> {
    let hashing = IdHashing::new();
    let hash = |key: u128| {
        use std::hash::BuildHasher;
        hashing.hash_one(key)
    };
    let mut long: HashMap<&str, u32, IdHashing> = HashMap::with_hasher(hashing);
    let mut build: Vec<Keyed> = Vec::with_capacity(images.len());
    for (position, id) in images.iter().enumerate() {
        let Some(id) = id else { continue };
        match short_key(id) {
            Some(key) => build.push(Keyed {
                hash: hash(key),
                key,
                at: position as u32,
            }),
            None => {
                long.entry(id).or_insert(position as u32);
            }
        }
    }
    let mut found: Vec<Option<u32>> = Vec::new();
    let mut probe: Vec<Keyed> = Vec::new();
    for (index, id) in wanted.enumerate() {
        found.push(None);
        let Some(id) = id else { continue };
        match short_key(id) {
            Some(key) => probe.push(Keyed {
                hash: hash(key),
                key,
                at: index as u32,
            }),
            None => found[index] = long.get(id).copied(),
        }
    }
    // About 2,000 images a partition (its table is 16 KiB), at most 4,096 partitions: the
    // partitions' tables stay in cache, and so do the partitioning's write streams.
    let bits = (build.len() / 2048)
        .max(1)
        .next_power_of_two()
        .trailing_zeros()
        .min(12);
    let partition = |k: &Keyed| {
        if bits == 0 {
            0
        } else {
            (k.hash >> (64 - bits)) as usize
        }
    };
    let (build, build_start) = partitioned(build, 1 << bits, partition);
    let (probe, probe_start) = partitioned(probe, 1 << bits, partition);
    let mut table: Vec<u32> = Vec::new();
    for p in 0..(1usize << bits) {
        let members = &build[build_start[p]..build_start[p + 1]];
        let size = (members.len() * 2).max(2).next_power_of_two();
        let mask = size - 1;
        table.clear();
        table.resize(size, u32::MAX);
        for (i, member) in members.iter().enumerate() {
            let mut slot = member.hash as usize & mask;
            loop {
                match table[slot] {
                    u32::MAX => {
                        table[slot] = i as u32;
                        break;
                    }
                    // A repeated id: the first image keeps it.
                    other if members[other as usize].key == member.key => break,
                    _ => slot = (slot + 1) & mask,
                }
            }
        }
        for wanted in &probe[probe_start[p]..probe_start[p + 1]] {
            let mut slot = wanted.hash as usize & mask;
            while let Some(&entry) = table.get(slot).filter(|e| **e != u32::MAX) {
                let member = &members[entry as usize];
                if member.key == wanted.key {
                    found[wanted.at as usize] = Some(member.at);
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
    }
    found
}

/// An id as a number, its hash, and where it is (an image's position, or a lookup's).
#[derive(Clone, Copy)]
struct Keyed {
    hash: u64,
    key: u128,
    at: u32,
}

/// `items` grouped by `partition` (a counting sort, stable): the items, and where each of
/// the `count` partitions starts (the last entry is the end).
fn partitioned(
    items: Vec<Keyed>,
    count: usize,
    partition: impl Fn(&Keyed) -> usize,
) -> (Vec<Keyed>, Vec<usize>) {
    let mut start = vec![0usize; count + 1];
    for item in &items {
        start[partition(item) + 1] += 1;
    }
    for p in 0..count {
        start[p + 1] += start[p];
    }
    let mut next = start.clone();
    let mut out = vec![
        Keyed {
            hash: 0,
            key: 0,
            at: 0
        };
        items.len()
    ];
    for item in items {
        let p = partition(&item);
        out[next[p]] = item;
        next[p] += 1;
    }
    (out, start)
}

/// An id of at most 15 bytes as one number: its bytes, and its length in the top byte
/// (so `a` and `a\0` differ). `None` for a longer id.
fn short_key(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut key = [0u8; 16];
    key[..bytes.len()].copy_from_slice(bytes);
    key[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(key))
}

/// The positions of the items of each image, grouped by image (in listing order within
/// one): `start[i]..start[i + 1]` of `items` are image `i`'s.
fn grouped(
    image_of: &[Option<u32>],
    n: usize,
    count: impl Fn(&Counts) -> u32,
    counts: &[Counts],
) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(n + 1);
    let mut total = 0u32;
    start.push(0);
    for c in counts {
        total += count(c);
        start.push(total);
    }
    let mut next: Vec<u32> = start[..n].to_vec();
    let mut items = vec![0u32; total as usize];
    for (position, at) in image_of.iter().enumerate() {
        if let Some(at) = at {
            let slot = &mut next[*at as usize];
            if let Some(item) = items.get_mut(*slot as usize) {
                *item = position as u32;
            }
            *slot += 1;
        }
    }
    (start, items)
}

/// What uses each image of a set, by its position in the set ([`Usage::join`]).
#[derive(Debug, Clone, Default)]
pub struct Join {
    counts: Vec<Counts>,
    instance_start: Vec<u32>,
    instances: Vec<u32>,
    module_start: Vec<u32>,
    modules: Vec<u32>,
}

impl Join {
    /// The counts of the image at `position`.
    pub fn counts(&self, position: usize) -> Counts {
        self.counts.get(position).copied().unwrap_or_default()
    }

    /// The positions (in the listing) of the instances that run the image at `position`.
    pub fn instances(&self, position: usize) -> &[u32] {
        slice(&self.instance_start, &self.instances, position)
    }

    /// The positions (in the listing) of the modules that deploy the image at `position`.
    pub fn modules(&self, position: usize) -> &[u32] {
        slice(&self.module_start, &self.modules, position)
    }
}

fn slice<'a>(start: &[u32], items: &'a [u32], position: usize) -> &'a [u32] {
    match (start.get(position), start.get(position + 1)) {
        (Some(&from), Some(&to)) => items.get(from as usize..to as usize).unwrap_or(&[]),
        _ => &[],
    }
}

/// What uses each image named in the listings, by id ([`Usage::by_image`]).
#[derive(Debug)]
pub struct ByImage<'a> {
    usage: &'a Usage,
    by_id: HashMap<&'a str, ImageUse, IdHashing>,
}

impl<'a> ByImage<'a> {
    /// What uses the image `image_id` (nothing counted: `None`).
    pub fn of(&self, image_id: &str) -> Option<&ImageUse> {
        self.by_id.get(image_id)
    }

    /// The counts of the image `image_id`.
    pub fn counts(&self, image_id: &str) -> Counts {
        self.of(image_id).map_or(Counts::default(), |used| Counts {
            instances: used.instances.len() as u32,
            running: used.running,
            modules: used.modules.len() as u32,
        })
    }

    /// The usage this indexes.
    pub fn usage(&self) -> &'a Usage {
        self.usage
    }
}

/// How ImageIds are hashed in a join: std's SipHash was most of the join's time, and the
/// join runs over every image and instance of a check. FxHash's multiply-rotate mix from a
/// per-process random seed, with murmur3's finaliser: ids from a snapshot cannot be made to
/// collide (and the join slowed to a crawl) without knowing the seed.
#[derive(Debug, Clone, Copy)]
struct IdHashing {
    seed: u64,
}

impl IdHashing {
    fn new() -> IdHashing {
        use std::hash::BuildHasher;
        // RandomState is seeded from the OS once per process.
        IdHashing {
            seed: std::collections::hash_map::RandomState::new().hash_one(0x1d5_u64),
        }
    }
}

impl std::hash::BuildHasher for IdHashing {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.seed)
    }
}

struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_u128(&mut self, value: u128) {
        self.add(value as u64);
        self.add((value >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // murmur3's fmix64: every input bit reaches every output bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
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
        let by_image = usage.by_image();
        assert_eq!(
            by_image.counts("img-a"),
            Counts {
                instances: 3,
                running: 1,
                modules: 1
            }
        );
        assert_eq!(by_image.counts("img-c"), Counts::default());
        let used = by_image.of("img-a").unwrap();
        assert_eq!(
            usage.instance_ids(&used.instances).collect::<Vec<_>>(),
            ["ein-1", "ein-2", "ein-4"]
        );
        assert_eq!(
            usage.module_ids(&used.modules).collect::<Vec<_>>(),
            ["em-1"]
        );
        // The join of an image set: the same, by position, for the images of the set.
        let join = usage.join([Some("img-c"), Some("img-a"), None, Some("img-a")].into_iter());
        assert_eq!(join.counts(1), by_image.counts("img-a"));
        assert_eq!(join.counts(0), Counts::default());
        assert_eq!(
            usage.instance_ids(join.instances(1)).collect::<Vec<_>>(),
            ["ein-1", "ein-2", "ein-4"]
        );
        assert_eq!(
            usage.module_ids(join.modules(1)).collect::<Vec<_>>(),
            ["em-1"]
        );
        // A repeated id is the first image's (the set keeps the first).
        assert_eq!(join.counts(3), Counts::default());
        assert!(join.instances(2).is_empty() && join.modules(9).is_empty());
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

    /// The partitioned join finds what the plain index by id finds, for every image: short
    /// and long ids (the two kinds of key), ids of 15 and 16 bytes, repeated images, ids no
    /// image has, across many partitions.
    #[test]
    fn the_partitioned_join_agrees_with_the_index_by_id() {
        let id = |i: usize| match i % 5 {
            0 => format!("img-{i:08}"),
            1 => format!("{i:015}"),
            2 => format!("{i:016}"),
            3 => format!("image-with-a-long-id-{i}"),
            _ => format!("i{i}"),
        };
        let images: Vec<String> = (0..9_000).map(id).collect();
        let mut set = UsageSet::default();
        for k in 0..20_000 {
            // Some instances run images outside the set.
            let image = id((k * 7) % 9_500);
            set.instances.push(Instance::new(
                &format!("ein-{k}"),
                if k % 3 == 0 { "STOPPED" } else { RUNNING },
                (k % 101 != 0).then_some(image.as_str()),
            ));
        }
        for m in 0..700 {
            set.modules
                .push(Module::new(&format!("em-{m}"), Some(&id((m * 13) % 9_200))));
        }
        let usage = Usage::new(set);
        let mut with_repeats: Vec<Option<&str>> = images.iter().map(|i| Some(i.as_str())).collect();
        with_repeats.push(Some(images[42].as_str()));
        with_repeats.push(None);
        let join = usage.join(with_repeats.clone().into_iter());
        let by_image = usage.by_image();
        for (position, image) in images.iter().enumerate() {
            assert_eq!(join.counts(position), by_image.counts(image), "{image}");
            let used = by_image.of(image);
            assert_eq!(
                join.instances(position),
                used.map_or(&[][..], |u| &u.instances[..]),
                "{image}"
            );
            assert_eq!(
                join.modules(position),
                used.map_or(&[][..], |u| &u.modules[..])
            );
        }
        // The repeat of an id and an image without one are not counted.
        assert_eq!(join.counts(9_000), Counts::default());
        assert_eq!(join.counts(9_001), Counts::default());
        assert!(usage.unknown_image_instances() > 0);
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

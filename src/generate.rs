//! A seeded generator of realistic `DescribeImage` image sets, for benchmarks,
//! scale tests and fuzz seeds: the same seed always gives the same images.
//!
//! Images follow the documented DescribeImage formats and the official examples
//! (`img-` + 8 lowercase alphanumerics, Chinese and ASCII names, public images
//! with an empty `ImageCreateTime` and owner 0, private ones all owned by
//! the one account's UIN, fields absent or `null`,
//! `SrcImage` present, absent or `null`, every observed `ImageState`), and
//! their usage (the snapshot's `usage` section: instances of every state and
//! modules, some without a default image), since the shipped pack reads it. A
//! knob sets the fraction of images that break at least one rule of the
//! shipped policy pack (`policies/`) when checked with `--now` at
//! [`GenOptions::now`]; every other image passes all of them (an older private
//! image is in use). The PRNG is our own splitmix64:
//! nothing here needs cryptographic quality, and a dependency for thirty
//! lines would be a poor trade.

use std::io::{self, Write};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::source::snapshot::SNAPSHOT_SCHEMA;
use crate::time::ApiZone;

/// The default reference time: check generated sets with this `--now`.
pub const REFERENCE_NOW: &str = "2026-01-01T00:00:00+08:00";

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub count: usize,
    pub seed: u64,
    /// Fraction (0..=1) of images that violate (or are indeterminate on) at
    /// least one rule of the shipped pack. Out-of-range values are clamped.
    pub violating: f64,
    /// The instant ages are measured from.
    pub now: Timestamp,
    /// Write the usage section (about two instances per image, a module for every
    /// twenty). Without it, the shipped pack's usage rule cannot be checked.
    pub usage: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            count: 1000,
            seed: 1,
            violating: 0.1,
            now: REFERENCE_NOW.parse().unwrap_or(Timestamp::UNIX_EPOCH),
            usage: true,
        }
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and every seed —
/// including 0 — gives a full-period, well-mixed sequence.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); the multiply-shift keeps the bias below
    /// 2^-32 for the small ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = hi.saturating_sub(lo).max(0) as u64;
        lo.saturating_add(self.below(span.saturating_add(1)) as i64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a float in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ALNUM: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// 36^8: the number of distinct 8-character ids.
const ID_SPACE: u64 = 2_821_109_907_456;

fn base36_8(mut n: u64) -> String {
    let mut out = [b'0'; 8];
    for slot in out.iter_mut().rev() {
        *slot = ALNUM[(n % 36) as usize];
        n /= 36;
    }
    out.iter().map(|&b| b as char).collect()
}

/// An operating system as the API describes it.
struct Os {
    platform: &'static str,
    os_type: &'static str,
    names: &'static [&'static str],
    version: &'static str,
}

/// Platforms the shipped pack approves (`approved_platforms`), all Linux.
const APPROVED: &[Os] = &[
    Os {
        platform: "CentOS",
        os_type: "linux",
        names: &["CentOS 7.6 64位", "CentOS 7.5 64位", "CentOS 8.2 64位"],
        version: "7.6.0",
    },
    Os {
        platform: "Ubuntu",
        os_type: "linux",
        names: &[
            "Ubuntu Server 22.04 LTS 64位",
            "Ubuntu Server 20.04 LTS 64位",
            "Ubuntu 16.0 64位",
        ],
        version: "22.04",
    },
    Os {
        platform: "TencentOS",
        os_type: "linux",
        names: &["TencentOS Server 3.1 (TK4)", "TencentOS Server 2.4"],
        version: "3.1",
    },
    Os {
        platform: "Debian",
        os_type: "linux",
        names: &["Debian 11.1 64位", "Debian 12.2 64位"],
        version: "11.1",
    },
];

/// Platforms it does not: Windows, an unlisted distribution, and the empty
/// platform of the official `DescribeImage` example.
const UNAPPROVED: &[Os] = &[
    Os {
        platform: "Windows",
        os_type: "windows",
        names: &[
            "Windows Server 2019 数据中心版 64位中文版",
            "Windows Server 2016 数据中心版 64位英文版",
        ],
        version: "2019",
    },
    Os {
        platform: "FreeBSD",
        os_type: "linux",
        names: &["FreeBSD 13.1 64位"],
        version: "13.1",
    },
    Os {
        platform: "",
        os_type: "CentOS",
        names: &["CentOS 6.9 32位", "CentOS 7.4 裸金属 64位"],
        version: "CentOS 6.9 32位",
    },
];

const TEAMS: &[&str] = &["web", "edge", "data", "ml", "cdn", "game", "iot", "pay"];
const SERVICES: &[&str] = &["api", "cache", "gateway", "worker", "db", "stream", "video"];
const PURPOSES: &[&str] = &["golden", "base", "runtime", "build", "hardened"];
const BAD_NAMES: &[&str] = &[
    "CentOS 7.4 裸金属 64位",
    "测试镜像",
    "test",
    "MyImage_v2",
    "web edge golden",
    "backup-镜像-2024",
];
const REGIONS: &[(&str, i64, &str)] = &[
    ("ap-chongqing-ecm2", 1084, "重庆二区"),
    ("ap-shanghai", 20, "上海"),
    ("ap-guangzhou-ecm", 1001, "广州"),
    ("gz", 0, ""),
];
const FAILED_OR_BUSY: &[&str] = &[
    "CREATING",
    "IMPORTING",
    "SYNCING",
    "CREATEFAILED",
    "IMPORTFAILED",
];

/// Ways an image breaks the shipped pack (one or two per violating image);
/// [`Generator::breaches`] tells which an image was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    OldPrivate,
    NotNormal,
    BadName,
    NoDescription,
    UnapprovedPlatform,
    PlatformMissing,
    NoCloudInit,
    CloudInitMissing,
    UnreadableTime,
    /// Private, older than the shipped pack's `max_unused_age`, and used by nothing.
    UnusedOld,
}

const BREACHES: &[Breach] = &[
    Breach::OldPrivate,
    Breach::NotNormal,
    Breach::BadName,
    Breach::NoDescription,
    Breach::UnapprovedPlatform,
    Breach::PlatformMissing,
    Breach::NoCloudInit,
    Breach::CloudInitMissing,
    Breach::UnreadableTime,
    Breach::UnusedOld,
];

impl Breach {
    fn needs_private(self) -> bool {
        matches!(
            self,
            Breach::OldPrivate
                | Breach::BadName
                | Breach::NoDescription
                | Breach::UnreadableTime
                | Breach::UnusedOld
        )
    }
}

/// An endless-by-count iterator of image objects.
pub struct Generator {
    rng: SplitMix64,
    options: GenOptions,
    zone: ApiZone,
    index: usize,
    /// `(a, b)` of the affine permutation `i -> a*i + b mod 36^8` that turns
    /// an index into a distinct id (`a` is coprime with 36, so it is a bijection).
    id_map: (u64, u64),
    /// The account's UIN: every private image of one account has the same
    /// owner (an image shared from elsewhere is the exception, not the rule).
    owner: i64,
    violating: usize,
    /// What uses the images produced so far, for the usage section.
    uses: Vec<Use>,
    /// The breaches of the image produced last.
    breaches: Vec<Breach>,
}

/// What uses one image: instances (each with its state), and whether a module deploys it.
struct Use {
    image: String,
    states: Vec<&'static str>,
    module: bool,
}

/// Instance states in a realistic mix: mostly running, some stopped, a few failed, being
/// destroyed or changing state (every instance is a use, whatever its state).
const STATES: &[&str] = &[
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "STOPPED",
    "STOPPED",
    "LAUNCH_FAILED",
    "SHUTDOWN",
    "STARTING",
    "TERMINATING",
];

/// Ages below this need no use to pass the shipped pack's `max_unused_age` (90 days).
const UNUSED_OK: i64 = 85 * 86_400;

/// The images of `options`, one JSON object at a time.
pub fn images(options: &GenOptions) -> Generator {
    let mut rng = SplitMix64::new(options.seed);
    let mut a = rng.below(ID_SPACE) | 1;
    if a.is_multiple_of(3) {
        a += 2;
    }
    let b = rng.below(ID_SPACE);
    let owner = rng.range(100_000, 999_999_999_999);
    Generator {
        rng,
        options: *options,
        zone: ApiZone::default(),
        index: 0,
        id_map: (a % ID_SPACE, b),
        owner,
        violating: 0,
        uses: Vec::new(),
        breaches: Vec::new(),
    }
}

impl Generator {
    /// How many of the images produced so far were made to violate.
    pub fn violating_so_far(&self) -> usize {
        self.violating
    }

    /// How the image produced last was made to break the shipped pack (none
    /// for an image that passes every rule): what a test checks the
    /// findings against.
    pub fn breaches(&self) -> &[Breach] {
        &self.breaches
    }

    fn id(&self, index: usize) -> String {
        let (a, b) = self.id_map;
        let n = (u128::from(a) * index as u128 + u128::from(b)) % u128::from(ID_SPACE);
        format!("img-{}", base36_8(n as u64))
    }

    fn random_id(&mut self, prefix: &str) -> String {
        let n = self.rng.below(ID_SPACE);
        format!("{prefix}-{}", base36_8(n))
    }

    /// A time `age_seconds` before now, in the API's naive form.
    fn created(&self, age_seconds: i64) -> String {
        let at = self
            .options
            .now
            .checked_sub(SignedDuration::from_secs(age_seconds))
            .unwrap_or(self.options.now);
        self.zone.format(at)
    }

    fn private_name(&mut self) -> String {
        let team = self.rng.pick(TEAMS);
        let service = self.rng.pick(SERVICES);
        let purpose = self.rng.pick(PURPOSES);
        if self.rng.chance(0.5) {
            let year = self.rng.range(2024, 2025);
            let quarter = self.rng.range(1, 4);
            format!("{team}-{service}-{purpose}-{year}q{quarter}")
        } else {
            let v = self.rng.range(1, 40);
            format!("{team}-{service}-v{v}")
        }
    }

    /// Absent (5%), null (3%) or the value, for fields no shipped rule reads.
    fn maybe(&mut self, map: &mut Map<String, Value>, key: &str, value: Value) {
        let roll = self.rng.below(100);
        if roll < 5 {
            return;
        }
        map.insert(key.to_owned(), if roll < 8 { Value::Null } else { value });
    }

    fn src_image(&mut self, os_name: &str) -> Value {
        let (region, region_id, region_name) = *self.rng.pick(REGIONS);
        if self.rng.chance(0.3) {
            // The EXTERNAL_IMPORT shape of the official example: mostly empty.
            return json!({
                "ImageDescription": "", "InstanceId": "", "Region": "", "RegionID": 0,
                "ImageId": "", "ImageName": os_name, "RegionName": "", "InstanceName": "",
                "ImageType": "", "ImageOsName": os_name,
            });
        }
        let instance = self.random_id("ein");
        let source = self.random_id("img");
        let instance_name = format!("{}-{:02}", self.rng.pick(TEAMS), self.rng.range(1, 40));
        json!({
            "ImageId": source, "ImageName": os_name, "ImageOsName": os_name,
            "ImageDescription": os_name, "Region": region, "RegionID": region_id,
            "RegionName": region_name, "InstanceName": instance_name,
            "InstanceId": instance, "ImageType": "PUBLIC_IMAGE",
        })
    }

    fn image(&mut self, index: usize) -> Value {
        let violating = self.rng.chance(self.options.violating.clamp(0.0, 1.0));
        let mut breaches: Vec<Breach> = Vec::new();
        if violating {
            self.violating += 1;
            breaches.push(*self.rng.pick(BREACHES));
            if self.rng.chance(0.2) {
                let second = *self.rng.pick(BREACHES);
                if !breaches.contains(&second) {
                    breaches.push(second);
                }
            }
        }
        self.breaches.clone_from(&breaches);
        let has = |b: Breach| breaches.contains(&b);
        let private = breaches.iter().any(|b| b.needs_private()) || self.rng.chance(0.65);
        let unapproved = has(Breach::UnapprovedPlatform);
        let os = if unapproved {
            self.rng.pick(UNAPPROVED)
        } else {
            self.rng.pick(APPROVED)
        };
        let os_name = *self.rng.pick(os.names);
        let linux = os.os_type.eq_ignore_ascii_case("linux");

        let mut map = Map::new();
        map.insert("ImageId".into(), Value::String(self.id(index)));
        let name = if !private {
            os_name.to_owned()
        } else if has(Breach::BadName) {
            (*self.rng.pick(BAD_NAMES)).to_owned()
        } else {
            self.private_name()
        };
        map.insert("ImageName".into(), Value::String(name));
        let state = if has(Breach::NotNormal) {
            *self.rng.pick(FAILED_OR_BUSY)
        } else {
            "NORMAL"
        };
        map.insert("ImageState".into(), state.into());
        map.insert(
            "ImageType".into(),
            if private {
                "PRIVATE_IMAGE"
            } else {
                "PUBLIC_IMAGE"
            }
            .into(),
        );
        // Public images are Tencent's, owner 0 in the official examples.
        let owner = if private { self.owner } else { 0 };
        map.insert("ImageOwner".into(), owner.into());
        self.maybe(&mut map, "ImageOsName", os_name.into());
        if has(Breach::NoDescription) {
            match self.rng.below(4) {
                0 => {}
                1 => {
                    map.insert("ImageDescription".into(), Value::Null);
                }
                2 => {
                    map.insert("ImageDescription".into(), "   ".into());
                }
                _ => {
                    map.insert("ImageDescription".into(), "".into());
                }
            }
        } else if private {
            let instance = self.random_id("ein");
            let text = if self.rng.chance(0.5) {
                format!("golden image built from {instance}")
            } else {
                format!("{os_name} 业务镜像，负责人 {}", self.rng.pick(TEAMS))
            };
            map.insert("ImageDescription".into(), text.into());
        } else {
            map.insert("ImageDescription".into(), os_name.into());
        }
        let architecture = if self.rng.chance(0.9) {
            "x86_64"
        } else {
            "i386"
        };
        self.maybe(&mut map, "Architecture", architecture.into());
        map.insert("OsType".into(), os.os_type.into());
        self.maybe(&mut map, "OsVersion", os.version.into());
        if has(Breach::PlatformMissing) {
            if self.rng.chance(0.5) {
                map.insert("Platform".into(), Value::Null);
            }
        } else {
            map.insert("Platform".into(), os.platform.into());
        }
        // `None`: no readable time.
        let age = if !private || has(Breach::UnreadableTime) {
            None
        } else if has(Breach::OldPrivate) {
            Some(self.rng.range(181 * 86_400, 8 * 365 * 86_400))
        } else if has(Breach::UnusedOld) {
            Some(self.rng.range(95 * 86_400, 175 * 86_400))
        } else {
            Some(self.rng.range(3600, 150 * 86_400))
        };
        let created = if !private {
            // Public images carry an empty time.
            String::new()
        } else if has(Breach::UnreadableTime) {
            let day = self.rng.range(1, 28);
            format!("2025/06/{day:02} 10:00")
        } else {
            self.created(age.unwrap_or(0))
        };
        map.insert("ImageCreateTime".into(), created.into());
        // Usage: a private image older than the pack's unused age is in use unless it is
        // meant to break that rule; younger ones and public ones sometimes.
        let used = if has(Breach::UnusedOld) {
            false
        } else if private && age.is_none_or(|a| a >= UNUSED_OK) {
            true
        } else if private {
            self.rng.chance(0.6)
        } else {
            self.rng.chance(0.25)
        };
        if used && self.options.usage {
            let image = self.id(index);
            // One use in ten is a module's default image alone.
            let module_only = private && self.rng.chance(0.1);
            let states = if module_only {
                Vec::new()
            } else {
                (0..self.rng.range(1, 4))
                    .map(|_| *self.rng.pick(STATES))
                    .collect()
            };
            let module = module_only || self.rng.chance(0.05);
            self.uses.push(Use {
                image,
                states,
                module,
            });
        }
        map.insert(
            "ImageSize".into(),
            (*self.rng.pick(&[20i64, 50, 50, 50, 80, 100])).into(),
        );
        let source = if !private {
            "OFFICIAL"
        } else if self.rng.chance(0.6) {
            "CREATE_IMAGE"
        } else {
            "EXTERNAL_IMPORT"
        };
        self.maybe(&mut map, "ImageSource", source.into());
        let task = if state == "NORMAL" && self.rng.chance(0.8) {
            String::new()
        } else {
            self.rng.range(1000, 99_999).to_string()
        };
        self.maybe(&mut map, "TaskId", task.into());
        let cloud_init = if has(Breach::NoCloudInit) && linux {
            Some(Value::Bool(false))
        } else if has(Breach::CloudInitMissing) && linux {
            if self.rng.chance(0.5) {
                Some(Value::Null)
            } else {
                None
            }
        } else if linux {
            Some(Value::Bool(true))
        } else {
            // Not read for non-Linux images: any of the observed forms.
            match self.rng.below(3) {
                0 => None,
                1 => Some(Value::Null),
                _ => Some(Value::Bool(false)),
            }
        };
        if let Some(value) = cloud_init {
            map.insert("IsSupportCloudInit".into(), value);
        }
        match self.rng.below(10) {
            0..=3 if private => {
                let src = self.src_image(os_name);
                map.insert("SrcImage".into(), src);
            }
            4 => {
                map.insert("SrcImage".into(), Value::Null);
            }
            5 if !private => {
                let src = self.src_image(os_name);
                map.insert("SrcImage".into(), src);
            }
            _ => {}
        }
        Value::Object(map)
    }
}

impl Iterator for Generator {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.index >= self.options.count {
            return None;
        }
        let index = self.index;
        self.index += 1;
        Some(self.image(index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.options.count - self.index;
        (left, Some(left))
    }
}

/// Write an `ecmguard/snapshot/v1` document of `options.count` images, one
/// image per line (compact JSON: the smallest file, so the hardest case for
/// memory measured against file size). Returns how many images violate.
pub fn write_snapshot(options: &GenOptions, out: &mut dyn Write) -> io::Result<usize> {
    let zone = ApiZone::default();
    write!(
        out,
        "{{\"schema\":\"{SNAPSHOT_SCHEMA}\",\"fetched_at\":\"{}\",\"endpoint\":\"https://ecm.tencentcloudapi.com\",\"filters\":[],\"total_count\":{},\"ImageSet\":[",
        zone.rfc3339(options.now),
        options.count
    )?;
    let mut generator = images(options);
    let mut first = true;
    for image in generator.by_ref() {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        serde_json::to_writer(&mut *out, &image).map_err(io::Error::other)?;
    }
    out.write_all(b"\n]")?;
    if options.usage {
        write_usage(&generator, out)?;
    }
    out.write_all(b"}\n")?;
    Ok(generator.violating_so_far())
}

/// The usage section of what the generator produced: `,"usage":{…}`, an instance or a
/// module per line; and one module in ten with no default image.
fn write_usage(generator: &Generator, out: &mut dyn Write) -> io::Result<()> {
    let instances: usize = generator.uses.iter().map(|u| u.states.len()).sum();
    let deploying = generator.uses.iter().filter(|u| u.module).count();
    let without_image = deploying / 9 + 1;
    write!(
        out,
        ",\"usage\":{{\"instances_total\":{instances},\"modules_total\":{},\"InstanceSet\":[",
        deploying + without_image
    )?;
    let mut n = 0u64;
    let module_id = |m: usize| format!("em-{}", base36_8(m as u64 * 7919 + 13));
    let mut module_of = 0usize;
    for used in &generator.uses {
        if used.module {
            module_of += 1;
        }
        for state in &used.states {
            out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
            let module = if used.module {
                json!({"ModuleId": module_id(module_of - 1), "ModuleName": format!("module-{}", module_of - 1)})
            } else {
                Value::Null
            };
            let instance = json!({
                "InstanceId": format!("ein-{}", base36_8(n * 104_729 + 7)),
                "InstanceState": state,
                "Image": {"ImageId": used.image},
                "SimpleModule": module,
            });
            serde_json::to_writer(&mut *out, &instance).map_err(io::Error::other)?;
            n += 1;
        }
    }
    out.write_all(b"\n],\"ModuleSet\":[")?;
    let deployed = generator
        .uses
        .iter()
        .filter(|u| u.module)
        .map(|u| Some(u.image.as_str()));
    for (m, image) in deployed
        .chain(std::iter::repeat_n(None, without_image))
        .enumerate()
    {
        out.write_all(if m == 0 { b"\n" } else { b",\n" })?;
        let module = json!({
            "ModuleId": module_id(m),
            "ModuleName": format!("module-{m}"),
            "ModuleState": "NORMAL",
            "DefaultImage": image.map(|id| json!({"ImageId": id})),
        });
        serde_json::to_writer(&mut *out, &module).map_err(io::Error::other)?;
    }
    out.write_all(b"\n]}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(count: usize, seed: u64) -> GenOptions {
        GenOptions {
            count,
            seed,
            ..GenOptions::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_snapshot(&options(300, 7), &mut a).unwrap();
        write_snapshot(&options(300, 7), &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        write_snapshot(&options(300, 8), &mut c).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn ids_are_distinct_and_well_formed() {
        let ids: Vec<String> = images(&options(5000, 3))
            .map(|image| image["ImageId"].as_str().unwrap().to_owned())
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            let rest = id.strip_prefix("img-").unwrap();
            assert_eq!(rest.len(), 8);
            assert!(
                rest.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
        }
    }

    #[test]
    fn the_documented_variety_appears() {
        let all: Vec<Value> = images(&GenOptions {
            count: 3000,
            seed: 11,
            violating: 0.5,
            ..GenOptions::default()
        })
        .collect();
        let states: std::collections::HashSet<&str> = all
            .iter()
            .filter_map(|i| i["ImageState"].as_str())
            .collect();
        for state in ["NORMAL"].iter().chain(FAILED_OR_BUSY) {
            assert!(states.contains(state), "{state}");
        }
        let has = |f: &dyn Fn(&Map<String, Value>) -> bool| {
            all.iter().any(|i| i.as_object().is_some_and(f))
        };
        assert!(has(&|m| m.get("SrcImage").is_some_and(Value::is_object)));
        assert!(has(&|m| m.get("SrcImage").is_some_and(Value::is_null)));
        assert!(has(&|m| !m.contains_key("SrcImage")));
        assert!(has(&|m| m.get("TaskId").is_some_and(Value::is_null)));
        assert!(has(&|m| !m.contains_key("Architecture")));
        assert!(has(&|m| m["ImageType"] == "PUBLIC_IMAGE"
            && m["ImageCreateTime"] == ""
            && m["ImageOwner"] == 0));
        // One account: every private image has its one owner.
        let owners: std::collections::HashSet<_> = all
            .iter()
            .filter(|i| i["ImageType"] == "PRIVATE_IMAGE")
            .map(|i| i["ImageOwner"].clone())
            .collect();
        assert_eq!(owners.len(), 1, "distinct owners of the private images");
        assert!(owners.iter().all(|o| o.as_i64().is_some_and(|o| o > 0)));
        assert!(has(&|m| m["ImageName"]
            .as_str()
            .is_some_and(|n| !n.is_ascii())));
        assert!(has(&|m| m["ImageName"].as_str().is_some_and(str::is_ascii)));
    }
}

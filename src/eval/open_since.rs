//! [`OpenSince`]: since when each (rule id, ImageId) has been failing, as a
//! history says — the plain data evaluation is given (never a database).
//!
//! Held compactly, because a large account has one open streak per failing
//! image of every rule (hundreds of thousands): a rule's ImageIds are one
//! sorted block of bytes beside their first-seen times, their common prefix
//! (`img-`) kept once and no offsets when every id has the same length
//! (ImageIds do: 12 bytes, so 16 bytes an entry instead of a hash map's ~60
//! plus an allocation each). Lookups are binary searches. It is built once
//! ([`OpenSinceBuilder`], in any order), read by evaluation, and struck by
//! the run being recorded: what is left unstruck are the streaks it may end.

use std::collections::HashMap;

use jiff::Timestamp;

/// Since when each (rule id, ImageId) has been failing without a gap, as the
/// recorded runs of one account say (docs/history.md, "Streaks"). A key that
/// is absent has no open streak: a finding for it is new in this run.
#[derive(Debug, Clone, Default)]
pub struct OpenSince {
    rules: HashMap<Box<str>, RuleStreaks>,
}

/// One rule's streaks.
#[derive(Debug, Clone, Default)]
struct RuleStreaks {
    images: SortedIds,
    /// First seen of each entry of `images`, in its order.
    since: Times,
    /// The entries a run continues ([`OpenSince::strike`]), a bit each;
    /// empty until the first strike.
    struck: Vec<u64>,
    set_level: Option<i64>,
    set_level_struck: bool,
}

/// First-seen times (Unix seconds) of a rule's entries, in their order: as
/// 32-bit offsets from the earliest while they span less than 136 years
/// (4 bytes a streak instead of 8: a history's times are years apart at
/// most), else whole.
#[derive(Debug, Clone)]
enum Times {
    Offsets { base: i64, offsets: Vec<u32> },
    Whole(Vec<i64>),
}

impl Default for Times {
    fn default() -> Self {
        Times::Whole(Vec::new())
    }
}

impl Times {
    fn of(seconds: impl Iterator<Item = i64> + Clone) -> Times {
        let (earliest, latest) = seconds
            .clone()
            .fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
        match latest.checked_sub(earliest) {
            Some(span) if (0..=i64::from(u32::MAX)).contains(&span) => Times::Offsets {
                base: earliest,
                // In range: no time is before `earliest` or more than
                // `span` after it.
                offsets: seconds
                    .map(|s| u32::try_from(s - earliest).unwrap_or_default())
                    .collect(),
            },
            _ => Times::Whole(seconds.collect()),
        }
    }

    fn get(&self, i: usize) -> Option<i64> {
        match self {
            Times::Offsets { base, offsets } => offsets.get(i).map(|o| base + i64::from(*o)),
            Times::Whole(all) => all.get(i).copied(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Times::Offsets { offsets, .. } => offsets.capacity() * size_of::<u32>(),
            Times::Whole(all) => all.capacity() * size_of::<i64>(),
        }
    }
}

/// Distinct strings in byte order, packed: their common prefix once, then
/// each one's rest in one buffer, found by the offsets in `ends` (or, when
/// every rest is `width` bytes long, by position alone).
#[derive(Debug, Clone, Default)]
struct SortedIds {
    prefix: Box<str>,
    rests: String,
    /// Where each rest ends in `rests`; empty when they all have `width`.
    ends: Vec<usize>,
    width: usize,
    len: usize,
}

impl SortedIds {
    fn rest(&self, i: usize) -> &str {
        let (start, end) = if self.ends.is_empty() {
            (i * self.width, (i + 1) * self.width)
        } else {
            (
                i.checked_sub(1).map_or(0, |before| self.ends[before]),
                self.ends[i],
            )
        };
        self.rests.get(start..end).unwrap_or_default()
    }

    /// The position of `id`, if it is one of them.
    fn find(&self, id: &str) -> Option<usize> {
        let rest = id.strip_prefix(&*self.prefix)?;
        if self.ends.is_empty() && rest.len() != self.width {
            return None;
        }
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.rest(middle).as_bytes().cmp(rest.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The whole id at `i`, written into `buffer`.
    fn write_id<'b>(&self, i: usize, buffer: &'b mut String) -> &'b str {
        buffer.clear();
        buffer.push_str(&self.prefix);
        buffer.push_str(self.rest(i));
        buffer
    }

    /// `ids` (sorted, distinct) packed.
    fn pack<'i>(
        ids: impl Iterator<Item = &'i str> + Clone,
        len: usize,
        first_last: (&str, &str),
    ) -> SortedIds {
        // The common prefix of sorted strings is that of the first and the
        // last, cut back to a character boundary so every rest is text.
        let (first, last) = first_last;
        let common = common_prefix(first, last);
        let prefix: Box<str> = first[..common].into();
        let mut width = None;
        let mut uniform = true;
        let mut total = 0;
        for id in ids.clone() {
            let rest = id.len() - common;
            total += rest;
            match width {
                None => width = Some(rest),
                Some(w) if w != rest => uniform = false,
                Some(_) => {}
            }
        }
        let mut rests = String::with_capacity(total);
        let mut ends = Vec::with_capacity(if uniform { 0 } else { len });
        for id in ids {
            rests.push_str(&id[common..]);
            if !uniform {
                ends.push(rests.len());
            }
        }
        SortedIds {
            prefix,
            rests,
            ends,
            width: if uniform { width.unwrap_or(0) } else { 0 },
            len,
        }
    }
}

/// The length of the common prefix of two strings (of sorted strings, from
/// the first and the last), cut back to a character boundary so every rest
/// is text.
pub(crate) fn common_prefix(first: &str, last: &str) -> usize {
    let mut common = first
        .bytes()
        .zip(last.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !first.is_char_boundary(common) {
        common -= 1;
    }
    common
}

impl RuleStreaks {
    fn is_struck(&self, i: usize) -> bool {
        self.struck
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    fn strike_at(&mut self, i: usize) {
        if self.struck.is_empty() {
            self.struck = vec![0; self.images.len.div_ceil(64)];
        }
        if let Some(word) = self.struck.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }
}

fn timestamp(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_second(seconds).ok()
}

impl OpenSince {
    pub fn new() -> Self {
        Self::default()
    }

    /// Since when `rule` has failed for `image` (`None`: set-level).
    pub fn get(&self, rule: &str, image: Option<&str>) -> Option<Timestamp> {
        let streaks = self.rules.get(rule)?;
        match image {
            Some(id) => {
                let i = streaks.images.find(id)?;
                streaks.since.get(i).and_then(timestamp)
            }
            None => streaks.set_level.and_then(timestamp),
        }
    }

    /// The run being recorded has this finding: its streak goes on, so it
    /// is not among the ones the run ends ([`OpenSince::unstruck`]). Returns
    /// since when it has been open. (Several set-level findings of one rule
    /// share one streak.)
    pub fn strike(&mut self, rule: &str, image: Option<&str>) -> Option<Timestamp> {
        let streaks = self.rules.get_mut(rule)?;
        match image {
            Some(id) => {
                let i = streaks.images.find(id)?;
                streaks.strike_at(i);
                streaks.since.get(i).and_then(timestamp)
            }
            None => {
                let at = streaks.set_level?;
                streaks.set_level_struck = true;
                timestamp(at)
            }
        }
    }

    /// The streaks not struck, packed anew: what a run that had the struck
    /// findings may end. The rest is freed.
    pub fn unstruck(self) -> OpenSince {
        let mut builder = OpenSinceBuilder::new();
        for (rule, streaks) in self.rules {
            if let (Some(at), false) = (streaks.set_level, streaks.set_level_struck) {
                builder.insert_seconds(&rule, None, at);
            }
            let mut buffer = String::new();
            for i in 0..streaks.images.len {
                if let (false, Some(at)) = (streaks.is_struck(i), streaks.since.get(i)) {
                    let id = streaks.images.write_id(i, &mut buffer);
                    builder.insert_seconds(&rule, Some(id), at);
                }
            }
        }
        builder.build()
    }

    /// Every open streak: `(rule id, ImageId or None, first seen)`, by rule
    /// id, each rule's set-level streak first and then its images in byte
    /// order. The ImageId is lent for the call.
    pub fn each(&self, mut each: impl FnMut(&str, Option<&str>, Timestamp)) {
        let mut buffer = String::new();
        let mut rules: Vec<(&Box<str>, &RuleStreaks)> = self.rules.iter().collect();
        rules.sort_unstable_by_key(|(rule, _)| *rule);
        for (rule, streaks) in rules {
            if let Some(at) = streaks.set_level.and_then(timestamp) {
                each(rule, None, at);
            }
            for i in 0..streaks.images.len {
                if let Some(at) = streaks.since.get(i).and_then(timestamp) {
                    each(rule, Some(streaks.images.write_id(i, &mut buffer)), at);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.rules
            .values()
            .map(|s| s.images.len + usize::from(s.set_level.is_some()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held on the heap (for the memory tests and the benchmark's
    /// explanations): the packed ids, times and marks, without the few
    /// rules' own bookkeeping.
    pub fn heap_bytes(&self) -> usize {
        self.rules
            .iter()
            .map(|(rule, s)| {
                rule.len()
                    + s.images.prefix.len()
                    + s.images.rests.capacity()
                    + s.images.ends.capacity() * size_of::<usize>()
                    + s.since.heap_bytes()
                    + s.struck.capacity() * size_of::<u64>()
            })
            .sum()
    }
}

/// Forgotten: a later run checked the image for the rule (its own finding,
/// if any, comes after). Not a time: jiff's range ends far inside `i64`.
const FORGOTTEN: i64 = i64::MIN;

/// Collects streaks in any order — as the runs of a history are read, each
/// run's rows in the order the database gives them, and a narrowed run
/// forgetting what it checked before adding its own — and packs them.
/// The last word on a (rule, ImageId) wins.
#[derive(Debug, Default)]
pub struct OpenSinceBuilder {
    rules: HashMap<Box<str>, RuleBuilder>,
}

#[derive(Debug, Default)]
struct RuleBuilder {
    ids: String,
    ends: Vec<usize>,
    /// `Some(w)` while every id has `w` bytes: then `ends` stays empty (an
    /// id is found by position), as it does for ImageIds.
    fixed: Option<usize>,
    /// First seen of each entry, or [`FORGOTTEN`].
    since: Vec<i64>,
    /// Whether the ids came strictly increasing and nothing was forgotten:
    /// then they are packed as they are, without a sort.
    in_order: bool,
    set_level: Option<i64>,
}

impl RuleBuilder {
    fn new() -> Self {
        Self {
            in_order: true,
            ..Self::default()
        }
    }

    /// Where id `i` is in `ids`.
    fn bounds(fixed: Option<usize>, ends: &[usize], i: usize) -> (usize, usize) {
        match fixed {
            Some(width) => (i * width, (i + 1) * width),
            None => (i.checked_sub(1).map_or(0, |before| ends[before]), ends[i]),
        }
    }

    fn id(&self, i: usize) -> &str {
        let (start, end) = Self::bounds(self.fixed, &self.ends, i);
        self.ids.get(start..end).unwrap_or_default()
    }

    fn push(&mut self, id: &str, since: i64) {
        let n = self.since.len();
        if n > 0 && self.id(n - 1) >= id {
            self.in_order = false;
        }
        if since == FORGOTTEN {
            self.in_order = false;
        }
        match self.fixed {
            _ if n == 0 => self.fixed = Some(id.len()),
            Some(width) if width == id.len() => {}
            Some(width) => {
                // The first id of another length: the offsets are written
                // out from here on.
                self.ends = (1..=n).map(|i| i * width).collect();
                self.fixed = None;
            }
            None => {}
        }
        self.ids.push_str(id);
        if self.fixed.is_none() {
            self.ends.push(self.ids.len());
        }
        self.since.push(since);
    }

    fn add(&mut self, image: Option<&str>, at: i64) {
        match image {
            Some(id) => self.push(id, at),
            None => self.set_level = Some(at),
        }
    }

    fn build(self) -> RuleStreaks {
        if self.in_order {
            return self.build_in_place();
        }
        // The entries that stand: each id's last word, unless forgotten.
        let kept: Vec<usize> = {
            let mut order: Vec<usize> = (0..self.since.len()).collect();
            // Stable: among equal ids, the later word stays later.
            order.sort_by(|a, b| self.id(*a).cmp(self.id(*b)));
            let mut kept: Vec<usize> = Vec::with_capacity(order.len());
            for i in order {
                match kept.last() {
                    Some(&last) if self.id(last) == self.id(i) => {
                        if let Some(slot) = kept.last_mut() {
                            *slot = i;
                        }
                    }
                    _ => kept.push(i),
                }
            }
            kept.retain(|&i| self.since[i] != FORGOTTEN);
            kept
        };
        let images = match (kept.first(), kept.last()) {
            (Some(&first), Some(&last)) => SortedIds::pack(
                kept.iter().map(|&i| self.id(i)),
                kept.len(),
                (self.id(first), self.id(last)),
            ),
            _ => SortedIds::default(),
        };
        let since = Times::of(kept.iter().map(|&i| self.since[i]));
        RuleStreaks {
            images,
            since,
            struck: Vec::new(),
            set_level: self.set_level,
            set_level_struck: false,
        }
    }
}

impl RuleBuilder {
    /// Entries that came sorted and distinct (a history's rows come in the
    /// index's order) packed in the builder's own buffers: the rests moved
    /// down over the prefixes, the times kept as they are. No second copy,
    /// so reading a large history costs its packed size plus the offsets.
    fn build_in_place(self) -> RuleStreaks {
        let len = self.since.len();
        let (common, uniform, width) = match len.checked_sub(1) {
            None => (0, true, 0),
            Some(last) => {
                let common = common_prefix(self.id(0), self.id(last));
                let width = self.id(0).len() - common;
                let uniform =
                    self.fixed.is_some() || (0..len).all(|i| self.id(i).len() - common == width);
                (common, uniform, width)
            }
        };
        let prefix: Box<str> = self.ids.get(..common).unwrap_or_default().into();
        let RuleBuilder {
            ids,
            mut ends,
            fixed,
            since,
            set_level,
            ..
        } = self;
        let mut bytes = ids.into_bytes();
        let mut write = 0;
        let mut move_down = |bytes: &mut Vec<u8>, start: usize, end: usize| {
            bytes.copy_within(start + common..end, write);
            write += end - start - common;
            write
        };
        match fixed {
            Some(width) => {
                for i in 0..len {
                    move_down(&mut bytes, i * width, (i + 1) * width);
                }
            }
            None => {
                let mut start = 0;
                for end in &mut ends {
                    let was = *end;
                    *end = move_down(&mut bytes, start, was);
                    start = was;
                }
            }
        }
        bytes.truncate(write);
        bytes.shrink_to_fit();
        // Each rest starts at a character boundary (the prefix is cut back
        // to one), so the bytes are text; were they not, nothing would be
        // found rather than a wrong entry.
        let rests = String::from_utf8(bytes).unwrap_or_default();
        if uniform {
            ends = Vec::new();
        } else {
            ends.shrink_to_fit();
        }
        let since = Times::of(since.iter().copied());
        RuleStreaks {
            images: SortedIds {
                prefix,
                rests,
                ends,
                width: if uniform { width } else { 0 },
                len,
            },
            since,
            struck: Vec::new(),
            set_level,
            set_level_struck: false,
        }
    }
}

impl OpenSinceBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `rule` has failed for `image` (`None`: set-level) since `at`.
    pub fn insert(&mut self, rule: &str, image: Option<&str>, at: Timestamp) {
        self.insert_seconds(rule, image, at.as_second());
    }

    fn insert_seconds(&mut self, rule: &str, image: Option<&str>, at: i64) {
        // Looked up before allocating: a history adds thousands of streaks
        // of a few rules.
        if let Some(streaks) = self.rules.get_mut(rule) {
            streaks.add(image, at);
            return;
        }
        let mut streaks = RuleBuilder::new();
        streaks.add(image, at);
        self.rules.insert(rule.into(), streaks);
    }

    /// Forget the streak of `rule` for `image`.
    pub fn forget(&mut self, rule: &str, image: &str) {
        if let Some(streaks) = self.rules.get_mut(rule) {
            streaks.push(image, FORGOTTEN);
        }
    }

    pub fn build(self) -> OpenSince {
        OpenSince {
            rules: self
                .rules
                .into_iter()
                .map(|(rule, streaks)| (rule, streaks.build()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn all(open: &OpenSince) -> Vec<(String, Option<String>, i64)> {
        let mut out = Vec::new();
        open.each(|rule, image, at| {
            out.push((rule.to_owned(), image.map(str::to_owned), at.as_second()))
        });
        out.sort();
        out
    }

    #[test]
    fn streaks_are_found_whatever_order_they_came_in() {
        let mut builder = OpenSinceBuilder::new();
        for (id, t) in [("img-b", 2), ("img-a", 1), ("img-c", 3), ("img-aa", 4)] {
            builder.insert("r", Some(id), at(t));
        }
        builder.insert("r", None, at(9));
        builder.insert("s", Some("x"), at(5));
        let open = builder.build();
        assert_eq!(open.get("r", Some("img-a")), Some(at(1)));
        assert_eq!(open.get("r", Some("img-aa")), Some(at(4)));
        assert_eq!(open.get("r", Some("img-b")), Some(at(2)));
        assert_eq!(open.get("r", Some("img-c")), Some(at(3)));
        assert_eq!(open.get("r", Some("img-")), None);
        assert_eq!(open.get("r", Some("img-d")), None);
        assert_eq!(open.get("r", Some("other")), None);
        assert_eq!(open.get("r", None), Some(at(9)));
        assert_eq!(open.get("s", Some("x")), Some(at(5)));
        assert_eq!(open.get("s", None), None);
        assert_eq!(open.get("t", Some("x")), None);
        assert_eq!(open.len(), 6);
    }

    #[test]
    fn the_last_word_wins_and_forgotten_streaks_are_gone() {
        let mut builder = OpenSinceBuilder::new();
        builder.insert("r", Some("img-1"), at(1));
        builder.insert("r", Some("img-2"), at(2));
        builder.insert("r", Some("img-3"), at(3));
        // A narrowed run checked img-1 and img-2, and still finds img-2.
        builder.forget("r", "img-1");
        builder.forget("r", "img-2");
        builder.insert("r", Some("img-2"), at(7));
        let open = builder.build();
        assert_eq!(
            all(&open),
            vec![
                ("r".into(), Some("img-2".into()), 7),
                ("r".into(), Some("img-3".into()), 3),
            ]
        );
    }

    #[test]
    fn ids_of_every_length_and_script_are_kept_whole() {
        let ids = ["img-1", "img-10", "img-é", "img-éa", "img-😀", "", "z"];
        let mut builder = OpenSinceBuilder::new();
        for (n, id) in ids.iter().enumerate() {
            builder.insert("r", Some(id), at(n as i64));
        }
        let open = builder.build();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(open.get("r", Some(id)), Some(at(n as i64)), "{id:?}");
        }
        assert_eq!(open.get("r", Some("img-")), None);
        let mut expected: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| ("r".to_owned(), Some(id.to_string()), n as i64))
            .collect();
        expected.sort();
        assert_eq!(all(&open), expected);
        // Two ids sharing a prefix that ends inside a character.
        let mut builder = OpenSinceBuilder::new();
        builder.insert("r", Some("aé"), at(1));
        builder.insert("r", Some("aè"), at(2));
        let open = builder.build();
        assert_eq!(open.get("r", Some("aé")), Some(at(1)));
        assert_eq!(open.get("r", Some("aè")), Some(at(2)));
    }

    #[test]
    fn ids_that_come_sorted_are_packed_in_place_whole() {
        for ids in [
            vec!["", "img-1", "img-10", "img-é", "img-éa", "img-😀", "z"],
            vec!["aé", "aè"],
            vec!["img-a", "img-b", "img-c"],
            vec!["only"],
        ] {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            let mut builder = OpenSinceBuilder::new();
            for (n, id) in sorted.iter().enumerate() {
                builder.insert("r", Some(id), at(n as i64));
            }
            let open = builder.build();
            for (n, id) in sorted.iter().enumerate() {
                assert_eq!(open.get("r", Some(id)), Some(at(n as i64)), "{id:?}");
            }
            assert_eq!(open.get("r", Some("img-")), None);
            let expected: Vec<_> = sorted
                .iter()
                .enumerate()
                .map(|(n, id)| ("r".to_owned(), Some(id.to_string()), n as i64))
                .collect();
            assert_eq!(all(&open), expected);
        }
    }

    #[test]
    fn what_a_run_does_not_strike_is_left() {
        let mut builder = OpenSinceBuilder::new();
        builder.insert("r", Some("img-1"), at(1));
        builder.insert("r", Some("img-2"), at(2));
        builder.insert("r", None, at(3));
        builder.insert("s", None, at(4));
        let mut open = builder.build();
        assert_eq!(open.strike("r", Some("img-2")), Some(at(2)));
        assert_eq!(open.strike("r", Some("img-9")), None);
        assert_eq!(open.strike("s", None), Some(at(4)));
        assert_eq!(open.strike("s", None), Some(at(4)));
        // Struck streaks are still there for the run's own first-seen times.
        assert_eq!(open.get("r", Some("img-2")), Some(at(2)));
        let left = open.unstruck();
        assert_eq!(
            all(&left),
            vec![("r".into(), None, 3), ("r".into(), Some("img-1".into()), 1),]
        );
    }

    #[test]
    fn image_ids_take_twelve_bytes_a_streak() {
        // 100,000 ImageIds of one rule: the packed ids (8 bytes after the
        // shared `img-`) and a 32-bit time each, without an allocation per
        // entry.
        let mut builder = OpenSinceBuilder::new();
        for n in 0..100_000u64 {
            builder.insert(
                "r",
                Some(&format!("img-{n:08}")),
                at(1_700_000_000 + n as i64),
            );
        }
        let open = builder.build();
        assert_eq!(open.len(), 100_000);
        assert_eq!(open.get("r", Some("img-00031415")), Some(at(1_700_031_415)));
        assert!(
            open.heap_bytes() <= 12 * 100_000 + 64,
            "{}",
            open.heap_bytes()
        );
    }

    #[test]
    fn times_further_apart_than_offsets_reach_are_kept_whole() {
        // jiff's range is far wider than 32 bits of seconds (136 years).
        let (early, late) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        for sorted in [true, false] {
            let mut builder = OpenSinceBuilder::new();
            let ids = if sorted {
                ["img-a", "img-b"]
            } else {
                ["img-b", "img-a"]
            };
            builder.insert("r", Some(ids[0]), at(early));
            builder.insert("r", Some(ids[1]), at(late));
            let mut open = builder.build();
            assert_eq!(open.get("r", Some(ids[0])), Some(at(early)));
            assert_eq!(open.get("r", Some(ids[1])), Some(at(late)));
            assert_eq!(open.strike("r", Some(ids[1])), Some(at(late)));
            assert_eq!(
                all(&open.unstruck()),
                vec![("r".into(), Some(ids[0].into()), early)]
            );
        }
    }
}

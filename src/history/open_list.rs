//! The open findings `history` lists, oldest first, in memory that does not
//! grow with them: they are sorted a chunk at a time, and when there are more
//! than one chunk's worth, each sorted chunk goes to an unnamed temporary file
//! (deleted by the system when closed) and the files are merged as they are
//! read. A history of millions of open findings is listed in the memory of
//! one chunk plus a read buffer per file.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use super::summary::OpenFinding;

/// How many open findings are sorted in memory at once (a few hundred bytes
/// each: some 15 MB). 50,000 a file keeps the files of ten million open
/// findings (200) well within a process's open-file limit.
const CHUNK: usize = 50_000;

/// How many of the oldest are kept in memory for the listings that show only
/// the oldest (human: 20, HTML: 200).
const OLDEST_KEPT: usize = 200;

/// The order `history` lists them in: oldest streak first, then by account,
/// rule id and ImageId (set-level first).
fn order(a: &OpenFinding, b: &OpenFinding) -> Ordering {
    (
        a.finding.first_seen,
        &a.account,
        &a.finding.rule,
        &a.finding.image,
    )
        .cmp(&(
            b.finding.first_seen,
            &b.account,
            &b.finding.rule,
            &b.finding.image,
        ))
}

/// Collects open findings in any order.
#[derive(Default)]
pub struct OpenSorter {
    chunk: Vec<OpenFinding>,
    files: Vec<File>,
    len: usize,
}

impl OpenSorter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, finding: OpenFinding) -> io::Result<()> {
        self.len += 1;
        self.chunk.push(finding);
        if self.chunk.len() >= CHUNK {
            self.spill()?;
        }
        Ok(())
    }

    /// Sort the chunk into a file of its own, one JSON line a finding.
    fn spill(&mut self) -> io::Result<()> {
        self.chunk.sort_unstable_by(order);
        let file = tempfile::tempfile()?;
        let mut out = BufWriter::new(&file);
        for finding in self.chunk.drain(..) {
            serde_json::to_writer(&mut out, &finding)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        self.files.push(file);
        Ok(())
    }

    /// Every finding pushed, sorted.
    pub fn finish(mut self) -> io::Result<OpenFindings> {
        if self.files.is_empty() {
            self.chunk.sort_unstable_by(order);
        } else if !self.chunk.is_empty() {
            self.spill()?;
        }
        let mut open = OpenFindings {
            len: self.len,
            memory: self.chunk,
            files: self.files,
            oldest: Vec::new(),
        };
        if !open.files.is_empty() {
            open.oldest = open.iter()?.take(OLDEST_KEPT).collect::<io::Result<_>>()?;
        }
        Ok(open)
    }
}

/// The open findings, sorted: in memory when they fit one chunk, else in
/// sorted files merged as they are read.
#[derive(Default)]
pub struct OpenFindings {
    len: usize,
    /// All of them, when there are no files.
    memory: Vec<OpenFinding>,
    files: Vec<File>,
    /// The oldest (at most [`OLDEST_KEPT`]), when they are in files.
    oldest: Vec<OpenFinding>,
}

impl OpenFindings {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest, up to 200 of them.
    pub fn oldest(&self) -> &[OpenFinding] {
        if self.files.is_empty() {
            &self.memory[..self.memory.len().min(OLDEST_KEPT)]
        } else {
            &self.oldest
        }
    }

    /// Every one of them, oldest first. One reading at a time: the files
    /// are read from their start again by each call.
    pub fn iter(&self) -> io::Result<OpenIter<'_>> {
        if self.files.is_empty() {
            return Ok(OpenIter::Memory(self.memory.iter()));
        }
        let mut merge = Merge {
            readers: Vec::with_capacity(self.files.len()),
            heads: BinaryHeap::with_capacity(self.files.len()),
            line: String::new(),
        };
        for mut file in &self.files {
            file.seek(SeekFrom::Start(0))?;
            merge.readers.push(BufReader::new(file));
        }
        for source in 0..merge.readers.len() {
            merge.advance(source)?;
        }
        Ok(OpenIter::Merge(merge))
    }
}

/// The open findings, oldest first ([`OpenFindings::iter`]).
pub enum OpenIter<'a> {
    Memory(std::slice::Iter<'a, OpenFinding>),
    Merge(Merge<'a>),
}

impl Iterator for OpenIter<'_> {
    type Item = io::Result<OpenFinding>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            OpenIter::Memory(iter) => iter.next().cloned().map(Ok),
            OpenIter::Merge(merge) => merge.next(),
        }
    }
}

/// The sorted files merged: the next of each file in a heap, oldest on top.
pub struct Merge<'a> {
    readers: Vec<BufReader<&'a File>>,
    heads: BinaryHeap<Reverse<Head>>,
    line: String,
}

struct Head {
    finding: OpenFinding,
    source: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        order(&self.finding, &other.finding).then(self.source.cmp(&other.source))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl Merge<'_> {
    /// Read the next finding of file `source` into the heap (none at its end).
    fn advance(&mut self, source: usize) -> io::Result<()> {
        self.line.clear();
        if self.readers[source].read_line(&mut self.line)? == 0 {
            return Ok(());
        }
        let finding: OpenFinding = serde_json::from_str(&self.line)?;
        self.heads.push(Reverse(Head { finding, source }));
        Ok(())
    }

    fn next(&mut self) -> Option<io::Result<OpenFinding>> {
        let Reverse(head) = self.heads.pop()?;
        if let Err(e) = self.advance(head.source) {
            // Nothing after a file that cannot be read: a listing never
            // skips findings silently.
            self.heads.clear();
            return Some(Err(e));
        }
        Some(Ok(head.finding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::FindingRecord;

    fn open(n: usize) -> OpenFinding {
        // A scrambled order, with ties on the time.
        let scrambled = (n * 7919) % 100_003;
        OpenFinding {
            account: format!("acct-{}", scrambled % 3),
            finding: FindingRecord {
                rule: format!("rule-{}", scrambled % 5),
                image: (!scrambled.is_multiple_of(11)).then(|| format!("img-{scrambled:08}")),
                status: "violation".into(),
                severity: "error".into(),
                message: format!("message «{n}»\n\"quoted\""),
                first_seen: (scrambled / 10) as i64,
            },
            open_for_seconds: n as i64,
        }
    }

    fn sorted(n: usize) -> Vec<OpenFinding> {
        let mut all: Vec<OpenFinding> = (0..n).map(open).collect();
        all.sort_by(order);
        all
    }

    fn listed(open: &OpenFindings) -> Vec<OpenFinding> {
        open.iter().unwrap().collect::<io::Result<_>>().unwrap()
    }

    #[test]
    fn more_than_a_chunk_is_merged_back_in_order_whole() {
        let n = CHUNK * 2 + 17;
        let mut sorter = OpenSorter::new();
        for i in 0..n {
            sorter.push(open(i)).unwrap();
        }
        // Only the last partial chunk was ever in memory at once.
        assert!(sorter.chunk.len() < CHUNK);
        assert_eq!(sorter.files.len(), 2);
        let open = sorter.finish().unwrap();
        assert_eq!(open.len(), n);
        assert_eq!(open.files.len(), 3);
        assert!(open.memory.is_empty());
        let expected = sorted(n);
        assert_eq!(listed(&open), expected);
        // A second reading gives the same, and the oldest are kept aside.
        assert_eq!(listed(&open), expected);
        assert_eq!(open.oldest(), &expected[..OLDEST_KEPT]);
    }

    #[test]
    fn a_few_stay_in_memory() {
        let mut sorter = OpenSorter::new();
        for i in 0..300 {
            sorter.push(open(i)).unwrap();
        }
        let open = sorter.finish().unwrap();
        assert!(open.files.is_empty());
        let expected = sorted(300);
        assert_eq!(listed(&open), expected);
        assert_eq!(open.oldest(), &expected[..OLDEST_KEPT]);
        assert!(OpenSorter::new().finish().unwrap().is_empty());
    }
}

//! Temporary files that keep the QDPX writer's memory flat.
//!
//! `project.qde` must list the Cases (with a SelectionRef to every utterance of each speaker)
//! *before* the Sources, but both are only known after the last utterance. Rather than hold
//! them in memory, the writer spools the `<Sources>` and `<Notes>` XML to temporary files and
//! records one fixed-size (case, group, seq) triple per utterance. At the end the triples are
//! bucket-sorted by case on disk (the per-case counts give each case's offset in a second
//! file) and read back in case order. Memory is then proportional to the number of cases and
//! groups, never to the number of utterances.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// A new anonymous temporary file: removed by the OS when closed, even after a crash.
pub(crate) fn temp_file(dir: Option<&Path>) -> io::Result<File> {
    match dir {
        Some(d) => tempfile::tempfile_in(d),
        None => tempfile::tempfile(),
    }
}

const IN_RECORD: usize = 16;
const OUT_RECORD: usize = 12;
/// Per-case write buffer before a positioned write: bounded memory, few system calls.
const BUCKET_BYTES: usize = 128 * OUT_RECORD;

/// Collects (case, group, seq) triples in arrival order.
pub(crate) struct CaseRefSpool {
    out: BufWriter<File>,
    counts: Vec<u64>,
}

impl CaseRefSpool {
    pub fn new(dir: Option<&Path>) -> io::Result<Self> {
        Ok(CaseRefSpool {
            out: BufWriter::with_capacity(64 * 1024, temp_file(dir)?),
            counts: Vec::new(),
        })
    }

    pub fn push(&mut self, case: u32, group: u32, seq: i64) -> io::Result<()> {
        let c = case as usize;
        if self.counts.len() <= c {
            self.counts.resize(c + 1, 0);
        }
        self.counts[c] += 1;
        let mut rec = [0u8; IN_RECORD];
        rec[..4].copy_from_slice(&case.to_le_bytes());
        rec[4..8].copy_from_slice(&group.to_le_bytes());
        rec[8..].copy_from_slice(&seq.to_le_bytes());
        self.out.write_all(&rec)
    }

    /// Sorts the triples by case (stable: arrival order within a case).
    pub fn sort(self, dir: Option<&Path>) -> io::Result<SortedCaseRefs> {
        let mut input = self.out.into_inner().map_err(|e| e.into_error())?;
        input.seek(SeekFrom::Start(0))?;
        let mut offsets = Vec::with_capacity(self.counts.len());
        let mut total = 0u64;
        for &n in &self.counts {
            offsets.push(total);
            total += n;
        }
        let mut sorted = temp_file(dir)?;
        sorted.set_len(total * OUT_RECORD as u64)?;
        let mut buckets: Vec<Vec<u8>> = vec![Vec::new(); self.counts.len()];
        let flush = |sorted: &mut File, bucket: &mut Vec<u8>, offset: &mut u64| -> io::Result<()> {
            if bucket.is_empty() {
                return Ok(());
            }
            sorted.seek(SeekFrom::Start(*offset * OUT_RECORD as u64))?;
            sorted.write_all(bucket)?;
            *offset += (bucket.len() / OUT_RECORD) as u64;
            bucket.clear();
            Ok(())
        };
        let mut reader = BufReader::with_capacity(64 * 1024, input);
        let mut rec = [0u8; IN_RECORD];
        for _ in 0..total {
            reader.read_exact(&mut rec)?;
            let case = u32::from_le_bytes(rec[..4].try_into().expect("4 bytes")) as usize;
            let bucket = &mut buckets[case];
            bucket.extend_from_slice(&rec[4..]);
            if bucket.len() >= BUCKET_BYTES {
                flush(&mut sorted, bucket, &mut offsets[case])?;
            }
        }
        for (bucket, offset) in buckets.iter_mut().zip(offsets.iter_mut()) {
            flush(&mut sorted, bucket, offset)?;
        }
        sorted.seek(SeekFrom::Start(0))?;
        Ok(SortedCaseRefs {
            reader: BufReader::with_capacity(64 * 1024, sorted),
            counts: self.counts,
            next_case: 0,
        })
    }
}

/// The triples grouped by case; read with [`SortedCaseRefs::read_case`] in case order.
pub(crate) struct SortedCaseRefs {
    reader: BufReader<File>,
    counts: Vec<u64>,
    next_case: usize,
}

impl SortedCaseRefs {
    /// Calls `f(group, seq)` for every triple of `case`; cases must be read in ascending order.
    pub fn read_case(
        &mut self,
        case: usize,
        mut f: impl FnMut(u32, i64) -> io::Result<()>,
    ) -> io::Result<()> {
        assert!(
            case >= self.next_case,
            "cases must be read in ascending order"
        );
        while self.next_case < case {
            let skip = self.counts.get(self.next_case).copied().unwrap_or(0);
            self.reader.seek_relative(skip as i64 * OUT_RECORD as i64)?;
            self.next_case += 1;
        }
        let n = self.counts.get(case).copied().unwrap_or(0);
        let mut rec = [0u8; OUT_RECORD];
        for _ in 0..n {
            self.reader.read_exact(&mut rec)?;
            f(
                u32::from_le_bytes(rec[..4].try_into().expect("4 bytes")),
                i64::from_le_bytes(rec[4..].try_into().expect("8 bytes")),
            )?;
        }
        self.next_case = case + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_case_keeping_arrival_order() {
        let mut spool = CaseRefSpool::new(None).unwrap();
        let mut expected: Vec<Vec<(u32, i64)>> = vec![Vec::new(); 7];
        // Enough records to overflow the per-case buffers several times.
        for i in 0..5000i64 {
            let case = ((i * 7919) % 7) as u32;
            if case == 4 {
                continue; // a case without records
            }
            let group = (i / 1000) as u32;
            spool.push(case, group, i).unwrap();
            expected[case as usize].push((group, i));
        }
        let mut sorted = spool.sort(None).unwrap();
        for case in [0usize, 1, 2, 4, 5, 6] {
            // case 3 is skipped on purpose
            let mut got = Vec::new();
            sorted
                .read_case(case, |g, s| {
                    got.push((g, s));
                    Ok(())
                })
                .unwrap();
            assert_eq!(got, expected[case], "case {case}");
        }
        // Reading past the last case is empty.
        sorted.read_case(9, |_, _| panic!("no records")).unwrap();
    }
}

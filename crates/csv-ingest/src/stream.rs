//! Early writing: numeric columns go to the Arrow file piece by piece while
//! other pieces are still being parsed.
//!
//! Writing the file is mostly the OS allocating and filling tmpfs pages, one
//! writer at a time per file (measured ~2.4 GB/s here, whatever the thread
//! count). Done after the parse it adds its full time to `%load`; done as
//! each piece finishes, it overlaps the parse of the others.
//!
//! This needs each numeric value's final place before the parse ends, so it
//! only runs when that is knowable: no quotes in the body (then rows per
//! piece = line breaks per piece, checked again after parsing), and the
//! body starts at a fixed offset after room for the header (`ipc` puts the
//! header there). Each column the sample guessed numeric gets a slot of
//! `rows x 8` bytes. At the end `finish` keeps a slot only if the column
//! ended as int64 or float64 (float columns partly written as ints are
//! rewritten in place); anything else, and the caller writes the whole file
//! the ordinary way.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use polars::prelude::*;
use rayon::prelude::*;

use crate::fast::Kind;
use crate::ipc::numeric_bytes;

/// Bytes reserved for the file head (magic, schema and batch messages)
/// before the body: a fixed part plus room per column for names and
/// metadata. Sparse on tmpfs, so unused room costs nothing.
fn head_room(width: usize) -> usize {
    (64 << 10) + 512 * width
}

/// A piece's values for one column.
pub(crate) enum Numbers<'a> {
    Ints(&'a [i64]),
    Floats(&'a [f64]),
    None,
}

/// Columns already in the file: where the body starts, and per frame
/// column the body offset of its values (None: write it after `area`).
pub(crate) struct Prewritten {
    pub body_start: usize,
    pub offsets: Vec<Option<usize>>,
    pub area: usize,
}

pub(crate) struct Sink<'f> {
    file: &'f File,
    plan: OnceLock<Plan>,
    broken: AtomicBool,
}

struct Plan {
    /// File offset of the body.
    body_start: usize,
    /// Per column: body offset of its values, for numeric guesses.
    slots: Vec<Option<usize>>,
    /// Per piece: its first row and its row count (from line breaks).
    first_rows: Vec<usize>,
    rows: Vec<usize>,
    height: usize,
    /// Bytes of body the slots take.
    area: usize,
    /// Per column: some piece was written as ints.
    wrote_ints: Vec<AtomicBool>,
    /// Per column: some piece had no numbers to write (the column failed
    /// there and was typed from its text).
    skipped: Vec<AtomicBool>,
}

impl<'f> Sink<'f> {
    pub fn new(file: &'f File) -> Self {
        Sink {
            file,
            plan: OnceLock::new(),
            broken: AtomicBool::new(false),
        }
    }

    /// Decide the slots, if this body allows early writing.
    pub fn plan(&self, pieces: &[&[u8]], kinds: &[Kind]) {
        let numeric = |k: &Kind| matches!(k, Kind::Int | Kind::Float);
        if !kinds.iter().any(numeric) {
            return;
        }
        let counts: Option<Vec<usize>> = pieces
            .par_iter()
            .map(|piece| {
                if memchr::memchr(b'"', piece).is_some() {
                    return None;
                }
                let breaks = memchr::memchr_iter(b'\n', piece).count();
                Some(breaks + usize::from(piece.last() != Some(&b'\n')))
            })
            .collect();
        let Some(rows) = counts else {
            return;
        };
        let height: usize = rows.iter().sum();
        let first_rows = rows
            .iter()
            .scan(0, |next, &r| {
                let first = *next;
                *next += r;
                Some(first)
            })
            .collect();
        let slot_len = crate::ipc::padded(height * 8);
        let mut area = 0;
        let slots = kinds
            .iter()
            .map(|k| {
                numeric(k).then(|| {
                    area += slot_len;
                    area - slot_len
                })
            })
            .collect();
        let flags = || kinds.iter().map(|_| AtomicBool::new(false)).collect();
        let _ = self.plan.set(Plan {
            body_start: head_room(kinds.len()),
            slots,
            first_rows,
            rows,
            height,
            area,
            wrote_ints: flags(),
            skipped: flags(),
        });
    }

    /// The fast reader gave up (the polars path reads the file): whatever
    /// was written early is not the table.
    pub fn abandon(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }

    /// Piece `k` is parsed: write its numeric parts to their slots.
    pub fn piece_done<'p>(&self, k: usize, rows: usize, numbers: &dyn Fn(usize) -> Numbers<'p>) {
        let Some(plan) = self.plan.get() else {
            return;
        };
        if self.broken.load(Ordering::Relaxed) || plan.rows[k] != rows {
            self.broken.store(true, Ordering::Relaxed);
            return;
        }
        for (c, slot) in plan.slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let at = plan.body_start + slot + plan.first_rows[k] * 8;
            let written = match numbers(c) {
                Numbers::Ints(values) => {
                    plan.wrote_ints[c].store(true, Ordering::Relaxed);
                    self.file.write_all_at(numeric_bytes(values), at as u64)
                }
                Numbers::Floats(values) => self.file.write_all_at(numeric_bytes(values), at as u64),
                Numbers::None => {
                    plan.skipped[c].store(true, Ordering::Relaxed);
                    Ok(())
                }
            };
            if written.is_err() {
                self.broken.store(true, Ordering::Relaxed);
            }
        }
    }

    /// After the parse: which columns are in place (fixing float columns
    /// written partly as ints), or `None` to write the file from scratch.
    pub fn finish(self, height: usize, columns: &[Column]) -> Option<Prewritten> {
        let plan = self.plan.into_inner()?;
        if self.broken.into_inner() || plan.height != height {
            return None;
        }
        let mut offsets = Vec::with_capacity(columns.len());
        for (c, column) in columns.iter().enumerate() {
            let Some(slot) = plan.slots[c] else {
                offsets.push(None);
                continue;
            };
            let skipped = plan.skipped[c].load(Ordering::Relaxed);
            let wrote_ints = plan.wrote_ints[c].load(Ordering::Relaxed);
            let at = plan.body_start + slot;
            match column.dtype() {
                _ if column.null_count() > 0 => return None,
                DataType::Int64 if skipped => rewrite(self.file, at, column.i64().ok()?)?,
                DataType::Int64 => {}
                DataType::Float64 if skipped || wrote_ints => {
                    rewrite(self.file, at, column.f64().ok()?)?
                }
                DataType::Float64 => {}
                _ => return None,
            }
            offsets.push(Some(slot));
        }
        Some(Prewritten {
            body_start: plan.body_start,
            offsets,
            area: plan.area,
        })
    }
}

/// Write a whole numeric column at `at`.
fn rewrite<T: PolarsNumericType>(
    file: &File,
    mut at: usize,
    values: &ChunkedArray<T>,
) -> Option<()> {
    for chunk in values.downcast_iter() {
        let bytes = numeric_bytes(chunk.values().as_slice());
        file.write_all_at(bytes, at as u64).ok()?;
        at += bytes.len();
    }
    Some(())
}

//! Cutting the body into pieces that each start at a record boundary.

use rayon::prelude::*;

/// Pieces are at least this big, so small files stay in one piece.
const MIN_PIECE_BYTES: usize = 1 << 18;
/// Pieces per thread: enough to even out uneven rows.
const PIECES_PER_THREAD: usize = 4;

/// Cut `body` into pieces that each start at a record boundary. Without
/// quotes any line break is one; with quotes, a line break outside a
/// quoted field (quote parity is the quoted state, as the body has no
/// irregular quotes).
pub(super) fn split(body: &[u8]) -> Vec<&[u8]> {
    let target =
        (body.len() / (rayon::current_num_threads() * PIECES_PER_THREAD)).max(MIN_PIECE_BYTES);
    if body.len() <= target {
        return vec![body];
    }
    let starts: Vec<usize> = (1..body.len().div_ceil(target))
        .map(|k| k * target)
        .collect();
    let cuts: Vec<Option<usize>> = if memchr::memchr(b'"', body).is_none() {
        starts
            .par_iter()
            .map(|&s| memchr::memchr(b'\n', &body[s..]).map(|i| s + i + 1))
            .collect()
    } else {
        let parities: Vec<bool> = std::iter::once(0)
            .chain(starts.iter().copied())
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&s| {
                memchr::memchr_iter(b'"', &body[s..(s + target).min(body.len())]).count() % 2 == 1
            })
            .collect();
        let mut inside = false;
        starts
            .iter()
            .zip(&parities)
            .map(|(&s, &odd)| {
                inside ^= odd;
                line_end_outside_quotes(body, s, inside)
            })
            .collect()
    };
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for cut in cuts.into_iter().flatten() {
        if cut > from && cut < body.len() {
            pieces.push(&body[from..cut]);
            from = cut;
        }
    }
    pieces.push(&body[from..]);
    pieces
}

/// Just past the first line break at or after `start` that is outside
/// quotes, given whether `start` is inside a quoted field.
fn line_end_outside_quotes(body: &[u8], start: usize, mut inside: bool) -> Option<usize> {
    for (i, &b) in body[start..].iter().enumerate() {
        match b {
            b'"' => inside = !inside,
            b'\n' if !inside => return Some(start + i + 1),
            _ => {}
        }
    }
    None
}

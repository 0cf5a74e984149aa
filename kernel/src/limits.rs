//! Limits the kernel enforces on what a worker sends, stated once: the worker client applies
//! them, `%sandbox` reports them.

/// Longest protocol line accepted from a worker; longer ones are dropped unread (and end a
/// question worker).
pub const MAX_LINE_BYTES: usize = 16 << 20;
/// Output bytes one call may send to the notebook (the worker caps itself first).
pub const MAX_CALL_OUTPUT_BYTES: usize = 80 << 20;
/// The same for model code (a question worker).
pub const MAX_QUESTION_OUTPUT_BYTES: usize = 12 << 20;

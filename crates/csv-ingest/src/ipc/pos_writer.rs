//! Buffered positional writes (`pwrite`), so columns go to their ranges of the file concurrently.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

/// Buffered writes at a fixed place in the file (`pwrite`), so columns can
/// be written concurrently. Large writes skip the buffer.
pub(super) struct PosWriter<'a> {
    file: &'a File,
    position: u64,
    buffer: Vec<u8>,
}

impl<'a> PosWriter<'a> {
    const CAPACITY: usize = 1 << 18;

    pub(super) fn new(file: &'a File, position: usize) -> Self {
        PosWriter {
            file,
            position: position as u64,
            buffer: Vec::with_capacity(Self::CAPACITY),
        }
    }

    /// Where the next byte goes, counting what is still buffered.
    pub(super) fn position(&self) -> u64 {
        self.position + self.buffer.len() as u64
    }
}

impl Write for PosWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.buffer.len() + bytes.len() > Self::CAPACITY {
            self.flush()?;
        }
        if bytes.len() >= Self::CAPACITY {
            self.file.write_all_at(bytes, self.position)?;
            self.position += bytes.len() as u64;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.file.write_all_at(&self.buffer, self.position)?;
            self.position += self.buffer.len() as u64;
            self.buffer.clear();
        }
        Ok(())
    }
}

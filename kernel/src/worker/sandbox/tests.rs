//! Unit tests of the sandbox, one file per layer (tests/).

use super::*;

mod environment;
mod filesystem;
mod report;
mod syscalls;

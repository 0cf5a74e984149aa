//! Pulling the Python code out of a chat-model reply.

use rustpython_parser::{ast, Parse};

/// Fence labels taken as Python. Unlabelled fences count too: models often
/// omit the language.
const PYTHON_LABELS: &[&str] = &["", "python", "py", "python3", "py3", "ipython"];

/// How many leading or trailing prose lines an unfenced reply may lose.
const MAX_PROSE_LINES: usize = 8;

pub fn extract_code(reply: &str) -> String {
    let blocks = fenced_blocks(reply);
    if blocks.is_empty() {
        return strip_prose(reply.trim());
    }
    let python = blocks
        .iter()
        .filter(|b| PYTHON_LABELS.contains(&b.label.as_str()));
    // Fall back to any fenced block: a mislabelled block beats the prose.
    let chosen = largest(python).or_else(|| largest(blocks.iter()));
    chosen.map_or_else(String::new, |b| tidy(&b.lines))
}

struct Block {
    /// Lower-cased first word of the info string (` ```Python title ` -> "python").
    label: String,
    lines: Vec<String>,
}

impl Block {
    fn size(&self) -> usize {
        self.lines.iter().map(|l| l.trim().len()).sum()
    }
}

/// Largest block; the first one wins a tie.
fn largest<'a>(blocks: impl DoubleEndedIterator<Item = &'a Block>) -> Option<&'a Block> {
    blocks.rev().max_by_key(|b| b.size())
}

/// Splits out ``` fenced blocks. An unterminated block runs to the end of the
/// reply (the model's output was cut off).
fn fenced_blocks(reply: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for line in reply.lines() {
        let Some((block, indent)) = open.as_mut() else {
            open = opening_fence(line);
            continue;
        };
        let trimmed = line.trim();
        if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '`') {
            blocks.extend(open.take().map(|(b, _)| b));
        } else if let Some(code) = line.trim_end().strip_suffix("```") {
            // Closing fence glued to the last code line.
            block.lines.push(unindent(code, *indent).to_string());
            blocks.extend(open.take().map(|(b, _)| b));
        } else {
            block.lines.push(unindent(line, *indent).to_string());
        }
    }
    blocks.extend(open.map(|(b, _)| b));
    blocks
}

/// A line opening a fence: returns the empty block and the fence's indent.
fn opening_fence(line: &str) -> Option<(Block, usize)> {
    let content = line.trim_start();
    let info = content.strip_prefix("```")?.trim_start_matches('`');
    let label = info.split_whitespace().next().unwrap_or("").to_lowercase();
    let block = Block {
        label,
        lines: Vec::new(),
    };
    Some((block, line.len() - content.len()))
}

/// Removes up to `indent` leading spaces (fences nested in list items).
fn unindent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    &line[spaces.min(indent)..]
}

/// Dedents, drops leading blank lines and trailing whitespace.
fn tidy<S: AsRef<str>>(lines: &[S]) -> String {
    let lines: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = lines
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .map(|l| l.get(common..).unwrap_or("").trim_end_matches(['\r']))
        .collect();
    dedented.join("\n").trim_end().to_string()
}

fn parses(source: &str) -> bool {
    ast::Suite::parse(source, "<reply>").is_ok()
}

/// Blank, or prose: not Python on its own and no `=` (which would suggest
/// broken code that must not be silently dropped).
fn is_prose_line(line: &str) -> bool {
    line.trim().is_empty() || (!line.contains('=') && !parses(line.trim()))
}

/// For unfenced replies: drop leading/trailing prose lines ("Here is the
/// code:") when what remains parses. Prefers dropping as few lines as possible.
fn strip_prose(text: &str) -> String {
    if parses(text) {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let lead = lines
        .iter()
        .take(MAX_PROSE_LINES)
        .take_while(|l| is_prose_line(l))
        .count();
    let tail = lines
        .iter()
        .rev()
        .take(MAX_PROSE_LINES)
        .take_while(|l| is_prose_line(l))
        .count();
    let mut cuts: Vec<(usize, usize)> = (0..=lead)
        .flat_map(|l| (0..=tail).map(move |t| (l, t)))
        .filter(|(l, t)| l + t < lines.len())
        .collect();
    cuts.sort_by_key(|(l, t)| (l + t, *t));
    cuts.into_iter()
        .map(|(l, t)| &lines[l..lines.len() - t])
        .find(|kept| kept.iter().any(|l| !l.trim().is_empty()) && parses(&kept.join("\n")))
        .map_or_else(|| text.to_string(), tidy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_label_is_first_word_lowercased() {
        let blocks = fenced_blocks("```Python title=x\na = 1\n```");
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "python");
    }

    #[test]
    fn prose_detection() {
        assert!(is_prose_line("Here is the code:"));
        assert!(is_prose_line(""));
        assert!(!is_prose_line("result = ("));
        assert!(!is_prose_line("x.sum()"));
    }
}

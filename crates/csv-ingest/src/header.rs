//! Column names exactly as `pd.read_csv` builds them from the header row.

use std::collections::{HashMap, HashSet};

/// Name of the `i`-th implicit index column in the frame. The Python bridge
/// turns these into the (unnamed) pandas index; pyarrow uses the same
/// convention for a pandas index.
pub(crate) fn index_column_name(i: usize) -> String {
    format!("__index_level_{i}__")
}

/// Empty names become `Unnamed: {position}`, then duplicates are mangled.
pub(crate) fn column_names(header: &[String]) -> Vec<String> {
    let mut unnamed = Vec::new();
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if name.is_empty() {
                unnamed.push(i);
                format!("Unnamed: {i}")
            } else {
                name.clone()
            }
        })
        .collect();
    mangle_duplicates(names, &unnamed)
}

/// Port of `pandas.io.common.mangle_dupe_names` (the C parser's rules):
/// repeats become `x.1`, `x.2`, ...; a generated name that already exists in
/// the header is skipped (`["x", "x", "x.1"]` -> `["x", "x.2", "x.1"]`); and
/// named columns are processed before unnamed ones so real names win.
fn mangle_duplicates(mut names: Vec<String>, unnamed: &[usize]) -> Vec<String> {
    // pandas tests membership against the list as it is being renamed, so
    // keep a multiset of the current names.
    let mut current: HashMap<String, usize> = HashMap::new();
    for name in &names {
        *current.entry(name.clone()).or_default() += 1;
    }
    let unnamed_set: HashSet<usize> = unnamed.iter().copied().collect();
    let order: Vec<usize> = (0..names.len())
        .filter(|i| !unnamed_set.contains(i))
        .chain(unnamed.iter().copied())
        .collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for i in order {
        let old = names[i].clone();
        let mut col = old.clone();
        let mut count = counts.get(&col).copied().unwrap_or(0);
        while count > 0 {
            counts.insert(old.clone(), count + 1);
            col = format!("{old}.{count}");
            if current.get(&col).is_some_and(|&n| n > 0) {
                count += 1;
            } else {
                count = counts.get(&col).copied().unwrap_or(0);
            }
        }
        counts.insert(col.clone(), count + 1);
        if col != old {
            *current.get_mut(&old).expect("old name is present") -= 1;
            *current.entry(col.clone()).or_default() += 1;
            names[i] = col;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(header: &[&str]) -> Vec<String> {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        column_names(&header)
    }

    // Expected values are what pandas 3.1 `pd.read_csv` produced.
    #[test]
    fn matches_pandas_mangling() {
        assert_eq!(names(&["a", "b"]), ["a", "b"]);
        assert_eq!(
            names(&["a", "a", "a.1", "a", "b", "", ""]),
            ["a", "a.2", "a.1", "a.3", "b", "Unnamed: 5", "Unnamed: 6"]
        );
        assert_eq!(
            names(&["", "Unnamed: 0", "a"]),
            ["Unnamed: 0.1", "Unnamed: 0", "a"]
        );
        assert_eq!(
            names(&["Unnamed: 1", "", "a"]),
            ["Unnamed: 1", "Unnamed: 1.1", "a"]
        );
        assert_eq!(
            names(&["a", "a", "", "a.1", ""]),
            ["a", "a.2", "Unnamed: 2", "a.1", "Unnamed: 4"]
        );
        assert_eq!(names(&[" a ", "NA"]), [" a ", "NA"]);
    }
}

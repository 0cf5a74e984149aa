use code_guard::extract_code;

#[test]
fn python_fence() {
    assert_eq!(extract_code("```python\nresult = 1\n```"), "result = 1");
}

#[test]
fn unlabelled_fence_with_prose_around() {
    let reply = "Here you go:\n```\nresult = 2\n```\nThis computes...";
    assert_eq!(extract_code(reply), "result = 2");
}

#[test]
fn plain_code_is_trimmed() {
    assert_eq!(extract_code("  result = 3\n\n"), "result = 3");
}

#[test]
fn leading_prose_without_fences_is_dropped() {
    let reply = "Sure! Here is the code:\nresult = df['a'].sum()";
    assert_eq!(extract_code(reply), "result = df['a'].sum()");
    let reply = "Sure!\n\nHere is the code:\nx = df['a']\nresult = x.sum()\nThis sums column a.";
    assert_eq!(extract_code(reply), "x = df['a']\nresult = x.sum()");
}

#[test]
fn broken_code_is_not_trimmed_into_other_code() {
    // A line with '=' is never dropped as prose, so the syntax error survives.
    let reply = "Here it is:\nresult = 1\nresult = foo(";
    assert_eq!(extract_code(reply), reply);
}

#[test]
fn two_fences_take_the_largest_python_block() {
    let reply = "First load:\n```python\nx = 1\n```\nThen analyse:\n```python\nx = df['a']\nresult = x.mean()\n```\nDone.";
    assert_eq!(extract_code(reply), "x = df['a']\nresult = x.mean()");
}

#[test]
fn non_python_fences_are_skipped() {
    let reply = "Install:\n```bash\npip install a-much-longer-package-name-than-the-code\n```\n```py\nresult = 4\n```";
    assert_eq!(extract_code(reply), "result = 4");
}

#[test]
fn only_other_labels_fall_back_to_largest_block() {
    assert_eq!(extract_code("```pandas\nresult = 5\n```"), "result = 5");
}

#[test]
fn fence_details() {
    // Indentation inside the block is kept relative to the block.
    let reply = "```python\nfor x in y:\n    result = x\n```";
    assert_eq!(extract_code(reply), "for x in y:\n    result = x");
    // Unterminated fence runs to the end; closing fence glued to code.
    assert_eq!(extract_code("```python\nresult = 6\n"), "result = 6");
    assert_eq!(extract_code("```python\nresult = 7```"), "result = 7");
    // Fence nested in a list item, and an upper-case label.
    assert_eq!(
        extract_code("1. Run:\n   ```Python\n   result = 8\n   ```"),
        "result = 8"
    );
    // CRLF line endings.
    assert_eq!(
        extract_code("```python\r\nresult = 9\r\n```\r\n"),
        "result = 9"
    );
}

from service.ui import diff


def test_lines_are_tagged_for_colouring():
    result = diff.body_diff("Hi {{ who }}\nBye\n", "Hello {{ who }}\nBye\n", old_name="r1", new_name="r2")
    kinds = [(line.kind, line.text) for line in result.lines]
    assert kinds == [
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("del", "-Hi {{ who }}"),
        ("add", "+Hello {{ who }}"),
        ("ctx", " Bye"),
    ]
    assert result.changed and not result.truncated


def test_identical_bodies_have_no_changes_and_long_diffs_are_cut():
    assert not diff.body_diff("same", "same", old_name="a", new_name="b").changed
    old = "\n".join(f"line {i}" for i in range(1000))
    new = "\n".join(f"LINE {i}" for i in range(1000))
    long = diff.body_diff(old, new, old_name="a", new_name="b")
    assert long.truncated and len(long.lines) == diff.MAX_LINES


def test_a_body_line_that_looks_like_a_file_header_is_kept():
    result = diff.body_diff("a\n", "a\n--- not a header\n", old_name="r1", new_name="r2")
    assert ("add", "+--- not a header") in [(line.kind, line.text) for line in result.lines]


def test_a_last_line_without_newline_is_not_glued_to_the_next():
    result = diff.body_diff("Hello", "Hello\nAnswer", old_name="r1", new_name="r2")
    assert [(line.kind, line.text) for line in result.lines][1:] == [("ctx", " Hello"), ("add", "+Answer")]

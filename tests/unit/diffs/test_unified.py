from service.diffs.service import unified


def test_unified_diff_of_bodies_names_both_sides():
    text = unified(
        "Hello {{ who }}\nBye", "Hi {{ who }}\nBye", old_name="greet revision 1", new_name="greet revision 2"
    )
    assert text.splitlines() == [
        "--- greet revision 1",
        "+++ greet revision 2",
        "@@ -1,2 +1,2 @@",
        "-Hello {{ who }}",
        "+Hi {{ who }}",
        " Bye",
    ]


def test_identical_bodies_give_an_empty_diff():
    assert unified("same\n", "same\n", old_name="a", new_name="b") == ""


def test_a_missing_final_newline_does_not_glue_lines():
    text = unified("a\nb", "a\nb\nc\n", old_name="x", new_name="y")
    assert "+c" in text.splitlines() and "bc" not in text

"""The `prompter` command line."""

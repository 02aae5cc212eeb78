"""Retiring prompts: archive and unarchive a prompt name, a revision or a version; delete a whole name (admins)."""

"""Rendered diffs: the two revisions' resources, compared by identity, as text, markdown or JSON."""

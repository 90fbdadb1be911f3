"""Promotion: the plan (what DST takes from SRC), where SRC is read from, the files written,
and the dry run's rendered diff."""

"""The sinks: the rendered branch (environment directories, metadata, commits, pushes, tags,
never-backwards history) and the directory or stdout of `toolkit render`."""

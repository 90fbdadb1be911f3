"""The ground floor: processes, git, HTTP, file replacement, YAML reading and editing, templates.

Nothing here knows what an environment or a chart is; every stage above builds on these."""

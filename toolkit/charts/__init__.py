"""Where each release's chart comes from: repositories, registries, local directories, the
Helm-compatible semver that chooses a version, and the lock file that pins it with a digest."""

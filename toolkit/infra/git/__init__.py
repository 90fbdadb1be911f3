"""The one place that runs git: small functions named by what they ask of it, by job in the
modules of this package (`run` holds the one command line) and all importable from here.

Each name is imported from its module when it is first asked for (PEP 562): a run loads only
the modules it uses, so a hydrate with nothing to do defines none of what pushing needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.infra.git.identities import DEFAULT_EMAIL, DEFAULT_NAME, Identity, identity
    from toolkit.infra.git.objects import (
        note_paths,
        read_blob,
        read_blobs,
        read_objects,
    )
    from toolkit.infra.git.remotes import (
        PushResult,
        RefStatus,
        push,
        remote_refs,
    )
    from toolkit.infra.git.repository import (
        commit_of,
        commit_summaries,
        commits_changing,
        default_branch,
        fetch_commits,
        has_commit,
        head_sha,
        is_ancestor,
        is_shallow,
        merge_base,
        object_types,
        paths_between,
        rev_parse,
        subject,
        toplevel,
        unshallow,
    )
    from toolkit.infra.git.run import (
        DEFAULT_TIMEOUT,
        TIMEOUT_ENV,
        is_object_id,
        remote_url,
        without_credentials,
    )
    from toolkit.infra.git.trees import TreeEntry, directory_tree, export_tree, list_tree
    from toolkit.infra.git.worktree import (
        WORKTREE_PREFIX,
        WorkTreeStatus,
        branch_exists,
        changed_paths,
        commit_paths,
        current_branch,
        ignoring_rules,
        show_prefix,
        switch_to_new_branch,
        symlink_paths,
        temporary_worktree,
        unwatched_paths,
        work_tree_files,
        work_tree_status,
    )
    from toolkit.infra.git.writing import (
        SCRATCH_PREFIX,
        branch_name_problem,
        local_refs,
        make_tag,
        ref_names,
        remove_abandoned,
        update_ref,
        update_refs,
        write_commit,
        write_notes,
    )

# Where __getattr__ looks for a name, the modules every run uses first.
_MODULES = ("run", "repository", "worktree", "writing", "objects", "identities", "trees", "remotes")

__all__ = [
    "DEFAULT_EMAIL",
    "DEFAULT_NAME",
    "DEFAULT_TIMEOUT",
    "SCRATCH_PREFIX",
    "TIMEOUT_ENV",
    "WORKTREE_PREFIX",
    "Identity",
    "PushResult",
    "RefStatus",
    "TreeEntry",
    "WorkTreeStatus",
    "branch_exists",
    "branch_name_problem",
    "changed_paths",
    "commit_of",
    "commit_paths",
    "commit_summaries",
    "commits_changing",
    "current_branch",
    "default_branch",
    "directory_tree",
    "export_tree",
    "fetch_commits",
    "has_commit",
    "head_sha",
    "identity",
    "ignoring_rules",
    "is_ancestor",
    "is_object_id",
    "is_shallow",
    "list_tree",
    "local_refs",
    "make_tag",
    "merge_base",
    "note_paths",
    "object_types",
    "paths_between",
    "push",
    "read_blob",
    "read_blobs",
    "read_objects",
    "ref_names",
    "remote_refs",
    "remote_url",
    "remove_abandoned",
    "rev_parse",
    "show_prefix",
    "subject",
    "switch_to_new_branch",
    "symlink_paths",
    "temporary_worktree",
    "toplevel",
    "unshallow",
    "unwatched_paths",
    "update_ref",
    "update_refs",
    "without_credentials",
    "work_tree_files",
    "work_tree_status",
    "write_commit",
    "write_notes",
]


def __getattr__(name: str) -> object:
    if name in __all__:
        for module_name in _MODULES:
            module = importlib.import_module(f"{__name__}.{module_name}")
            if name in vars(module):
                globals()[name] = value = vars(module)[name]  # asked once
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

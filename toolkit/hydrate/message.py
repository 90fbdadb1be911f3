"""The rendered commit's message: the default, or rendered.message in toolkit.yaml (a Jinja2
template, rendered through the one template factory); always ending in the source trailer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from toolkit.config.project import CONFIG_FILE, Config
from toolkit.hydrate.envdir import EnvironmentChange, SourceCommit
from toolkit.infra.errors import InputError

if TYPE_CHECKING:
    import jinja2


def message_template(config: Config) -> jinja2.Template | None:
    """rendered.message compiled once, before anything is rendered; None for the default."""
    if config.rendered_message is None:
        return None
    # Jinja2 loads here, not above: a hydrate with the default message (most) never loads it.
    import jinja2

    from toolkit.infra import templates

    where = f"{config.rendered_message_location or CONFIG_FILE}: rendered.message"
    try:
        return templates.template_environment().from_string(config.rendered_message)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"{where}: template syntax error on its line {exc.lineno}: {exc.message}; "
            "fix the Jinja2 syntax"
        ) from None


def _default_body(source: SourceCommit, changes: Sequence[EnvironmentChange]) -> str:
    """`hydrate <environments> from <short sha>`, the source commit's subject, and a line per
    environment that changed with how many files were added, changed and removed."""
    changed = [c for c in changes if c.changed_anything]
    names = ", ".join(c.environment for c in changed)
    lines = [
        f"{c.environment}: {len(c.added)} added, {len(c.changed)} changed, {len(c.removed)} removed"
        for c in changed
    ]
    return "\n".join(
        [f"hydrate {names} from {source.sha[:12]}", "", f"Source: {source.subject}", "", *lines]
    )


def commit_message(
    template: jinja2.Template | None,
    source: SourceCommit,
    branch: str,
    changes: Sequence[EnvironmentChange],
    *,
    where: str = CONFIG_FILE,
) -> str:
    """The rendered commit's message from the template (None: the default), always ending in
    the source trailer (the provenance every other tool reads, so a template cannot drop it)."""
    if template is None:
        body = _default_body(source, changes)
    else:
        body = _rendered(template, source, branch, changes, where)
    body = body.strip("\n")
    return f"{body}\n\nToolkit-Source: {source.sha}\n"


def _rendered(
    template: jinja2.Template,
    source: SourceCommit,
    branch: str,
    changes: Sequence[EnvironmentChange],
    where: str,
) -> str:
    context = {
        "source": {
            "sha": source.sha,
            "short": source.sha[:12],
            "subject": source.subject,
            "repoURL": source.repo_url,
        },
        "branch": branch,
        "environments": [
            {"name": c.environment, "added": c.added, "changed": c.changed, "removed": c.removed}
            for c in changes
            if c.changed_anything
        ],
        "skipped": [{"name": c.environment, "reason": c.skipped} for c in changes if c.skipped],
    }
    import jinja2.exceptions  # loaded already, by message_template

    from toolkit.infra import templates

    try:
        text = templates.render(template, context)
    except templates.LimitExceeded as exc:
        raise InputError(f"{where}: rendered.message {exc}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise InputError(f"{where}: rendered.message refused: {exc.message}") from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: rendered.message failed: {exc}; it may use source.sha, source.short, "
            "source.subject, source.repoURL, branch, environments (name, added, changed, "
            "removed) and skipped (name, reason)"
        ) from None
    if not text.strip():
        raise InputError(f"{where}: rendered.message rendered to an empty message")
    return text

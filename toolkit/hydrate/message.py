"""The rendered commit's message: a Jinja2 template (rendered.message in toolkit.yaml, or the
default), rendered through the one template factory, always ending in the source trailer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from toolkit.config.project import CONFIG_FILE, Config
from toolkit.hydrate.envdir import EnvironmentChange, SourceCommit
from toolkit.infra.errors import InputError

if TYPE_CHECKING:
    import jinja2

DEFAULT_MESSAGE = """\
hydrate {{ environments | map(attribute="name") | join(", ") }} from {{ source.short }}

Source: {{ source.subject }}

{% for env in environments -%}
{{ env.name }}: {{ env.added | length }} added, {{ env.changed | length }} changed, \
{{ env.removed | length }} removed
{% endfor %}"""


def message_template(config: Config) -> jinja2.Template:
    """rendered.message (or the default), compiled once, before anything is rendered."""
    # Jinja2 loads here, not above: a hydrate that writes nothing never compiles the message.
    import jinja2

    from toolkit.infra import templates

    where = f"{config.rendered_message_location or CONFIG_FILE}: rendered.message"
    try:
        return templates.template_environment().from_string(
            config.rendered_message or DEFAULT_MESSAGE
        )
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"{where}: template syntax error on its line {exc.lineno}: {exc.message}; "
            "fix the Jinja2 syntax"
        ) from None


def commit_message(
    template: jinja2.Template,
    source: SourceCommit,
    branch: str,
    changes: Sequence[EnvironmentChange],
    *,
    where: str = CONFIG_FILE,
) -> str:
    """The rendered commit's message from the template, always ending in the source trailer
    (the provenance every other tool reads, so a template cannot drop it)."""
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
    body = text.strip("\n")
    if not body.strip():
        raise InputError(f"{where}: rendered.message rendered to an empty message")
    return f"{body}\n\nToolkit-Source: {source.sha}\n"

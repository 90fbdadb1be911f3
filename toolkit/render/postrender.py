"""Post-render patches: a release's `patches:` applied to what helm printed by the real
kustomize, from a kustomization toolkit writes in a temporary directory beside helm's output
(the source tree is never written to)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from toolkit.config.patches import ReleasePatch
from toolkit.infra import process
from toolkit.infra.errors import RenderError
from toolkit.render.tools import Tool

_OUTPUT = "helm-output.yaml"


def kustomization(patches: Sequence[ReleasePatch]) -> str | None:
    """The kustomization that applies `patches` to helm's output (file patches inline, so the
    text is all a render needs and its cache key), or None without patches."""
    if not patches:
        return None
    entries = []
    for patch in patches:
        text = patch.patch if patch.path is None else patch.path.read_text(encoding="utf-8")
        entry: dict[str, object] = {"patch": text}
        if patch.target:
            entry["target"] = dict(patch.target)
        if patch.options:
            entry["options"] = dict(patch.options)
        entries.append(entry)
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [_OUTPUT],
        "patches": entries,
    }
    return json.dumps(document, sort_keys=True, indent=1) + "\n"  # JSON is YAML, and stable


def apply(text: str, kustomization_text: str, kustomize: Tool, *, what: str) -> str:
    """`kustomize build` of helm's output with the release's patches."""
    if not text.strip():
        return text
    with tempfile.TemporaryDirectory(prefix="toolkit-postrender-") as directory:
        (Path(directory) / _OUTPUT).write_text(text, encoding="utf-8")
        (Path(directory) / "kustomization.yaml").write_text(kustomization_text, encoding="utf-8")
        try:
            output = process.run((*kustomize.command, directory))
        except process.ProcessError as exc:
            stderr = exc.output.stderr.decode(errors="replace").strip()
            stderr = stderr.replace(directory, "<patches>")  # no machine path in the message
            raise RenderError(
                f"{what}: the release's patches did not apply (kustomize build):\n"
                f"{process.indent(stderr)}"
            ) from exc
    return output.stdout.decode()

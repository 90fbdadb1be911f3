"""The OCI distribution API against a real registry (docker-registry on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.charts import Registry, package_chart
from toolkit.charts import oci
from toolkit.charts.contentcache import sha256_digest
from toolkit.infra.http import FetchError
from toolkit.render import tools


@pytest.mark.parametrize(
    ("host", "plain"),
    [
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.8.9.1", True),
        ("[::1]:5000", True),
        ("ghcr.io", False),
        ("10.0.0.1:5000", False),
        ("localhost.example.com", False),
    ],
)
def test_only_loopback_registries_use_plain_http(host: str, plain: bool) -> None:
    assert oci.plain_http(host) is plain
    assert oci.parse_reference(f"oci://{host}/a/chart").api.startswith(
        "http://" if plain else "https://"
    )


def test_a_reference_and_its_parts() -> None:
    ref = oci.parse_reference("oci://ghcr.io/org/charts/podinfo")
    assert (ref.host, ref.repository) == ("ghcr.io", "org/charts/podinfo")
    assert ref.base == "oci://ghcr.io/org/charts"
    assert ref.api == "https://ghcr.io/v2/org/charts/podinfo"
    assert oci.tag_of("1.2.3+build.1") == "1.2.3_build.1"


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (b"not json", "not JSON"),
        (json.dumps({"layers": [{"mediaType": "application/x-tar"}]}).encode(), "no Helm chart"),
    ],
)
def test_a_manifest_without_a_chart(manifest: bytes, problem: str) -> None:
    with pytest.raises(FetchError, match=problem):
        oci.chart_layer(manifest, what="release x")


def test_tags_manifests_and_blobs(
    oci_registry: Registry, helm_tool: tools.Tool, tmp_path: Path
) -> None:
    archive = package_chart(helm_tool, tmp_path, "ocitags", "0.1.0", tmp_path / "out")
    oci_registry.push(archive, "unit")
    ref = oci.parse_reference(f"oci://{oci_registry.host}/unit/ocitags")
    registry = oci.Registry()
    assert registry.tags(ref, what="x") == ["0.1.0"]
    digest, manifest = registry.manifest(ref, "0.1.0", what="x")
    assert digest == sha256_digest(manifest)
    assert registry.blob(ref, oci.chart_layer(manifest, what="x"), what="x") == (
        archive.read_bytes()
    )
    with pytest.raises(
        FetchError, match=r"answered 404 Not Found; .* has no tag or digest 9\.9\.9"
    ):
        registry.manifest(ref, "9.9.9", what="x")
    missing = oci.parse_reference(f"oci://{oci_registry.host}/unit/nothing")
    with pytest.raises(FetchError, match=r"answered 404 Not Found; is .* a chart pushed"):
        registry.tags(missing, what="x")

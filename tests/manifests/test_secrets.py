"""Secret redaction: keys and sizes only, never a value."""

from __future__ import annotations

from toolkit.infra import kubeyaml
from toolkit.manifests import model, secrets

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: cGxhbnRlZC12YWx1ZQ==
  broken: not base64!
stringData:
  token: plain-planted
"""


def test_redact_secret_keeps_keys_and_sizes_only() -> None:
    (secret,) = model.parse(SECRET, source="api", namespace="api", where="test")
    assert secrets.is_secret(secret.id)
    redacted = secrets.redact_secret(secret.body)
    assert redacted["data"] == {
        "password": "<redacted: 13 bytes>",
        "broken": "<redacted: 11 bytes>",
    }
    assert redacted["stringData"] == {"token": "<redacted: 13 bytes>"}
    assert redacted["metadata"] == secret.body["metadata"]
    printed = kubeyaml.dump(redacted)
    for value in ("cGxhbnRlZC12YWx1ZQ==", "planted-value", "not base64!", "plain-planted"):
        assert value not in printed
    assert secret.body["data"]["password"] == "cGxhbnRlZC12YWx1ZQ=="  # the original is untouched


def test_redact_secret_hides_a_data_field_that_is_not_a_mapping() -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": "c2VjcmV0"}
    assert secrets.redact_secret(body)["data"] == "<redacted>"


def test_secret_key_changes_compare_decoded_values() -> None:
    (old,) = model.parse(SECRET, source="api", namespace="api", where="test")
    new = dict(old.body)
    # The same bytes written as stringData-equivalent base64 with other padding is no change.
    new["data"] = {"password": "cGxhbnRlZC12YWx1ZQ==", "added": "eA=="}
    new["stringData"] = {"token": "plain-planted-2"}
    changes = secrets.secret_key_changes(old.body, new)
    assert [(c.field, c.key, c.status, c.old_size, c.new_size) for c in changes] == [
        ("data", "added", "added", None, 1),
        ("data", "broken", "removed", 11, None),
        ("data", "password", "unchanged", 13, 13),
        ("stringData", "token", "changed", 13, 15),
    ]
    assert all(c.status == "added" for c in secrets.secret_key_changes(None, old.body))

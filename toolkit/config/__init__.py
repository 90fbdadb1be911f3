"""toolkit.yaml and each environment's releases.yaml, validated once into frozen dataclasses."""

"""What a renderer printed, read as Kubernetes reads it: documents, identities, cluster scope,
and the one-resource-per-file layout."""

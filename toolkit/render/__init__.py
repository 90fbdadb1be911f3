"""config -> resolve -> render: helm and kustomize runs (in parallel, cached), the values they
read, the pinned tools they run, and the pipeline every command renders through."""

"""One module per command (Helm's pkg/action): an options dataclass and the run's
RenderSettings in, a result with `as_dict()` and `lines()` out; cli/ maps flags to them and
prints. No command imports another."""

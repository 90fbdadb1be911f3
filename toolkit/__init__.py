"""toolkit: render, hydrate, promote and diff GitOps config repositories."""

__version__ = "0.1.0"

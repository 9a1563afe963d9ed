"""The package version: a leaf, so that no module reads it back through the package root."""

__version__ = "0.1.0"

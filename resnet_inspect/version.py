"""The version, in one place (the package root and the report's environment read it)."""

__version__ = "0.1.0"

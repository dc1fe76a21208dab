"""Joinedup: joint delivery of public services across agencies and jurisdictions."""

__version__ = "0.1.0"

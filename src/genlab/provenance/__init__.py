"""Provenance of generated images: keyed watermarks, fake detection, attribution, memorization."""

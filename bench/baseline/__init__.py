"""The submit benchmark's baseline: a bare DRF view that validates ten fields and inserts a row."""

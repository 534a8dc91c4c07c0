"""The classifier's admin, by model family; Django autodiscovers it as classifier.admin."""

from classifier.admin import codebooks, review, versions

__all__ = ["codebooks", "review", "versions"]

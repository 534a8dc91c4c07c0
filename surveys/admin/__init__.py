"""The researchers' workbench in the Django admin (autodiscovered as surveys.admin)."""

from surveys.admin import workbench  # noqa: F401  (registers the model admins)

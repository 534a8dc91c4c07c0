"""The researchers' workbench in the Django admin (autodiscovered as surveys.admin).

Importing the modules below registers their model admins; see README.md for what lives where.
"""

from surveys.admin import builder, responses, roles, site  # noqa: F401  (registers the model admins)

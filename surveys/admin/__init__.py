"""The researchers' workbench in the Django admin (autodiscovered as surveys.admin).

Importing the modules below registers their model admins; see README.md for what lives where.
"""

from surveys.admin import apitokens, builder, responses, roles  # noqa: F401  (registers the model admins)

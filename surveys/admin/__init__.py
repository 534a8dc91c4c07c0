"""The researchers' workbench in the Django admin (autodiscovered as surveys.admin).

Importing the modules below registers their model admins; see README.md for what lives where.
"""

from surveys.admin import (  # noqa: F401  (registers the model admins)
    apitokens,
    builder,
    responses,
    roles,
    site,
)

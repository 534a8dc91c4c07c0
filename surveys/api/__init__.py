"""The research API (Django REST Framework): surveys, statistics and raw responses."""

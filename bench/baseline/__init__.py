"""Same-run baselines on the project's stack: a bare DRF insert, stored pages served as bytes."""

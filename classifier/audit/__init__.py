"""The audit sample per survey and codebook: selection, realised precision, threshold, shares."""

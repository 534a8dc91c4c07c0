"""Human coding: labels, assignments, who may review what, agreement between coders."""

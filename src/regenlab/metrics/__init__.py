"""Thin wrappers around torchmetrics, with the evaluation protocol stated in one place."""

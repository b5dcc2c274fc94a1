"""LightningModules: the training logic around the plain networks of ``regenlab.nets``."""

"""LightningDataModules and the image sources they read."""

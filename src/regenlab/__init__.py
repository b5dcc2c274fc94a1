"""regenlab: image generation and restoration experiments."""

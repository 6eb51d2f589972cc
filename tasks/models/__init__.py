"""Named models: where each one lives and how the `models` stage builds the ones we make."""

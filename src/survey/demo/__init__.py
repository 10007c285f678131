"""The demo organisation and synthetic data with a planted story, for trying out and validating the product."""

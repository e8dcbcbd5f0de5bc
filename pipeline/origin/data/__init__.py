"""Data of the origin engine: the product-specific rule table and the process vocabulary."""

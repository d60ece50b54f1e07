"""Themes: the org's codebook for open text, comments tagged with it, their sentiment and what each theme costs."""

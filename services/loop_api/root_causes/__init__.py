"""Root causes: the org's taxonomy of root-cause codes that closed cases carry."""

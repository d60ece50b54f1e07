"""loop_api's request and response models, a module per resource."""

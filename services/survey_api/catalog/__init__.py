"""The catalog: units, touchpoints, surveys and their published versions."""

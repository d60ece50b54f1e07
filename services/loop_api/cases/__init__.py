"""Cases: opened from responses by the rules, worked through their lifecycle against SLAs, followed up."""

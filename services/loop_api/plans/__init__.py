"""Action plans: the outer loop — root causes turned into owned work, and its measured impact on a metric."""

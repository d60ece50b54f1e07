"""Teams: who works cases (round robin) and who takes a unit's escalations."""

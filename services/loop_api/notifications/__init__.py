"""Email notifications to the people who own cases: written with the change, sent once by a replica-safe sender."""

"""Wire models that more than one service or client uses."""

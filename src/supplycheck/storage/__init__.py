"""Where data is kept: the SQLite store of screenings and intakes (`store`) and the one atomic
file writer (`atomic`)."""

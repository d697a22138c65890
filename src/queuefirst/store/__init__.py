"""The PostgreSQL store: convergent writes for workers, plain reads for the api."""

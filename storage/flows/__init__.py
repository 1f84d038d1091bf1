"""The flows in the database: the catalog conversations read, and the library admins change."""

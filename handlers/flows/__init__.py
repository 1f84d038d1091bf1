"""Question flows: the file schema, reading and checking flow files, and running a flow."""

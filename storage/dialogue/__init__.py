"""The dialogue's transaction on SQL, where a customer's message is stored, and its parts."""

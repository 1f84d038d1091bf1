"""The staff side: the staff room's values and the desk where staff replies and clicks land."""

"""A support function's service promises: what the front line can expect of it, versioned per round."""

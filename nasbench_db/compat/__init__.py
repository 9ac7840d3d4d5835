"""Drop-in facades for the original benchmark APIs."""

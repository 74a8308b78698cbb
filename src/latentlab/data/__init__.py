"""Data sets, preprocessing and input corruption."""

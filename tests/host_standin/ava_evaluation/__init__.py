"""The checkout's top-level AVA evaluation package (empty in the stand-in)."""

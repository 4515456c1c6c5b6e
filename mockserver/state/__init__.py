"""State of the mock that may live outside its process (the store seam and its implementations)."""

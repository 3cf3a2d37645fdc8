"""W3, cold vs warm planning: the first request of each distinct operation against its repeats."""

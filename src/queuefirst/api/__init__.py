"""The api function: validates, reads, and turns writes into queued commands."""

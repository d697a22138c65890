"""`queuefirst dev` itself: its settings, the checks that say what to fix, starting and stopping
every part in order, `dev.json` for the other commands, the summary, the console's control endpoint."""

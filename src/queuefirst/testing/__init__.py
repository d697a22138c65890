"""Testing an application's rules with the kit's own means: given a row, when a command, then...

- `EntityRules` (given/when/then over one entity's real decide path, in memory);
- `World` (a whole application in process: every command, cascade, ask and answer
  through the real batch path, over simulated FIFO queues, duplicates and
  reordering on request).

Neither builds metadata by hand, and both run the very code the workers run:
preconditions, rules, answers, admissions, withdrawals.
"""

from __future__ import annotations

from queuefirst.testing.rules import EntityRules, Outcome
from queuefirst.testing.world import World

__all__ = ["EntityRules", "Outcome", "World"]

"""The local SQS server's receive, in this process, on a clock that advances at each read.

`python -m tests.sqs_fake_clock` prints, as JSON, what a FIFO group's second
receive got at each of many instants around the moment the first receive's
messages come back from flight. A clock that moves 0.3 ms per read makes a
slow server reproducible: issue 24's reordering happened when the clock moved
between the reads of one receive. The fake is time alone; moto and the
patches are the real ones, applied here (never in the pytest process, whose
moto must stay unpatched).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import moto.core.utils as moto_utils

from queuefirst.local.servers import sqs_speedups

TICK_MS = 0.3
STEPS = 80  # 0.1 ms apart, from 3 ms before the first deadline to 5 ms after the last
_now = [1_900_000_000_000.0]


def _millis(dt: Any = None) -> float:
    _now[0] += TICK_MS
    return _now[0]


def _seconds(dt: Any = None) -> float:
    return _millis() / 1000


def _fake_the_clock() -> None:
    real = {"unix_time_millis": moto_utils.unix_time_millis, "unix_time": moto_utils.unix_time}
    fakes = {"unix_time_millis": _millis, "unix_time": _seconds}
    for module in list(sys.modules.values()):
        for name, function in real.items():
            if getattr(module, name, None) is function:
                setattr(module, name, fakes[name])


def main() -> None:
    sqs_speedups.apply()
    from moto.sqs.models import SQSBackend

    _fake_the_clock()
    seen = []
    for step in range(STEPS):
        backend = SQSBackend("us-east-1", "123456789012")
        queue = backend.create_queue(f"q{step}.fifo", FifoQueue="true", VisibilityTimeout="1")
        for n in range(6):
            backend.send_message(queue.name, f"m{n}", deduplication_id=f"d{n}", group_id="g")
        first = [m.body for m in backend.receive_message(queue.name, 3, 0, 1)]
        deadline = min(m.visible_at for m in queue.pending_messages)
        _now[0] = deadline - 3 + step * 0.1
        second = [m.body for m in backend.receive_message(queue.name, 10, 0, 1)]
        seen.append({"first": first, "second": second})
    print(json.dumps(seen))


if __name__ == "__main__":
    main()

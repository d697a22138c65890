"""The local SQS server: moto's server mode, in its own process, without its depth cliff.

`python -m queuefirst.local.servers.sqs_server -H 127.0.0.1 -p PORT` applies
`queuefirst.local.servers.sqs_speedups` and runs moto's own server entry point.
"""

from __future__ import annotations

import sys

from queuefirst.local.servers import sqs_speedups


def main() -> None:
    sqs_speedups.apply()
    from moto.server import main as moto_server

    moto_server(sys.argv[1:])


if __name__ == "__main__":
    main()

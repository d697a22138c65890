"""`queuefirst token`: a token from the local issuer, for curl and the walkthrough.

`queuefirst token user ann` is the token of end user `ann` (its `sub`: the id
of the row that end user owns, such as a customer `ann`); `queuefirst token
operator alice` an operator's.
The signing keys are the running (or next) `queuefirst dev`'s, kept in
QUEUEFIRST_HOME, so the gateway accepts the token. Deployed, tokens come from
the Cognito user pools instead (see the README's Security section).
"""

from __future__ import annotations

import argparse
from typing import Any

from queuefirst.local import DEFAULT_LIFETIME_SECONDS, DevSettings, LocalIssuer
from queuefirst.model.application import load_application
from queuefirst.model.principal import AUTHORIZERS, OPERATORS, USERS

# Spoken names too: `token user ann`, `token operator alice`.
KINDS = {USERS: USERS, "user": USERS, OPERATORS: OPERATORS, "operator": OPERATORS}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("token", help="print a token from the local issuer")
    parser.add_argument("kind", choices=sorted(KINDS), help=f"whose token: one of {', '.join(AUTHORIZERS)}")
    parser.add_argument("subject", help="the end user's id (its sub), or the operator's name")
    parser.add_argument(
        "--expires-in",
        type=int,
        default=DEFAULT_LIFETIME_SECONDS,
        metavar="SECONDS",
        help=f"lifetime (default {DEFAULT_LIFETIME_SECONDS}; Cognito's access tokens: 5 min to 1 day)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.expires_in < 1:
        raise ValueError("--expires-in must be at least 1 second")
    if not args.subject.strip():
        raise ValueError("the subject may not be empty")
    issuer = LocalIssuer(DevSettings().home.resolve(), load_application().name)
    print(issuer.mint(KINDS[args.kind], args.subject, expires_in=args.expires_in))
    return 0

"""Acknowledging a finding of AWS's rule pack (cdk-nag's AwsSolutions) on the construct it concerns.

cdk-nag 3 reads CDK's own acknowledgements (`Validations.of(construct)`); each
names the exact finding (`AwsSolutions-IAM5[Resource::*]`) and why it stands.
The README's Security section lists every one.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))

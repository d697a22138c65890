"""The HTTP API's routes are the route table's (issue 17): an action declared in an entity's
module is a route of the deployed API, behind its audience's authorizer, with nothing else edited.

AWS itself can't run here: the application is synthesized and its template read.
"""

from __future__ import annotations

from typing import Any

import pytest

from queuefirst.model.http_routes import api_routes
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst_infra import naming
from tests.fixtures.club import club
from tests.infra.infra_helpers import images_for, resources, synthesize
from tests.infra.test_security import authorizer_ids


def test_the_http_apis_routes_are_the_tables_a_new_action_included(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    registry = club(extra_action=True)
    synthesized = synthesize(
        registry, tmp_path_factory.mktemp("club-cdk.out"), {"images": images_for(registry)}
    )
    template = synthesized.templates[naming.shared_stack_name("club")]
    ids = authorizer_ids(template)
    deployed: dict[str, Any] = {
        props["Properties"]["RouteKey"]: props["Properties"]
        for props in resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(deployed) == {route.key for route in api_routes(registry)}
    assert deployed["POST /members/{key}/wave"]["AuthorizerId"] == {"Ref": ids[USERS]}
    assert deployed["POST /members/{key}/ban"]["AuthorizerId"] == {"Ref": ids[OPERATORS]}
    assert not any("poke" in key for key in deployed)  # an internal action has no route

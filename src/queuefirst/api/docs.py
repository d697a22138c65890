"""`GET /docs`: Swagger UI over the api's own OpenAPI document, served by the function.

Powertools' `enable_swagger` would show the document Powertools derives (not
the exact contract of `queuefirst.api.contract`) and import its OpenAPI models
at init; this page shows the contract, and imports Swagger's assets only when
asked for. The assets come with Powertools: no CDN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def swagger_page(document: dict[str, Any]) -> str:
    import aws_lambda_powertools.event_handler as event_handler
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    # `</` escaped: the document sits in a <script>, which a `</script>` in it would end.
    spec = json.dumps(document).replace("</", "<\\/")
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    return generate_swagger_html(spec, js, css, "", None)

"""The function images, built for real with bake and run under AWS's Runtime Interface
Emulator: contents, layering, labels, invocation, push and pull by digest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import statistics
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from queuefirst.local import free_port, http_event
from queuefirst.model.principal import OPERATORS, issuer_variable
from queuefirst.ops.image_registry import RegistryClient
from queuefirst.ops.images import own_files
from queuefirst.ops.plan import LABEL, compare, compute_plan, entities_in_tree, from_registry, targets_in_tree
from shop import application as shop_application
from tests.helpers import TEST_ISSUERS, api_event, receive_event

from .conftest import ROOT, SHOP, Built, bake, bake_env, run

# The first test also pays for the session fixture: engine, base image, a full bake.
pytestmark = [pytest.mark.images, pytest.mark.timeout(1200)]

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
TOP_LAYER_LIMIT = 64 * 1024


def inspect(image: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(run(["docker", "image", "inspect", image]).stdout)[0]
    return info


def image_layers(image: str) -> list[tuple[int, list[str]]]:
    """(size, file names) of each layer of a local image, bottom first (from docker save)."""
    saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
    out = []
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            blob = outer.extractfile(layer)
            assert blob is not None
            data = blob.read()
            with tarfile.open(fileobj=io.BytesIO(data)) as inner:
                names = [m.name for m in inner.getmembers() if not m.isdir()]
            out.append((len(data), names))
    return out


def own_layer(image: str) -> tuple[int, list[str]]:
    """The function's own layer: the last one that holds files."""
    return [layer for layer in image_layers(image) if layer[1]][-1]


def target(name: str):  # type: ignore[no-untyped-def]
    return next(t for t in targets_in_tree(ROOT, SHOP) if t.name == name)


def expected_in_image(src_paths: list[str]) -> set[str]:
    """Where src/... files land in the image (plus their byte-compiled twins)."""
    out = set()
    for src in src_paths:
        if not src.startswith("src/"):
            continue
        dest = "var/task/" + src.removeprefix("src/")
        out.add(dest)
        # Migration scripts are not byte-compiled (images/api/Dockerfile).
        if dest.endswith(".py") and "/migrations/versions/" not in dest:
            directory, _, name = dest.rpartition("/")
            out.add(f"{directory}/__pycache__/{name[:-3]}.PYC")
    return out


def normalize(names: list[str]) -> set[str]:
    out = set()
    for name in names:
        if "/__pycache__/" in name and name.endswith(".pyc"):
            directory, _, pyc = name.rpartition("/")
            out.add(f"{directory}/{pyc.split('.')[0]}.PYC")
        else:
            out.add(name)
    return out


# Contents and layering --------------------------------------------------------------


def test_every_image_is_labelled_with_its_fingerprint(built: Built) -> None:
    for name, function in built.plan["functions"].items():
        info = inspect(built.image(name))
        labels = info["Config"]["Labels"]
        assert labels[LABEL] == function["fingerprint"], name
        assert labels["queuefirst.function"] == name
        assert labels["org.opencontainers.image.source"]
        if function["entity"]:
            assert labels["queuefirst.entity"] == function["entity"]
            assert f"QUEUEFIRST_ENTITY={function['entity']}" in info["Config"]["Env"]
        if name != "base":
            # The schema revision it needs: a label for tools, the variable for its init check.
            revision = function["schema_revision"]
            assert revision and labels["queuefirst.schema-revision"] == revision, name
            assert f"QUEUEFIRST_SCHEMA_REVISION={revision}" in info["Config"]["Env"], name
        assert info["Config"]["User"] not in ("", "0", "root", "0:0")
        assert info["Config"]["Entrypoint"] == ["/lambda-entrypoint.sh"]
        assert info["Architecture"] == "amd64" and info["Os"] == "linux"


def test_function_commands_name_the_real_handlers(built: Built) -> None:
    assert inspect(built.image("api"))["Config"]["Cmd"] == ["queuefirst.functions.api.handler"]
    for worker in built.workers:
        assert inspect(built.image(worker))["Config"]["Cmd"] == ["queuefirst.functions.worker.handler"]


def test_each_worker_layer_is_small_and_holds_only_its_own_entity(
    built: Built, figures: dict[str, Any]
) -> None:
    entities = [built.plan["functions"][w]["entity"] for w in built.workers]
    for worker in built.workers:
        entity = built.plan["functions"][worker]["entity"]
        size, names = own_layer(built.image(worker))
        figures[f"own_layer_bytes[{worker}]"] = size
        assert size <= TOP_LAYER_LIMIT, (worker, size)
        expected = expected_in_image(own_files(ROOT, target(worker)))
        assert normalize(names) == expected, worker
        for other in entities:
            if other != entity:
                assert not any(f"/entities/{other}." in n or f"/{other}.cpython" in n for n in names)


def test_no_image_holds_another_entitys_code_anywhere(built: Built) -> None:
    for worker in built.workers:
        entity = built.plan["functions"][worker]["entity"]
        listing = run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "/bin/sh",
                built.image(worker),
                "-c",
                "cd /var/task/shop/entities && ls && ls " + entity,
            ]
        ).stdout.split()
        assert {"__init__.py", entity} <= set(listing) and not set(listing) & (set(built.entities) - {entity})
        assert "rules.py" in listing, (worker, listing)  # its own rules: the worker's alone


def test_the_api_and_the_console_carry_every_contract_and_no_rules(built: Built) -> None:
    for image in ("api", "admin"):
        listing = run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "/bin/sh",
                built.image(image),
                "-c",
                "cd /var/task/shop/entities && find . -name '*.py' | sort",
            ]
        ).stdout.split()
        assert listing == ["./__init__.py", *(f"./{e}/__init__.py" for e in sorted(built.entities))], (
            image,
            listing,
        )


MIGRATIONS_PACKAGES = ("sqlalchemy", "alembic", "mako", "markupsafe")


def test_the_api_layer_holds_the_registry_every_entity_the_migrations_and_their_dependencies(
    built: Built, figures: dict[str, Any]
) -> None:
    """The migrations function runs from the api's image: its layer holds the app's
    migrations, the kit's schema package and SQLAlchemy and Alembic (requirements/
    migrations.lock); no other image carries them."""
    size, names = own_layer(built.image("api"))
    figures["own_layer_bytes[api]"] = size
    own = expected_in_image(own_files(ROOT, target("api")))
    # Non-Python files (the alembic template) have no byte-compiled twin.
    assert own <= normalize(names)
    extra = normalize(names) - own
    assert extra and all(n.startswith(tuple(f"var/task/{p}" for p in MIGRATIONS_PACKAGES)) for n in extra), (
        sorted(n for n in extra if not n.startswith(tuple(f"var/task/{p}" for p in MIGRATIONS_PACKAGES)))[:5]
    )
    assert any("/migrations/versions/" in n for n in names)
    assert "var/task/queuefirst/schema/function.py" in own
    for other in ("admin", *built.workers):
        listing = run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "/bin/sh",
                built.image(other),
                "-c",
                "ls /var/task /var/task/queuefirst",
            ]
        ).stdout.split()
        assert not {"sqlalchemy", "alembic", "schema"} & set(listing), other


def test_the_admin_image_carries_only_its_own_code_and_jinja2(built: Built, figures: dict[str, Any]) -> None:
    """The console's layer: its package (templates and assets too), every entity module,
    and Jinja2 from requirements/admin.lock; nothing else, and no other image has them."""
    info = inspect(built.image("admin"))
    assert info["Config"]["Cmd"] == ["queuefirst.functions.admin.handler"]
    size, names = own_layer(built.image("admin"))
    figures["own_layer_bytes[admin]"] = size
    own = expected_in_image(own_files(ROOT, target("admin")))
    assert "var/task/queuefirst/admin/templates/shell.html" in own
    assert "var/task/queuefirst/admin/static/admin.js" in own
    extra = normalize(names) - own
    assert extra and all(n.startswith(("var/task/jinja2", "var/task/markupsafe")) for n in extra), sorted(
        extra
    )[:5]
    assert own <= normalize(names)
    for other in ("api", *built.workers):
        listing = run(
            ["docker", "run", "--rm", "--entrypoint", "/bin/sh", built.image(other), "-c", "ls /var/task"]
        ).stdout.split()
        assert "jinja2" not in listing, other
        checked = run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "/bin/sh",
                built.image(other),
                "-c",
                "test ! -e /var/task/queuefirst/admin && echo absent",
            ]
        )
        assert checked.stdout.strip() == "absent", other


def test_base_has_the_venv_rie_and_entrypoint_but_no_build_tools_or_caches(
    built: Built, figures: dict[str, Any]
) -> None:
    image = built.image("base")
    figures["base_image_bytes"] = inspect(image)["Size"]
    figures["python_base"] = built.env["PYTHON_BASE"]
    script = (
        "set -e; test -x /usr/local/bin/aws-lambda-rie; test -x /lambda-entrypoint.sh; "
        "python -c 'import awslambdaric, psycopg, pydantic, queuefirst'; "
        "! python -c 'import sqlalchemy' 2>/dev/null; ! python -c 'import alembic' 2>/dev/null; "
        "! python -c 'import queuefirst.local' 2>/dev/null; "
        "for t in gcc cc make pip pip3; do ! command -v $t || { echo has $t; exit 1; }; done; "
        "test ! -e /opt/venv/bin/pip; test ! -e /root/.cache/pip; test ! -e /tmp/runtime.lock; "
        "test ! -e /run/secrets/cacert; id -u"
    )
    result = run(["docker", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script])
    assert result.stdout.strip().splitlines()[-1] != "0"


def test_the_ca_secret_never_lands_in_a_layer(built: Built) -> None:
    for _size, names in image_layers(built.image("api")):
        assert not any(n.startswith("run/secrets") or n.endswith("cacert") for n in names)


# Fingerprints: only the changed function moves --------------------------------------


def test_changing_one_entitys_contract_moves_only_its_worker_the_api_and_the_console(
    scratch_repo: Path,
) -> None:
    before = compute_plan(scratch_repo, SHOP)
    contract = scratch_repo / "src" / "shop" / "entities" / "products" / "__init__.py"
    contract.write_text(contract.read_text() + "\n# a change to products' contract\n")
    after = compute_plan(scratch_repo, SHOP)
    moved = {
        n
        for n in before["functions"]
        if before["functions"][n]["fingerprint"] != after["functions"][n]["fingerprint"]
    }
    assert moved == {"api", "admin", "worker-products"}


def test_changing_the_kit_or_the_lock_moves_every_function(scratch_repo: Path) -> None:
    before = compute_plan(scratch_repo, SHOP)
    for path in ("src/queuefirst/model/command.py", "requirements/runtime.lock"):
        target = scratch_repo / path
        target.write_text(target.read_text() + "\n# touched\n")
        after = compute_plan(scratch_repo, SHOP)
        assert all(
            before["functions"][n]["fingerprint"] != after["functions"][n]["fingerprint"]
            for n in before["functions"]
        ), path
        before = after


def test_development_only_kit_modules_move_nothing(scratch_repo: Path) -> None:
    before = compute_plan(scratch_repo, SHOP)
    (scratch_repo / "src/queuefirst/local/extra_dev_tool.py").write_text("X = 1\n")
    for tool in sorted((scratch_repo / "src/queuefirst/ops").glob("*.py")):
        tool.write_text(tool.read_text() + "\n# an operator's tool, touched\n")
    assert compute_plan(scratch_repo, SHOP) == before


def test_rebuilding_after_one_entity_change_keeps_every_other_image_identical(
    built: Built, scratch_repo: Path, figures: dict[str, Any]
) -> None:
    tag = built.tag + "-scratch"
    env = bake_env(scratch_repo, built.env["PYTHON_BASE"], tag)
    bake(scratch_repo, env)
    before = {n: inspect(f"{f['image']}:{tag}")["Id"] for n, f in built.plan["functions"].items()}
    # A fix to one rule: rebuilt, exactly one image changes, that entity's worker's.
    rules = scratch_repo / "src" / "shop" / "entities" / "products" / "rules.py"
    rules.write_text(rules.read_text() + "\n# a fix to products' rules only\n")
    env = bake_env(scratch_repo, built.env["PYTHON_BASE"], tag)
    figures["bake_seconds_after_one_rule_change"] = bake(scratch_repo, env)
    fixed = {n: inspect(f"{f['image']}:{tag}")["Id"] for n, f in built.plan["functions"].items()}
    assert {n for n in before if before[n] != fixed[n]} == {"worker-products"}
    # A change to its contract: that worker, the api and the console.
    contract = scratch_repo / "src" / "shop" / "entities" / "products" / "__init__.py"
    contract.write_text(contract.read_text() + "\n# a change to products' contract\n")
    env = bake_env(scratch_repo, built.env["PYTHON_BASE"], tag)
    figures["bake_seconds_after_one_contract_change"] = bake(scratch_repo, env)
    after = {n: inspect(f"{f['image']}:{tag}")["Id"] for n, f in built.plan["functions"].items()}
    assert {n for n in fixed if fixed[n] != after[n]} == {"api", "admin", "worker-products"}


# Running under the Runtime Interface Emulator ---------------------------------------


class Function:
    """One function container on the host network, behind its own RIE port."""

    def __init__(self, image: str, env: dict[str, str]) -> None:
        self.image = image
        self.port = free_port()
        self.env = {
            **env,
            "QUEUEFIRST_RIE_ADDRESS": f"127.0.0.1:{self.port}",
            "QUEUEFIRST_RIE_RUNTIME_ADDRESS": f"127.0.0.1:{free_port()}",
        }
        self.container = ""
        self.cold_start_seconds = 0.0

    def start(self, first_event: dict[str, Any]) -> dict[str, Any]:
        """Start the container and invoke it once: the cold start, measured."""
        # No --rm: a container that dies at init keeps its logs for the failure message.
        args = ["docker", "run", "-d", "--network", "host"]
        for key, value in self.env.items():
            args += ["-e", f"{key}={value}"]
        started = time.monotonic()
        self.container = run([*args, self.image]).stdout.strip()
        deadline = started + 60
        while True:
            try:
                response = self.invoke(first_event)
                break
            except (ConnectionError, urllib.error.URLError) as error:
                if time.monotonic() > deadline:
                    log = self.logs()
                    raise AssertionError(f"{self.image} never answered ({error}); its log:\n{log}") from None
                time.sleep(0.02)
        self.cold_start_seconds = time.monotonic() - started
        return response

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{INVOKE_PATH}", data=json.dumps(event).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def logs(self) -> str:
        return run(["docker", "logs", self.container], check=False).stdout[-4000:]

    def stop(self) -> None:
        if self.container:
            run(["docker", "rm", "-f", self.container], check=False)


@contextmanager
def function(image: str, env: dict[str, str]) -> Iterator[Function]:
    fn = Function(image, env)
    try:
        yield fn
    except BaseException:
        print(f"--- logs of {image}\n{fn.logs()}")
        raise
    finally:
        fn.stop()


@pytest.fixture
def function_env(shop_url: str, sqs_endpoint: str, shop_queues: dict[str, Any]) -> dict[str, str]:
    return {
        "DATABASE_URL": shop_url,
        "SQS_ENDPOINT_URL": sqs_endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "queuefirst-images",
        # The issuers the events' claims name: the api checks them, as deployed.
        **{issuer_variable(kind): issuer for kind, issuer in TEST_ISSUERS.items()},
    }


def api_request(
    method: str, path: str, body: dict[str, Any] | None = None, *, as_user: str
) -> dict[str, Any]:
    """What API Gateway hands on once its JWT authorizer admitted end user `as_user` (AWS can't run here)."""
    return api_event(
        shop_application.registry(),
        method,
        path,
        as_user=as_user,
        headers={"content-type": "application/json", "host": "api.local"},
        body=json.dumps(body).encode() if body is not None else None,
        request_id=str(uuid.uuid4()),
    )


def test_api_and_worker_images_serve_real_events_under_rie(
    built: Built,
    function_env: dict[str, str],
    sqs_client: Any,
    shop_queues: dict[str, Any],
    figures: dict[str, Any],
) -> None:
    queues = shop_queues
    customer = f"c-{uuid.uuid4().hex[:12]}"
    with (
        function(built.image("api"), function_env) as api,
        function(built.image("worker-customers"), function_env) as worker,
    ):
        # A GET of a missing row: the cold start of the api, then warm invocations.
        missing = api.start(api_request("GET", f"/customers/{customer}", as_user=customer))
        assert missing["statusCode"] == 404, missing
        figures["cold_start_seconds[api]"] = round(api.cold_start_seconds, 3)
        warm = []
        for _ in range(20):
            started = time.monotonic()
            assert (
                api.invoke(api_request("GET", f"/customers/{customer}", as_user=customer))["statusCode"]
                == 404
            )
            warm.append(time.monotonic() - started)
        figures["warm_invoke_ms_median[api]"] = round(statistics.median(warm) * 1000, 1)

        # A create: validated, turned into a command, sent to the customers queue, 202.
        created = api.invoke(
            api_request(
                "POST",
                "/customers",
                {"id": customer, "email": "ann@example.com", "name": "Ann"},
                as_user=customer,
            )
        )
        assert created["statusCode"] == 202, created
        assert json.loads(created["body"])["id"] == customer

        # The customers worker applies the message as SQS's event source delivers it.
        event = receive_event(sqs_client, queues["customers"], wait=5)  # deleted by the fixture after
        assert len(event["Records"]) == 1
        result = worker.start(event)
        figures["cold_start_seconds[worker-customers]"] = round(worker.cold_start_seconds, 3)
        assert result == {"batchItemFailures": []}, result

        # Redelivery of the same message is a duplicate, still no failure (warm this time).
        started = time.monotonic()
        assert worker.invoke(event) == {"batchItemFailures": []}
        figures["warm_invoke_ms[worker-customers]"] = round((time.monotonic() - started) * 1000, 1)

        row = api.invoke(api_request("GET", f"/customers/{customer}", as_user=customer))
        assert row["statusCode"] == 200, row
        assert json.loads(row["body"])["name"] == "Ann"


def test_the_admin_image_serves_its_pages_under_rie(
    built: Built, function_env: dict[str, str], shop_queues: dict[str, Any], figures: dict[str, Any]
) -> None:
    with function(built.image("admin"), function_env) as admin:
        login = admin.start(http_event("GET", "/admin/login"))
        figures["cold_start_seconds[admin]"] = round(admin.cold_start_seconds, 3)
        assert login["statusCode"] == 200 and "Operator token" in login["body"], login
        assert "script-src 'self'" in login["headers"]["Content-Security-Policy"]
        asset = admin.invoke(http_event("GET", "/admin/static/admin.js"))
        assert asset["statusCode"] == 200 and asset["isBase64Encoded"]
        refused = admin.invoke(http_event("GET", "/admin/x/customers"))  # no authorizer's claims
        assert refused["statusCode"] == 401
        event = http_event("GET", "/admin/x/customers")
        event["headers"]["authorization"] = "Bearer t"
        claims = {"sub": "op", "username": "op", "iss": function_env.get(issuer_variable(OPERATORS), "")}
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        listed = admin.invoke(event)
        assert listed["statusCode"] == 200 and "Customers" in listed["body"], listed


# The registry -----------------------------------------------------------------------


def test_push_to_the_local_registry_and_pull_back_by_digest(built: Built, local_registry: str) -> None:
    local = built.image("worker-customers")
    remote = f"{local_registry}/{local}"
    run(["docker", "tag", local, remote])
    run(["docker", "push", remote])
    digests = [d for d in inspect(remote)["RepoDigests"] if d.startswith(local_registry)]
    assert digests
    digest = digests[0]

    # Lambda takes a single image manifest, never an index (no attestations).
    name, _, ref = digest.partition("@")
    request = urllib.request.Request(
        f"http://{local_registry}/v2/{name.removeprefix(local_registry + '/')}/manifests/{ref}",
        headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.oci.image.index.v1+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        manifest = json.loads(response.read())
    assert "config" in manifest and "manifests" not in manifest

    image_id = inspect(local)["Id"]
    run(["docker", "image", "rm", remote, digest], check=False)
    run(["docker", "pull", digest])
    assert inspect(digest)["Id"] == image_id

    # The plan reads the pushed image's fingerprint label back from the registry.
    client = RegistryClient(local_registry)
    changes = {c.name: c.status for c in compare(built.plan, from_registry(client, built.tag))}
    assert changes["worker-customers"] == "same"


def test_bake_builds_one_worker_per_entity_module_and_no_attestations(docker_engine: None) -> None:
    printed = json.loads(run(["docker", "buildx", "bake", "--print"], cwd=ROOT).stdout)
    workers = sorted(t for t in printed["target"] if t.startswith("worker-"))
    assert workers == sorted(f"worker-{e}" for e in entities_in_tree(ROOT, SHOP))
    # The plan fingerprints the Dockerfile and the build arguments bake really uses.
    for planned in targets_in_tree(ROOT, SHOP):
        baked = printed["target"][planned.name]
        assert baked["dockerfile"] == planned.dockerfile, planned.name
        assert {k: baked["args"][k] for k in planned.args} == dict(planned.args), planned.name
    for name, target in printed["target"].items():
        assert target["platforms"] == ["linux/amd64"], name
        assert "type=provenance,disabled=true" in target["attest"], name
        assert any("id=cacert" in s for s in target.get("secret", [])), name
        if name != "base":
            assert target["contexts"] == {"base": "target:base"}, name
    assert set(printed["group"]["default"]["targets"]) == {"api", "admin", *workers}


def test_the_base_holds_exactly_the_kit_and_shared_files_the_fingerprint_covers(built: Built) -> None:
    listing = run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "/bin/sh",
            built.image("base"),
            "-c",
            "cd / && find var/task -type f ! -path '*/__pycache__/*'",
        ]
    ).stdout.split()
    base_files = built.plan["functions"]["base"]["files"]
    expected = {p for p in expected_in_image(base_files) if not p.endswith(".PYC")}
    assert set(listing) == expected


def test_readme_walkthrough_against_dev_with_images(built: Built, rie_path: str) -> None:
    """`queuefirst dev --images`: the same walkthrough, every function a pool of containers."""
    from tests.e2e.conftest import start_stack, stop_stack
    from tests.shop.walkthrough import walkthrough

    os.environ["QUEUEFIRST_IMAGE_TAG"] = built.tag
    try:
        stack = start_stack(rie_path, "--images", app="shop")
    finally:
        del os.environ["QUEUEFIRST_IMAGE_TAG"]
    try:
        walkthrough(stack)
        assert "shop-orders-worker batch of 1 -> ok" in stack.log()
        names = subprocess.run(
            ["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert sum(n.startswith("queuefirst-shop-orders-worker-") for n in names) == 2
    finally:
        stop_stack(stack)
    names = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [n for n in names if n.startswith("queuefirst-shop-")], "containers left behind"


def test_the_base_trusts_the_root_rds_proxy_certificates_chain_to(built: Built) -> None:
    """`sslmode=verify-full` to RDS Proxy (ACM certificates) needs Amazon Root CA 1 in the image,
    at the path the infra's DATABASE_URL names, byte for byte the file the repository pins."""
    from queuefirst_infra.database import PROXY_CA_FILE

    script = (
        "import hashlib, ssl, sys; path = sys.argv[1]; "
        "ctx = ssl.create_default_context(cafile=path); "
        "print(hashlib.sha256(open(path, 'rb').read()).hexdigest()); "
        "print([dict(x[0] for x in c['subject'])['commonName'] for c in ctx.get_ca_certs()])"
    )
    out = run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "python",
            built.image("worker-orders"),
            "-c",
            script,
            PROXY_CA_FILE,
        ]
    ).stdout.split("\n")
    pinned = hashlib.sha256((ROOT / "images" / "base" / "amazon-root-ca-1.pem").read_bytes()).hexdigest()
    assert out[0] == pinned == "2c43952ee9e000ff2acc4e2ed0897c0a72ad5fa72c3d934e81741cbd54f05bd1"
    assert out[1] == "['Amazon Root CA 1']"

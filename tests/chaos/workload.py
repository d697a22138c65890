"""The chaos run's commands, who sends them, and the order the model replays them in.

Products come first, over HTTP, and are applied before anything asks them for
stock (so every reservation finds its product; reservations and restocks then
commute). Then each customer's whole story (the customer over HTTP; orders,
items, payments, shipments, cancellations and sometimes the customer's
deletion straight to the queues) comes from one producer thread, in order,
waiting for each command to be accepted: so every lane's order is the order
written here, and asks reach their lanes after the direct commands there.
"""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from queuefirst.model.command import Command, Producer

PRODUCTS = 10
THREADS = 6


@dataclass
class Step:
    command: Command
    over_http: bool = False


@dataclass
class Workload:
    rng: random.Random
    commands: int
    poison: int
    products: list[Step] = field(default_factory=list)
    stories: list[list[Step]] = field(default_factory=list)
    poison_steps: list[Step] = field(default_factory=list)
    accepted: list[Command] = field(default_factory=list)
    over_http: int = 0
    duplicates: int = 0
    _version: int = 0

    def __post_init__(self) -> None:
        for n in range(PRODUCTS):
            self.products.append(
                Step(self._cmd("products", "create", f"p{n}", _product(f"Tea {n}")), over_http=True)
            )
            self.products.append(Step(self._cmd("products", "restock", f"p{n}", {"quantity": 50})))
        for n in range(self.poison):
            self.poison_steps.append(Step(self._cmd("products", "create", f"poison-{n}", _product("poison"))))
        while sum(len(s) for s in self.stories) + len(self.products) < self.commands:
            self.stories.append(self._story(len(self.stories)))

    @property
    def poison_ids(self) -> set[str]:
        return {str(s.command.command_id) for s in self.poison_steps}

    def _cmd(
        self, entity: str, op: str, key: str, payload: dict[str, Any], parent: str | None = None
    ) -> Command:
        self._version += 1
        return Command(
            command_id=uuid.uuid4(),
            entity=entity,
            op=op,
            key=key,
            parent=parent,
            version=self._version,
            payload=payload,
            producer=Producer(kind="operator", principal="chaos"),
        )

    def _story(self, n: int) -> list[Step]:
        rng, customer = self.rng, f"c{n}"
        steps = [
            Step(
                self._cmd("customers", "create", customer, {"email": f"{customer}@example.com", "name": "C"}),
                True,
            )
        ]
        for o in range(rng.randint(1, 3)):
            order = f"{customer}-o{o}"
            steps.append(
                Step(
                    self._cmd(
                        "orders", "create", order, {"customer_id": customer, "currency": "EUR"}, customer
                    )
                )
            )
            for i in range(rng.randint(1, 3)):
                item = {
                    "order_id": order,
                    "product_id": f"p{rng.randrange(PRODUCTS)}",
                    "quantity": rng.randint(1, 4),
                    "unit_price_minor": 100,
                    "currency": "EUR",
                }
                steps.append(Step(self._cmd("order_items", "create", f"{order}-i{i}", item, order)))
            for op in rng.sample(["pay", "ship", "cancel", "pay", "ship"], rng.randint(0, 4)):
                payload = {"pay": {"reference": "r"}, "cancel": {"reason": "chaos"}}.get(op, {})
                steps.append(
                    Step(self._cmd("orders", op, order, payload, customer))
                )  # in any order, on purpose
        if rng.random() < 0.3:
            steps.append(Step(self._cmd("customers", "suspend", customer, {"reason": "chaos"})))
        if rng.random() < 0.3:
            steps.append(Step(self._cmd("customers", "delete", customer, {})))
        return steps

    # -- sending ------------------------------------------------------------------------

    def send(self, producers: Any, restart: Callable[[], None]) -> dict[str, str]:
        """Send everything; restart the database once half-way. Every accepted command's id -> entity."""
        for step in self.products:
            self._send(producers, step)
        producers.stack.eventually(lambda: _stocked(producers.stack), timeout=120, what="products stocked")
        for step in self.poison_steps:
            self._send(producers, step)
        queue = list(enumerate(self.stories))
        lock, restarted = threading.Lock(), threading.Event()
        half = len(self.stories) // 2

        def run() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    index, story = queue.pop(0)
                if index == half and not restarted.is_set():
                    restarted.set()
                    restart()
                for step in story:
                    if not self._send(producers, step):
                        break  # not accepted: the rest of this customer's story is not sent either

        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for command in self.rng.sample(
            self.accepted, min(len(self.accepted), max(1, len(self.accepted) // 20))
        ):
            producers.straight(command)  # SQS delivers some messages twice: duplicates on purpose
            self.duplicates += 1
        return {str(c.command_id): c.entity for c in self.accepted}

    def _send(self, producers: Any, step: Step) -> bool:
        if step.over_http:
            body = {"id": step.command.key, **{k: v for k, v in step.command.payload.items()}}
            path = f"/{step.command.entity}"
            # The route's token: an operator's for a product, the customer's own for a customer.
            token = producers.stack.route_token("POST", path, step.command.key)
            accepted = _post(producers.stack.url, path, body, token)
            if accepted is None:
                return False
            step.command = step.command.model_copy(update={"command_id": uuid.UUID(accepted)})
            self.over_http += 1
        else:
            producers.straight(step.command)
        self.accepted.append(step.command)
        return True

    # -- the model ----------------------------------------------------------------------

    def replay(self, model: Any) -> dict[str, str]:
        """Apply what was accepted, each lane in its order, asks after; the expected statuses."""
        accepted = {c.command_id for c in self.accepted}
        pending: list[Command] = []
        for step in [*self.products, *(s for story in self.stories for s in story), *self.poison_steps]:
            if step.command.command_id in accepted:
                pending += model.apply(step.command)
        while pending:
            pending += model.apply(pending.pop(0))
        return dict(model.status)


def _product(name: str) -> dict[str, Any]:
    return {"sku": "SKU-1", "name": name, "price_minor": 450, "currency": "EUR"}


def _post(base: str, path: str, body: dict[str, Any], token: str | None) -> str | None:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["command_id"]) if response.status == 202 else None
    except (urllib.error.URLError, TimeoutError):
        return None  # 503 while the database restarts: not accepted


def _stocked(stack: Any) -> bool:
    return all(stack.request("GET", f"/products/p{n}")[1].get("stock") == 50 for n in range(PRODUCTS))

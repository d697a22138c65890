"""The chaos run's commands and who sends them.

Products come first, over HTTP, and are applied before anything asks them for
stock. Then each customer's whole story (the customer over HTTP; orders and
items through their parents' admissions, payments, shipments, cancellations,
items removed, orders deleted while their items' reservations are on their
way, and sometimes the customer's deletion, straight to the queues) comes
from one producer thread, in order; meanwhile another thread deletes orders
and customers at random, racing the stories. Which of two racing commands a
lane takes first is the system's to decide: the model replays each entity's
commands in the order its worker logged them (`replay`), and the shop's
invariants must hold whatever that order was.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from queuefirst.model.admission import ParentRow, through_parent
from queuefirst.model.command import Command, Producer
from queuefirst.model.registry import Registry

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
    registry: Registry
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

    def _admitted(self, command: Command, parent: str, grandparent: str | None) -> Command:
        """As the api sends a write its parent admits: to the parent, in the parent's lane."""
        return through_parent(self.registry, command, ParentRow(parent, grandparent, 0))

    def _story(self, n: int) -> list[Step]:
        rng, customer = self.rng, f"c{n}"
        signup = {"email": f"{customer}@example.com", "name": "C"}
        steps = [Step(self._cmd("customers", "create", customer, signup), True)]
        for o in range(rng.randint(1, 3)):
            order = f"{customer}-o{o}"
            create = self._cmd(
                "orders", "create", order, {"customer_id": customer, "currency": "EUR"}, customer
            )
            steps.append(Step(self._admitted(create, customer, None)))
            items = [f"{order}-i{i}" for i in range(rng.randint(1, 3))]
            for key in items:
                item = {
                    "order_id": order,
                    "product_id": f"p{rng.randrange(PRODUCTS)}",
                    "quantity": rng.randint(1, 4),
                }
                steps.append(
                    Step(
                        self._admitted(self._cmd("order_items", "create", key, item, order), order, customer)
                    )
                )
            if rng.random() < 0.3:  # an item removed while its reservation may still be on its way
                removed = self._cmd("order_items", "delete", rng.choice(items), {}, order)
                steps.append(Step(self._admitted(removed, order, customer)))
            for op in rng.sample(["pay", "ship", "cancel", "pay", "ship", "delete"], rng.randint(0, 4)):
                payload = {"pay": {"reference": "r"}, "cancel": {"reason": "chaos"}}.get(op, {})
                # In any order, on purpose: a delete or a cancel may race the reservations.
                steps.append(Step(self._cmd("orders", op, order, payload, customer)))
        if rng.random() < 0.3:
            steps.append(Step(self._cmd("customers", "suspend", customer, {"reason": "chaos"})))
        if rng.random() < 0.3:
            steps.append(Step(self._cmd("customers", "delete", customer, {})))
        return steps

    def racing_deletes(self) -> list[Step]:
        """Deletes of orders and customers, to send from a thread of their own while the stories run."""
        out = []
        for n in range(len(self.stories)):
            if self.rng.random() < 0.15:
                out.append(Step(self._cmd("customers", "delete", f"c{n}", {})))
            if self.rng.random() < 0.25:
                out.append(Step(self._cmd("orders", "delete", f"c{n}-o0", {}, f"c{n}")))
        return out

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

        def race() -> None:
            for step in self.racing_deletes():
                time.sleep(self.rng.uniform(0, 0.05))
                self._send(producers, step)

        threads = [threading.Thread(target=run) for _ in range(THREADS)] + [threading.Thread(target=race)]
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

    def replay(self, model: Any, logged: dict[str, list[str]], sent: list[Command]) -> None:
        """Apply each entity's commands in the order its worker logged them, each once what sent
        it has applied: `logged` is every entity's command ids in log order; `sent` every command
        the workers sent (their outboxes)."""
        known: dict[tuple[str, str], Command] = {
            (c.entity, str(c.command_id)): c for c in [*self.accepted, *sent]
        }
        available = {(c.entity, str(c.command_id)) for c in self.accepted}
        cursors = dict.fromkeys(logged, 0)
        progressed = True
        while progressed:
            progressed = False
            for entity, order in logged.items():
                while cursors[entity] < len(order):
                    key = (entity, order[cursors[entity]])
                    if key not in known:  # a per-row entry of a children-scoped command, or a withdrawn ask
                        cursors[entity] += 1
                        continue
                    if key not in available:
                        break
                    for out in model.apply(known[key]):
                        available.add((out.entity, str(out.command_id)))
                    cursors[entity] += 1
                    progressed = True
        stuck = {e: order[cursors[e]] for e, order in logged.items() if cursors[e] < len(order)}
        assert not stuck, f"logged commands nothing sent: {stuck}"


def _product(name: str) -> dict[str, Any]:
    return {"sku": "SKU-1", "name": name, "price_minor": 450, "currency": "EUR"}


def _post(base: str, path: str, body: dict[str, Any], token: str | None) -> str | None:
    """The command id of an accepted POST. A 503 (the database restarting) or a refused
    connection enqueued nothing: try again, as a phone app would, for up to a minute."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read())["command_id"])
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                return None
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                return None
        except TimeoutError:
            return None  # perhaps enqueued, perhaps not: this story stops here
        time.sleep(0.2)


def _stocked(stack: Any) -> bool:
    return all(stack.request("GET", f"/products/p{n}")[1].get("stock") == 50 for n in range(PRODUCTS))

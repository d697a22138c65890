from pydantic import BaseModel

from queuefirst import Entity


class Fields(BaseModel):
    name: str


ENTITY = Entity(name="b", fields=Fields, parent="a", parent_field="a_id", children=("a",))

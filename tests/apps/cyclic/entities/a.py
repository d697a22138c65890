from pydantic import BaseModel

from queuefirst import Entity


class Fields(BaseModel):
    name: str


ENTITY = Entity(name="a", fields=Fields, parent="b", parent_field="b_id", children=("b",))

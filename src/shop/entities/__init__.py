"""One module per entity: the registry discovers them, and a worker image carries only its own."""

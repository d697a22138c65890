"""A registry with a cycle (a -> b -> a), for `queuefirst graph --check`."""

from queuefirst import Application

application = Application(name="cyclic", package=__name__)

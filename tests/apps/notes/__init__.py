"""notes: the kit's fixture application, two entities (boards and their cards).

Kit tests run on it rather than on the shop, so the kit cannot grow into the
shop's shape: `queuefirst dev`, the images, `queuefirst plan` and the infra
all take it as they take any application.
"""

from queuefirst import Application

application = Application(name="notes", package=__name__)

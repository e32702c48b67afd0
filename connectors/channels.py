"""The channels this build knows: one line each."""

from connectors import api
from connectors.base import registry

registry.register("api", api.connector)

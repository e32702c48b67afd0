"""The channels this build knows: one line each."""

from connectors import api, twilio, whatsapp
from connectors.base import registry

registry.register("api", api.connector)
registry.register("whatsapp", whatsapp.connector)
registry.register("twilio", twilio.connector)

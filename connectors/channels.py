"""The channels this build knows: one line each."""

from connectors import api, email, telegram, twilio, webchat, whatsapp
from connectors.base import registry

registry.register("api", api.connector)
registry.register("whatsapp", whatsapp.connector)
registry.register("telegram", telegram.connector)
registry.register("twilio", twilio.connector)
registry.register("email", email.connector)
registry.register("webchat", webchat.connector)

"""The channels this build knows: one line each."""

from connectors import api, email, telegram, twilio, webchat, whatsapp
from connectors.base import registry

registry.register("api", api.connector)
registry.register("whatsapp", whatsapp.connector)
# Telegram's parse also yields MessageEdit (web.webhooks and the poller handle it), a type
# Connector.parse in connectors.base does not declare; the fix belongs there.
registry.register("telegram", telegram.connector)  # type: ignore[arg-type]
registry.register("twilio", twilio.connector)
registry.register("email", email.connector)
registry.register("webchat", webchat.connector)

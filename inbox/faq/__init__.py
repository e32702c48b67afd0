"""The FAQ bot: knowledge base, matcher, and the policy that decides when the bot speaks."""

"""The inbox domain: customers, identities, conversations, messages, events, outbox."""

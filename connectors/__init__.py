"""Channels: each module turns a provider's payloads into InboundMessages and sends replies."""

"""Abuse limits for the public chat widget: new conversations and messages per IP and visitor."""

from __future__ import annotations

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar.exceptions import TooManyRequestsException

NEW_CONVERSATIONS_PER_IP = RateLimitItemPerHour(6, 12)
MESSAGES_PER_IP = RateLimitItemPerMinute(60)
MESSAGES_PER_VISITOR = RateLimitItemPerMinute(20)


class WidgetThrottle:
    """Counts per inbox (shared through Redis when set); a spent limit answers 429."""

    def __init__(self, redis_url: str | None) -> None:
        storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1)
            storage = RedisStorage(uri, implementation="redispy", key_prefix="INBOX_WIDGET")
        else:
            storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)

    async def message(self, inbox_token: str, address: str, visitor_id: str) -> None:
        """Count a message; TooManyRequestsException when the IP or visitor sent too many."""
        await self._hit(MESSAGES_PER_IP, inbox_token, "ip", address)
        await self._hit(MESSAGES_PER_VISITOR, inbox_token, "visitor", visitor_id)

    async def new_conversation(self, inbox_token: str, address: str) -> None:
        """Count a conversation a visitor starts; 429 past the per-IP allowance."""
        await self._hit(NEW_CONVERSATIONS_PER_IP, inbox_token, "conversation", address)

    async def _hit(self, item: RateLimitItem, *key: str) -> None:
        if not await self.limiter.hit(item, *key):
            raise TooManyRequestsException(
                "too many messages from this browser; try again later",
                headers={"Retry-After": "60"},
            )

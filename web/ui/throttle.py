"""Login throttling: 10 failures per account or per IP in 15 minutes, then 429."""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

FAILURES = RateLimitItemPerMinute(10, 15)


class LoginThrottle:
    """Counts failed logins per account and per address (shared through Redis when set)."""

    def __init__(self, redis_url: str | None) -> None:
        storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1)
            storage = RedisStorage(uri, implementation="redispy", key_prefix="INBOX_LOGIN")
        else:
            storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        waits = []
        for key in self._keys(email, address):
            if not await self.limiter.test(FAILURES, *key):
                stats = await self.limiter.get_window_stats(FAILURES, *key)
                waits.append(max(1, int(stats.reset_time - time.time()) + 1))
        return max(waits) if waits else None

    async def failed(self, email: str, address: str) -> None:
        for key in self._keys(email, address):
            await self.limiter.hit(FAILURES, *key)

    @staticmethod
    def _keys(email: str, address: str) -> list[tuple[str, str]]:
        return [("account", email.strip().lower()[:320]), ("address", address)]

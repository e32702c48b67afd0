"""Telegram: Bot API webhooks in (checked by their secret token), `telegram.Bot` sends out.

Config: `bot_token`, `secret_token` (generated when absent), `api_base_url` (default
https://api.telegram.org; tests point it at a local fake Bot API), `register_webhook`
(default true: creating the inbox calls setWebhook).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot, InputFile, Message, Update, User
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from connectors.base import (
    ChannelInbox,
    IdentityClaim,
    InboundAttachment,
    InboundMessage,
    InvalidInbound,
    MessageEdit,
    OutboundMessage,
    PermanentDeliveryError,
    RawRequest,
    Reply,
    SendReceipt,
    SignatureError,
    TransientDeliveryError,
)
from connectors.media import MediaError, MediaFetcher
from connectors.payload import json_object
from inbox.errors import Invalid
from inbox.settings import Settings

DEFAULT_API = "https://api.telegram.org"
# A Bot API file path is a few plain segments ("photos/file_7.jpg"); anything else could walk
# out of the file endpoint to the bot's methods (GET /bot<token>/sendMessage?...).
FILE_SEGMENT = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")
UPDATES = ["message", "edited_message"]
TIMEOUT = 15.0
CAPTION_LIMIT = 1024  # characters of a photo's or document's caption
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PHOTO_LIMIT = 10 * 1024 * 1024  # larger images go as documents (the Bot API's photo limit)


class TelegramConnector:
    """One Telegram bot per inbox; private chats only."""

    kind = "telegram"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check a new inbox's config and give it a webhook secret if it has none."""
        if not isinstance(config.get("bot_token"), str) or not config["bot_token"].strip():
            raise Invalid("telegram inboxes need config bot_token")
        secret = config.get("secret_token")
        if secret in (None, ""):
            # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -: url-safe base64 fits.
            return {**config, "secret_token": secrets.token_urlsafe(32)}
        if not isinstance(secret, str) or len(secret) > 256:
            raise Invalid("secret_token must be a string of at most 256 characters")
        return config

    async def register(self, inbox: ChannelInbox, webhook_url: str) -> bool:
        """Point the bot's webhook at us (setWebhook with the secret); False when switched off."""
        if inbox.config.get("register_webhook", True) is False or inbox.config.get("polling"):
            return False  # switched off, or the inbox pulls its updates (telegram_polling)
        try:
            async with _bot(inbox.config) as bot:
                await bot.set_webhook(
                    url=webhook_url,
                    secret_token=str(inbox.config.get("secret_token") or ""),
                    allowed_updates=UPDATES,
                )
        except TelegramError as exc:
            raise Invalid(f"Telegram refused setWebhook: {exc}") from exc
        return True

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        expected = str(inbox.config.get("secret_token") or "")
        given = request.header("x-telegram-bot-api-secret-token") or ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token is missing or wrong")

    async def parse(
        self, inbox: ChannelInbox, request: RawRequest
    ) -> list[InboundMessage | MessageEdit]:
        data = json_object(request.body, self.settings.limits.json_nesting)
        if not isinstance(data.get("update_id"), int) or isinstance(data["update_id"], bool):
            raise InvalidInbound("update_id is required (an integer)")
        try:
            update = Update.de_json(data, None)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
            raise InvalidInbound(f"not a Telegram update: {type(exc).__name__}") from exc
        message = update.message or update.edited_message
        if message is None:
            return []  # callbacks, polls, member changes: acknowledged, nothing to store
        sender = _checked(message)
        if message.chat.type != "private" or sender is None or sender.is_bot:
            return []  # groups and channels are not support conversations
        if update.edited_message is not None:
            # The stored message changes in place (inbox.edits keeps what it said before).
            return [
                MessageEdit(
                    f"{message.chat.id}:{message.message_id}",
                    message.text or message.caption or "",
                    message.edit_date,
                )
            ]
        return [await self._inbound(inbox, message, sender)]

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        return Reply(200, {"ok": True, "stored": len(results)})

    async def _inbound(self, inbox: ChannelInbox, message: Message, sender: User) -> InboundMessage:
        key = f"{message.chat.id}:{message.message_id}"
        claims = [IdentityClaim("telegram", str(sender.id), verified=True)]
        text = message.text or message.caption or ""
        contact = message.contact
        if contact is not None and contact.user_id == sender.id and contact.phone_number:
            # Telegram shares a contact with user_id only for the sender's own number.
            claims.append(IdentityClaim("phone", str(contact.phone_number), verified=True))
            text = text or f"[shared phone number] {contact.phone_number}"
        attachments, errors = await self._attachments(inbox, message)
        meta: dict[str, Any] = {"chat_id": message.chat.id, "message_id": message.message_id}
        if errors:
            meta["media_error"] = "; ".join(errors)
        if not text and not attachments:
            text = "[file could not be downloaded]" if errors else "[unsupported message]"
        reply_to = (
            ()
            if message.reply_to_message is None
            else (f"{message.chat.id}:{message.reply_to_message.message_id}",)
        )
        return InboundMessage(
            inbox_id=inbox.id,
            external_id=key,
            identities=tuple(claims),
            text=text,
            channel="telegram",
            customer_name=sender.full_name or None,
            sent_at=message.date,
            reply_to=reply_to,
            attachments=tuple(attachments),
            meta=meta,
        )

    async def _attachments(
        self, inbox: ChannelInbox, message: Message
    ) -> tuple[list[InboundAttachment], list[str]]:
        wanted = []
        if message.photo:
            largest = message.photo[-1]  # Telegram lists sizes smallest first
            wanted.append((largest.file_id, largest.file_size, "photo.jpg", "image/jpeg"))
        if message.document is not None:
            document = message.document
            wanted.append(
                (
                    document.file_id,
                    document.file_size,
                    document.file_name or "document",
                    document.mime_type or "application/octet-stream",
                )
            )
        found: list[InboundAttachment] = []
        errors: list[str] = []
        for file_id, size, name, content_type in wanted:
            try:
                data = await self._download(inbox, file_id, size)
            except (MediaError, TelegramError) as exc:
                errors.append(f"{name}: {exc}")
                continue
            found.append(InboundAttachment(name, content_type, data))
        return found, errors

    async def _download(self, inbox: ChannelInbox, file_id: str, size: int | None) -> bytes:
        """getFile, then fetch the file from the Bot API's file endpoint, capped in size."""
        limit = self.settings.limits.attachment
        if size is not None and size > limit:
            raise MediaError(f"file is larger than {limit} bytes")
        async with _bot(inbox.config) as bot:
            found = await bot.get_file(file_id)
        base = _api_base(inbox.config)
        fetcher = MediaFetcher(
            max_bytes=limit,
            allowed_hosts=("api.telegram.org",),
            trusted_origin=base,
            timeout=TIMEOUT,
        )
        return (await fetcher.fetch(_file_url(inbox.config, found.file_path))).data

    async def send(self, message: OutboundMessage) -> SendReceipt:
        chat_id = message.recipient.first("telegram")
        if not chat_id or not chat_id.lstrip("-").isdigit():
            raise PermanentDeliveryError("the customer has no Telegram chat")
        try:
            async with _bot(message.inbox.config) as bot:
                sent = await _deliver(bot, int(chat_id), message)
        except (Forbidden, BadRequest, InvalidToken, ChatMigrated) as exc:
            # Blocked by the user, chat gone, bad token, text refused: retrying cannot help.
            raise PermanentDeliveryError(f"Telegram refused the message: {exc.message}") from exc
        except (RetryAfter, NetworkError) as exc:
            raise TransientDeliveryError(f"Telegram unavailable: {exc.message}") from exc
        except TelegramError as exc:
            raise PermanentDeliveryError(f"Telegram error: {exc.message}") from exc
        return SendReceipt(external_id=f"{sent.chat.id}:{sent.message_id}", status="sent")


async def _deliver(bot: Bot, chat_id: int, message: OutboundMessage) -> Message:
    """The text, then each file (photos as photos); the first Telegram message is the receipt.

    A short text rides along as the first file's caption, so the customer sees one message.
    """
    files = message.attachments
    caption = message.text if files and len(message.text) <= CAPTION_LIMIT else None
    first = None
    if message.text and caption is None:
        first = await bot.send_message(chat_id=chat_id, text=message.text)
    for index, attachment in enumerate(files):
        upload = InputFile(attachment.data, filename=attachment.filename, attach=True)
        text = (caption or None) if index == 0 else None
        if attachment.content_type in PHOTO_TYPES and len(attachment.data) <= PHOTO_LIMIT:
            sent = await bot.send_photo(chat_id=chat_id, photo=upload, caption=text)
        else:
            sent = await bot.send_document(chat_id=chat_id, document=upload, caption=text)
        first = first or sent
    assert first is not None  # a reply has text or a file
    return first


def _checked(message: Message) -> User | None:
    """The sender, after checking the ids de_json took on trust are really integers."""
    if message.chat is None:
        raise InvalidInbound("message.chat is required")
    ids = [message.message_id, message.chat.id]
    sender = message.from_user
    if sender is not None:
        ids.append(sender.id)
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise InvalidInbound("message_id, chat.id and from.id must be integers")
    for value in (message.text, message.caption):
        if value is not None and not isinstance(value, str):
            raise InvalidInbound("text and caption must be strings")
    return sender


@asynccontextmanager
async def _bot(config: dict[str, Any]) -> AsyncIterator[Bot]:
    """A Bot on the configured API; its HTTP clients are closed afterwards."""
    token = str(config.get("bot_token") or "")
    if not token:
        raise InvalidToken("no bot_token configured")
    base = _api_base(config)
    requests = [
        HTTPXRequest(connection_pool_size=4, read_timeout=TIMEOUT, connect_timeout=TIMEOUT)
        for _ in range(2)
    ]
    bot = Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        yield bot
    finally:
        for request in requests:
            await request.shutdown()


def _file_url(config: dict[str, Any], found: str | None) -> str:
    """The file's URL under the bot's file endpoint, refusing a path that would leave it."""
    # python-telegram-bot prefixes the endpoint, or keeps a path naming an existing local file.
    prefix = f"{_api_base(config)}/file/bot{config.get('bot_token')}/"
    relative = (found or "").removeprefix(prefix)
    if (
        not found
        or relative == found
        or not all(FILE_SEGMENT.fullmatch(segment) for segment in relative.split("/"))
    ):
        raise MediaError("Telegram gave no usable file path")
    return prefix + relative


def _api_base(config: dict[str, Any]) -> str:
    return str(config.get("api_base_url") or DEFAULT_API).rstrip("/")


def connector(settings: Settings) -> TelegramConnector:
    return TelegramConnector(settings)

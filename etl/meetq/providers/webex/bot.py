"""A Webex bot: the spaces it is in, posting Markdown into one, reading a message by id.

Facts relied on (docs/webex-bots.md): `POST /v1/messages` takes `roomId` (or `parentId` for a
reply in a thread) and `markdown`, at most 7,439 bytes; `GET /v1/rooms` pages by Link headers;
a webhook delivery carries no message text, `GET /v1/messages/{id}` does. Bot tokens do not
refresh: a 401 means the token is wrong or was regenerated.
"""

from __future__ import annotations

import re
import secrets as random_secrets
from html import unescape
from urllib.parse import quote

from ... import store
from ...clock import iso, utcnow
from ...delivery import Answer, delivery_event
from ...errors import BadRequest, ConfigError, MeetqError, NotAuthorised, NotFound, Unauthorised
from ...http import ApiClient
from ...logs import get_logger, register_secret
from ...models import database
from ...private_files import beside, read_registration, write_private_json
from ...responses import RawRecord
from .client import api_client, base
from .tokens import FixedToken, TokenStore
from .transform import private_body
from .webhooks import SIGNATURE_HEADER, signature_matches

log = get_logger("meetq.bot")
WEBHOOK_NAME = "meetq assistant: messages"

MAX_MARKDOWN_BYTES = 7439


class Bot:
    def __init__(self, settings, client: ApiClient | None = None):
        if not settings.bot_token:
            raise ConfigError("notify.bot_token is not set: set MEETQ_NOTIFY_BOT_TOKEN to the bot's access token")
        self.settings = settings
        self.client = client or api_client(settings, FixedToken(settings.bot_token))
        self.api = base(settings.webex.api_base)

    def me(self) -> dict:
        try:
            return self.client.get_json(f"{self.api}/people/me")
        except Unauthorised as error:
            raise refused_token(error) from None

    def rooms(self) -> list[dict]:
        return [item for page in self.client.link_pages(f"{self.api}/rooms", {"max": 100}) for item in page.items]

    def post(self, markdown: str, room_id: str | None = None, parent_id: str | None = None) -> list[str]:
        """Post, split at line ends into messages within the size limit. Returns the message ids."""
        target = {"parentId": parent_id} if parent_id else {"roomId": room_id or self.settings.room_id}
        if not parent_id and not target["roomId"]:
            raise ConfigError("notify.room_id is not set: `meetq notify rooms` lists the bot's spaces")
        ids = []
        for part in split_markdown(markdown):
            body = {**target, "markdown": part}
            if parent_id and room_id:
                body["roomId"] = room_id
            try:
                answer = self.client.request("POST", f"{self.api}/messages", json_body=body)
            except Unauthorised as error:
                raise refused_token(error) from None
            except (NotFound, BadRequest) as error:
                raise NotFound(
                    f"the bot cannot post into {target.get('roomId') or 'that thread'} ({error}): add "
                    "the bot to the space, or pick one from `meetq notify rooms`",
                    status=error.status,
                    tracking_id=error.tracking_id,
                ) from None
            ids.append(answer.json().get("id"))
        return ids

    def message(self, message_id: str) -> dict:
        return self.client.get_json(f"{self.api}/messages/{quote(message_id, safe='')}")

    def organisation_of(self, person_id: str, room_id: str) -> str | None:
        """The organisation of a person in a space: their membership's `personOrgId`."""
        found = self.client.get_json(f"{self.api}/memberships", params={"roomId": room_id, "personId": person_id})
        items = found.get("items") if isinstance(found, dict) else None
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        org = first.get("personOrgId")
        return org if isinstance(org, str) else None


def refused_token(error) -> NotAuthorised:
    return NotAuthorised(
        f"Webex refused notify.bot_token (HTTP {error.status}): copy the bot's current token from "
        "the developer portal (regenerating it ends the old one)"
    )


def split_markdown(text: str, limit: int = MAX_MARKDOWN_BYTES) -> list[str]:
    """Pieces of at most `limit` bytes, cut at line ends (a single longer line is cut where it must)."""
    parts, current = [], ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:
            head = line.encode()[:limit].decode("utf-8", "ignore")
            parts, current, line = parts + ([current] if current else []) + [head], "", line[len(head) :]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = ""
        current += line
    return [p for p in parts + [current] if p.strip()]


# -- the assistant: hearing messages through a webhook, answering in their thread -----------------


def registration_path(settings):
    """data/secrets.json -> data/secrets.bot-webhook.json (mode 0600)."""
    return beside(settings.secrets, "bot-webhook")


def registration(settings) -> dict | None:
    return read_registration(registration_path(settings), "meetq notify register --url …")


def register(settings, target_url: str) -> dict:
    """The bot's `messages`/`created` webhook, made or brought up to date (one, whenever run again)."""
    bot = Bot(settings)
    me = bot.me()
    known = registration(settings)
    secret = known["secret"] if known else random_secrets.token_hex(32)
    register_secret(secret)
    body = {"name": WEBHOOK_NAME, "targetUrl": target_url, "secret": secret}
    api = f"{bot.api}/webhooks"
    ours = [
        w for w in (bot.client.get_json(api, params={"max": 100}).get("items") or []) if w.get("name") == WEBHOOK_NAME
    ]
    if ours:
        answer = bot.client.request(
            "PUT", f"{api}/{quote(str(ours[0]['id']), safe='')}", json_body={**body, "status": "active"}
        ).json()
    else:
        answer = bot.client.request("POST", api, json_body={**body, "resource": "messages", "event": "created"}).json()
    found = {
        "id": answer.get("id"),
        "secret": secret,
        "target_url": target_url,
        "bot_id": me.get("id"),
        "bot_name": me.get("displayName") or "",
        "bot_org": me.get("orgId"),
    }
    write_private_json(registration_path(settings), found)
    return found


def receiver_secret(settings) -> str | None:
    found = registration(settings) if settings.bot_token else None
    return found["secret"] if found else None


def signed(body: bytes, headers, settings) -> bool:
    secret = receiver_secret(settings)
    return bool(secret) and signature_matches(secret, body, headers.get(SIGNATURE_HEADER))


def accept_delivery(body: bytes, settings, conversation) -> Answer:
    """Answer one verified delivery, once, with what `conversation` (the assistant) says: its id is
    stored before the answer is posted. Only people of the organisation meetq collects for get an
    answer (`answerable_orgs`), and no one faster than `conversation.TALK` allows."""
    event = delivery_event(body)
    if event is None:
        return Answer(400, "signed, but not a webhook envelope")
    data = event["data"] if isinstance(event.get("data"), dict) else {}
    if (event.get("resource"), event.get("event")) != ("messages", "created") or not all(
        isinstance(data.get(k), str) for k in ("id", "personId", "roomId")
    ):
        return Answer(200, f"ignored {str(event.get('resource'))[:40]}/{str(event.get('event'))[:40]}")
    me = registration(settings)
    if data.get("personId") == me.get("bot_id"):
        return Answer(200, "ignored: the bot's own message")
    pace = conversation.TALK.admit(data["personId"], data["roomId"])
    if pace == "ignore":
        log.warning("assistant_ignored", reason="asking too fast", person_id=data["personId"][:80])
        return Answer(200, "ignored: asking too fast")
    record = RawRecord(
        url="bot-webhook",
        body=private_body(body.decode("utf-8", "replace"), settings.ip_addresses),
        fetched_at=iso(utcnow()),
    )
    # Once per message, however many deliveries name it (a replay, a second webhook): the check and
    # the record in one write transaction, so two deliveries at once cannot both pass it.
    with database.connection_context(), database.atomic("IMMEDIATE"):
        if database.execute_sql(
            "SELECT 1 FROM raw_responses WHERE endpoint = 'bot_message' AND meeting_id = ?", (data["id"],)
        ).fetchone():
            return Answer(200, "replay: already answered")
        store.save_raw(record, "bot_message", data["id"], 0)
    try:
        bot = Bot(settings)
        message = bot.message(data["id"])
        thread = {"room_id": message.get("roomId"), "parent_id": message.get("parentId") or message.get("id")}
        org = bot.organisation_of(data["personId"], data["roomId"])
        if org not in answerable_orgs(settings, me):
            log.warning("assistant_refused", reason="another organisation", message_id=data["id"], org=org)
            bot.post(conversation.REFUSED, **thread)
            return Answer(200, "refused: another organisation")
        if pace == "slow down":
            bot.post(conversation.SLOW_DOWN, **thread)
            return Answer(200, "asked to slow down")
        asked = command_of(message, me.get("bot_id"), me.get("bot_name"))
        bot.post(conversation.reply(asked, message.get("personEmail") or "", settings), **thread)
    except MeetqError as error:  # Webex would deliver again only on a non-2xx; the answer is lost, said here
        log.warning("assistant_failed", message_id=data["id"], error=str(error))
        return Answer(200, "could not answer")
    log.info("assistant_answered", message_id=data["id"], command=asked.split(" ")[0][:20])
    return Answer(200, "answered")


def answerable_orgs(settings, me: dict) -> set[str]:
    """The organisations whose people the assistant answers: those of the Webex accounts meetq
    collects for (their authorisations say), else, for a personal token, the bot's own."""
    orgs = set()
    for account in settings.accounts():
        if account.provider != "webex" or account.webex.access_token:
            continue
        try:
            org = TokenStore(account.secrets).load().identity.get("org_id")
        except MeetqError:
            continue
        if isinstance(org, str):
            orgs.add(org)
    return orgs or ({me["bot_org"]} if isinstance(me.get("bot_org"), str) else set())


_MENTION = re.compile(r"<spark-mention[^>]*data-object-id=\"([^\"]+)\"[^>]*>.*?</spark-mention>", re.S)


def command_of(message: dict, bot_id: str | None, bot_name: str | None) -> str:
    """The message without the mention of the bot: from `html`, where the mention is marked, else
    from `text`, which starts with the bot's name (or its first name) in a group space."""
    if message.get("html"):
        text = _MENTION.sub(lambda m: "" if m.group(1) == bot_id else m.group(0), message["html"])
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())
    text = " ".join((message.get("text") or "").split())
    for name in filter(None, (bot_name, (bot_name or "").split(" ")[0])):
        if text.lower().startswith(name.lower() + " ") or text.lower() == name.lower():
            return text[len(name) :].strip()
    return text

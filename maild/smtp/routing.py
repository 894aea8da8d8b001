"""Where a recipient's mail goes: local mailboxes and remote addresses, from a Config.

Lookup order for a hosted, active domain: the mailbox, then a return address this node made
when it forwarded mail (SRS, `maild/srs.py`: back to the original sender), then an alias for the
exact address, then the domain's catch-all (`@domain`). Aliases expand recursively (an alias may
point at another alias or catch-all) with loop protection; destinations outside this node go to
the queue, forwarded on behalf of the domain first addressed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from maild import replies
from maild.config import Config, Domain, Mailbox
from maild.smtp.trace import header_safe
from maild.srs import InvalidAddress, Srs, is_srs

MAX_ALIAS_DEPTH = 8
# Spaces, controls and brackets: legal only in quoted local parts, which no mailbox here has and
# which the queue and the headers we write cannot carry safely.
_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\ud800-\udfff]")


class Refused(Exception):
    """A recipient or sender refused with `reply` (an SMTP reply line)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Route:
    local: tuple[Mailbox, ...] = ()
    remote: tuple[str, ...] = ()
    forwarder: str | None = None  # the hosted domain remote copies are forwarded for, if any


def normalize(address: str) -> str:
    """`local@domain` with the domain lower-case IDNA and the local part lower-case.

    Raises Refused for a domain that cannot be encoded (hostile or broken input).
    """
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _UNSAFE.search(address):
        raise Refused(replies.BAD_ADDRESS.format(address=header_safe(address)))
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused(replies.RELAY_DENIED.format(address=address)) from None
    return f"{local.lower()}@{ascii_domain}"


def hosted_domain(config: Config, address: str) -> Domain | None:
    """The active domain hosted here that `address` (normalized) belongs to, if any."""
    domain = config.domains.get(address.rpartition("@")[2])
    return domain if domain is not None and domain.status == "active" else None


def resolve(config: Config, address: str, srs: Srs, sender: str) -> Route:
    """The route for a recipient in a hosted domain, mail from `sender` ("" for the null sender);
    raises Refused with the reply otherwise."""
    normalized = normalize(address)
    domain = hosted_domain(config, normalized)
    if domain is None:
        raise Refused(replies.RELAY_DENIED.format(address=address))
    mailbox = config.mailbox(normalized)
    if mailbox is not None and not mailbox.enabled:
        raise Refused(replies.MAILBOX_DISABLED.format(address=address))
    refusal = replies.NO_SUCH_USER
    if mailbox is None and normalized not in config.aliases and is_srs(normalized):
        try:
            original = srs.reverse(f"{address.rpartition('@')[0]}@{domain.name}")
        except InvalidAddress:
            refusal = replies.BAD_RETURN_ADDRESS  # unless the catch-all takes it
        else:
            return _bounce_route(config, address, original, domain.name, sender)
    return _expanded(config, normalized, address, domain.name, refusal)


def _bounce_route(config: Config, address: str, original: str, forwarder: str, sender: str) -> Route:
    """A bounce to a return address made here goes to the original sender, its local part as it
    was (another forwarder's hash in it may depend on case). Only bounces: anything else sent to
    such an address would make this node a relay for whoever saw one."""
    if sender:
        raise Refused(replies.BOUNCES_ONLY.format(address=address))
    target = normalize(original)
    if hosted_domain(config, target) is None:
        return Route(remote=(f"{original.rpartition('@')[0]}@{target.rpartition('@')[2]}",), forwarder=forwarder)
    return _expanded(config, target, address, forwarder, replies.NO_SUCH_USER)


def _expanded(config: Config, target: str, address: str, forwarder: str, refusal: replies.Reply) -> Route:
    """The route `target` expands to; refused with `refusal` (about `address`) if it leads nowhere."""
    route = destinations(config, target)
    if not route.local and not route.remote:
        raise Refused(refusal.format(address=address))
    return Route(route.local, route.remote, forwarder)


def destinations(config: Config, address: str) -> Route:
    """Where mail for `address` (normalized, in a hosted domain) ends up after aliases and the
    catch-all: mailboxes here and addresses elsewhere; empty if it leads nowhere."""
    local: dict[int, Mailbox] = {}
    remote: dict[str, None] = {}
    _expand(config, address, local, remote, seen=set(), depth=0)
    return Route(tuple(local.values()), tuple(remote))


def _expand(
    config: Config, address: str, local: dict[int, Mailbox], remote: dict[str, None], seen: set[str], depth: int
) -> bool:
    """Add `address`'s destinations to `local`/`remote`; False when it leads nowhere."""
    if address in seen or depth > MAX_ALIAS_DEPTH:
        return False
    seen.add(address)
    if hosted_domain(config, address) is None:
        remote[address] = None
        return True
    mailbox = config.mailbox(address)
    if mailbox is not None:
        if mailbox.enabled:
            local[mailbox.id] = mailbox
        return mailbox.enabled
    alias = config.aliases.get(address) or config.aliases.get("@" + address.rpartition("@")[2])
    if alias is None:
        return False
    found = False
    for destination in alias.destinations:
        try:
            target = normalize(destination)
        except Refused:
            continue
        found = _expand(config, target, local, remote, seen, depth + 1) or found
    return found


def may_send_as(config: Config, mailbox: Mailbox, sender: str) -> bool:
    """Whether an authenticated `mailbox` may use `sender`: its own address or an alias of it."""
    try:
        normalized = normalize(sender)
    except Refused:
        return False
    if normalized == mailbox.address.lower():
        return True
    alias = config.aliases.get(normalized)
    if alias is None:
        return False
    own = mailbox.address.lower()
    return any(destination.lower() == own for destination in alias.destinations)

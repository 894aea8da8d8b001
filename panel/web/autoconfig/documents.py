"""The documents mail clients fetch to set themselves up, all drawn from one ClientSettings.

Thunderbird's autoconfig (clientConfig 1.1), Outlook's autodiscover POX response (2006a schema)
and Apple's configuration profile (an unsigned plist with a `com.apple.mail.managed` payload).
"""
from __future__ import annotations

import plistlib
import uuid
import xml.etree.ElementTree as ET

from panel.services.clientsetup import ClientSettings, ServerEntry

AUTODISCOVER_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MAX_REQUEST_BYTES = 16 * 1024
THUNDERBIRD_SOCKET = {"ssl": "SSL", "starttls": "STARTTLS"}
THUNDERBIRD_AUTH = {"password-cleartext": "password-cleartext", "apop": "password-encrypted"}
OUTLOOK_ENCRYPTION = {"ssl": "SSL", "starttls": "TLS"}
PROFILE_NAMESPACE = uuid.UUID("6f1f3c36-9a43-4d4c-8a57-1f7b3f0e5a21")  # stable profile UUIDs per address


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, value: object) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def thunderbird(settings: ClientSettings) -> bytes:
    """clientConfig 1.1; the user name is Thunderbird's placeholder for the address typed in."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=settings.domain)
    _text(provider, "domain", settings.domain)
    _text(provider, "displayName", settings.display_domain)
    _text(provider, "displayShortName", settings.display_domain)
    for tag, entries in (("incomingServer", settings.incoming), ("outgoingServer", settings.outgoing)):
        for entry in entries:
            server = ET.SubElement(provider, tag, type=entry.protocol)
            _text(server, "hostname", entry.hostname)
            _text(server, "port", entry.port)
            _text(server, "socketType", THUNDERBIRD_SOCKET[entry.security])
            _text(server, "authentication", THUNDERBIRD_AUTH[entry.authentication])
            _text(server, "username", settings.username or "%EMAILADDRESS%")
    return _xml(root)


def requested_address(body: bytes) -> str | None:
    """The EMailAddress of an autodiscover POX request; None for anything malformed.

    Requests never carry a DTD; refusing one keeps entity tricks out of the parser.
    """
    if len(body) > MAX_REQUEST_BYTES or b"<!doctype" in body.lower() or b"<!entity" in body.lower():
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    found = root.find(f"{{{AUTODISCOVER_REQUEST}}}Request/{{{AUTODISCOVER_REQUEST}}}EMailAddress")
    address = (found.text or "").strip() if found is not None else ""
    return address if "@" in address and len(address) <= 320 else None


def autodiscover(settings: ClientSettings, address: str) -> bytes:
    """One Protocol per type (Outlook takes the first of each): IMAP, POP3, SMTP."""
    ET.register_namespace("", AUTODISCOVER_RESPONSE)
    root = ET.Element(f"{{{AUTODISCOVER_RESPONSE}}}Autodiscover")
    response = ET.SubElement(root, f"{{{OUTLOOK_RESPONSE}}}Response")
    account = ET.SubElement(response, f"{{{OUTLOOK_RESPONSE}}}Account")
    _text(account, f"{{{OUTLOOK_RESPONSE}}}AccountType", "email")
    _text(account, f"{{{OUTLOOK_RESPONSE}}}Action", "settings")
    for protocol in ("imap", "pop3", "smtp"):
        entry = settings.preferred(protocol)
        if entry is None:
            continue
        element = ET.SubElement(account, f"{{{OUTLOOK_RESPONSE}}}Protocol")
        for tag, value in (("Type", protocol.upper()), ("Server", entry.hostname), ("Port", entry.port),
                           ("LoginName", address), ("DomainRequired", "off"), ("SPA", "off"),
                           ("Encryption", OUTLOOK_ENCRYPTION[entry.security]), ("AuthRequired", "on")):
            _text(element, f"{{{OUTLOOK_RESPONSE}}}{tag}", value)
    return _xml(root)


def _profile_uuid(address: str, part: str) -> str:
    return str(uuid.uuid5(PROFILE_NAMESPACE, f"{part}:{address}")).upper()


def mobileconfig(settings: ClientSettings, address: str) -> bytes:
    """An unsigned profile for iOS and macOS Mail: IMAP in, SMTP out, password asked on install."""
    incoming = settings.preferred("imap")
    outgoing = settings.preferred("smtp")
    if incoming is None or outgoing is None:
        raise LookupError("the node offers no IMAP or no submission listener")
    identifier = ".".join(reversed(settings.domain.split("."))) + ".tegami.mail"
    account = {
        "PayloadType": "com.apple.mail.managed", "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.account.{_profile_uuid(address, 'account')}",
        "PayloadUUID": _profile_uuid(address, "account"), "PayloadDisplayName": address,
        "EmailAccountDescription": address, "EmailAccountType": "EmailTypeIMAP", "EmailAddress": address,
        **_apple_server("Incoming", incoming, address), **_apple_server("Outgoing", outgoing, address),
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    profile = {
        "PayloadType": "Configuration", "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.{_profile_uuid(address, 'profile')}",
        "PayloadUUID": _profile_uuid(address, "profile"), "PayloadDisplayName": address,
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile)


def _apple_server(direction: str, entry: ServerEntry, address: str) -> dict[str, object]:
    prefix = f"{direction}MailServer"
    return {f"{prefix}HostName": entry.hostname, f"{prefix}PortNumber": entry.port,
            f"{prefix}UseSSL": True, f"{prefix}Authentication": "EmailAuthPassword",
            f"{prefix}Username": address}

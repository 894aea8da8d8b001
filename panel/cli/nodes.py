"""`nodes`: the mail servers running maild, shared or dedicated to one customer."""
from __future__ import annotations

from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.crud import add_delete_command, add_list_command, add_spec_commands
from panel.cli.params import LIMIT, OPTIONAL_ID, SIZE_OR_UNLIMITED
from panel.cli.plans import TIERS
from panel.cli.specs import SpecOption
from panel.models import Node
from panel.services import nodes as service
from panel.services.nodes import NodeSpec

nodes = AppGroup("nodes", help="Mail servers (nodes) and their capacity.")

NODE_OPTIONS = (
    SpecOption("hostname", "--hostname", "Public host name clients and MX records use."),
    SpecOption("ip", "--ip", "Public IPv4 or IPv6 address."),
    SpecOption("tier", "--tier", "shared: pooled customers; dedicated: one customer's own server.", TIERS),
    SpecOption("max_mailboxes", "--max-mailboxes", "Mailboxes it can hold.", LIMIT),
    SpecOption("storage_bytes", "--storage", "Sum of the quotas it can hold (500G, 2T, ...).", SIZE_OR_UNLIMITED),
    SpecOption("customer_id", "--customer", "ID of the customer a dedicated node belongs to ('none' for shared).",
               OPTIONAL_ID),
    SpecOption("enabled", "--enabled/--disabled", "Whether new domains may be placed on it."),
)

find_node = lookup.finder(Node, Node.name)
add_spec_commands(nodes, NodeSpec, NODE_OPTIONS, find=find_node, create=service.create_node,
                  update=service.update_node, what="mail node")
add_list_command(nodes, Node, Node.name, what="mail nodes")
add_delete_command(nodes, find=find_node, remove=service.delete_node, metavar="ID|NAME",
                   describe=lambda node: _("mail node %(name)s", name=node.name))

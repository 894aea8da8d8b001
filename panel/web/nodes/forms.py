"""The mail server (node) form; field names match NodeSpec."""
from __future__ import annotations

from dataclasses import fields

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from panel.services.nodes import NodeSpec
from panel.web.forms_common import LimitField, SizeField, TierField, optional_id


class NodeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    hostname = StringField(_l("Public host name"), validators=[DataRequired(), Length(max=253)],
                           description=_l("The name mail clients and other servers connect to, such as mx1.example.jp."))
    ip = StringField(_l("IP address"), validators=[DataRequired(), Length(max=45)])
    tier = TierField(_l("Tier pool"))
    customer_id = SelectField(_l("Dedicated to customer"), coerce=optional_id,
                              description=_l("Only for the dedicated tier; the customer's plan must be dedicated."))
    max_mailboxes = LimitField(_l("Mailbox capacity"))
    storage_bytes = SizeField(_l("Storage capacity"), unit="GiB")
    enabled = BooleanField(_l("Takes new domains"), default=True)
    submit = SubmitField(_l("Save"))

    def spec(self) -> NodeSpec:
        return NodeSpec(**{field.name: self[field.name].data for field in fields(NodeSpec)})

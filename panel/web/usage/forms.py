"""The cleanup policy form of a domain."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.validators import NumberRange, Optional

from panel.services.usage import MAX_POLICY_DAYS

DAYS = [Optional(), NumberRange(min=0, max=MAX_POLICY_DAYS)]


class CleanupForm(FlaskForm):
    trash_days = IntegerField(_l("Empty Trash and Junk of messages older than (days)"), DAYS,
                              description=_l("Empty: the plan's default. 0: never."))
    archive_days = IntegerField(_l("Move INBOX messages older than (days) to Archive"), DAYS,
                                description=_l("Empty: the plan's default. 0: never."))
    submit = SubmitField(_l("Save"))

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    login = StringField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)],
                        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Log in"))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button that carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))

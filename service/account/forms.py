"""The account forms."""

from __future__ import annotations

from ..auth.forms import code_field, current_password_field
from ..forms import Form


class DeleteAccountForm(Form):
    """Confirms the deletion with what proves the account holder: the password."""

    password = current_password_field()


class DeleteAccountWithCodeForm(DeleteAccountForm):
    """With two-factor on, a code from the app (or a recovery code) as well."""

    code = code_field()

"""The base of every form: bound to the request, with async validators that really run.

CSRF is checked for every state-changing request in `service.csrf`; form
templates add the token with `{{ csrf_field() }}`. WTForms' own messages
("This field is required.") come in the page's language, from the catalogs
WTForms ships; ours are marked with `lazy_gettext` where the forms declare them.
"""

from __future__ import annotations

from typing import Any, Self

from quart import request
from werkzeug.datastructures import CombinedMultiDict
from wtforms import Form as _WTForm
from wtforms import ValidationError
from wtforms.meta import DefaultMeta

from .i18n import current_locale, wtforms_translations


class Form(_WTForm):
    """A WTForms form for Quart.

    WTForms only runs synchronous `validate_<field>` methods; a coroutine there
    is silently skipped. Checks that need the database are written as
    `async def check_<field>(self, field)` and run by `validate_on_submit()`
    after the synchronous validators pass.
    """

    class Meta(DefaultMeta):
        def get_translations(self, form: _WTForm) -> Any:
            return wtforms_translations(current_locale())

    @classmethod
    async def from_request(cls, **kwargs: Any) -> Self:
        if request.method in {"POST", "PUT", "PATCH"}:
            formdata = CombinedMultiDict([await request.form, await request.files])
            return cls(formdata=formdata, **kwargs)
        return cls(**kwargs)

    async def validate_async(self) -> bool:
        valid = self.validate()
        for name, field in self._fields.items():
            check = getattr(self, f"check_{name}", None)
            if check is None or field.errors:
                continue
            try:
                await check(field)
            except ValidationError as error:
                field.errors = [*field.errors, str(error)]
                valid = False
        return valid

    async def validate_on_submit(self) -> bool:
        return request.method == "POST" and await self.validate_async()

"""The base of every form: bound to the request, with async validators that really run.

CSRF is checked for every state-changing request in `service.csrf`; form
templates add the token with `{{ csrf_field() }}`. WTForms' own messages
("This field is required.") come in the page's language, from the catalogs
WTForms ships; ours are marked with `lazy_gettext` where the forms declare them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Self

from markupsafe import Markup
from quart import request
from werkzeug.datastructures import CombinedMultiDict
from wtforms import Field, ValidationError
from wtforms import Form as _WTForm
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

        def render_field(self, field: Field, render_kw: dict[str, Any]) -> Markup:
            # The widgets' output is already Markup.
            key = _empty_field_key(field, render_kw)
            if key is None:
                html: Markup = super().render_field(field, render_kw)
                return html
            cached = _empty_fields.get(key)
            if cached is not None:
                _empty_fields.move_to_end(key)
                return cached
            html = _empty_fields[key] = super().render_field(field, render_kw)
            if len(_empty_fields) > _EMPTY_FIELDS_KEPT:
                _empty_fields.popitem(last=False)
            return html

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

    def is_blank(self) -> bool:
        """Whether the form is as its class makes it: nothing typed in or loaded, no errors.

        A blank form is the same HTML for every reader (`service.fragments`).
        """
        return not self._prefix and all(
            _is_empty(field) and not field.errors for field in self._fields.values()
        )


# An empty field (nothing typed in, nothing loaded into it) is the same HTML
# for every reader: WTForms builds it from what `_empty_field_key` collects,
# its widget's attributes each through `Markup.format`, which made the login
# form's three inputs a third of the login page's CPU. So an empty field is
# rendered once per worker; one with a value, or with choices (a select,
# whose choices may come from the database), is rendered each time.
_empty_fields: OrderedDict[Hashable, Markup] = OrderedDict()
_EMPTY_FIELDS_KEPT = 512


def _is_empty(field: Field) -> bool:
    """Nothing typed in, nothing loaded, and no choices (a select's may come from the database)."""
    data = field.data
    empty = data is None or data is False or data == ""  # not 0, which shows as "0"
    return empty and not field.raw_data and not hasattr(field, "choices")


def _empty_field_key(field: Field, render_kw: dict[str, Any]) -> Hashable | None:
    """What the HTML of an empty `field` depends on; None when it is not empty."""
    if not _is_empty(field):
        return None
    attributes = (
        _plain_items(render_kw),
        _plain_items(getattr(field, "render_kw", None)),
        _plain_items(vars(field.flags)),
    )
    if None in attributes:
        return None
    # The widget instance belongs to the field's declaration; the label's
    # text is in the page's language (a submit button shows it).
    label = str(field.label.text)
    return (field.widget, type(field), field.id, field.name, field.data, label, attributes)


def _plain_items(attributes: dict[str, Any] | None) -> tuple[tuple[str, Any], ...] | None:
    """`attributes` as part of a key; None if a value is not a plain string, number or flag."""
    items = tuple(sorted((attributes or {}).items()))
    if all(isinstance(value, str | int | bool | None) for _name, value in items):
        return items
    return None

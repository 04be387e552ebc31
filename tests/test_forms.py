"""Form rendering: an empty field is rendered once per worker, anything typed in each time."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from service.forms import Form
from service.i18n import force_locale, lazy_gettext

from .fixtures import Client, Csrf


class _Sample(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    agree = BooleanField("Agree")
    colour = SelectField("Colour")
    send = SubmitField(lazy_gettext("Log In"))


def _widget(field: object, **attributes: object) -> str:
    """What WTForms itself renders for `field`, no cache involved."""
    return str(field.widget(field, **attributes))  # type: ignore[attr-defined]


def test_an_empty_field_renders_as_wtforms_does_first_and_then() -> None:
    for _ in range(2):  # the second time from the cache
        form = _Sample()
        assert str(form.name(class_="form-control")) == _widget(form.name, class_="form-control")
        assert 'maxlength="64"' in str(form.name()) and "required" in str(form.name())
        assert str(form.agree()) == _widget(form.agree)


def test_what_a_field_holds_is_never_taken_from_another_render() -> None:
    assert 'value=""' in str(_Sample().name())
    assert 'value="typed"' in str(_Sample(data={"name": "typed"}).name())
    assert "checked" in str(_Sample(data={"agree": True}).agree())
    assert "checked" not in str(_Sample().agree())
    assert 'class="a"' in str(_Sample().name(class_="a"))
    assert 'class="b"' in str(_Sample().name(class_="b"))


def test_a_select_is_rendered_with_its_own_choices() -> None:
    first, second = _Sample(), _Sample()
    first.colour.choices = [("red", "Red")]
    second.colour.choices = [("blue", "Blue")]
    assert "Red" in str(first.colour()) and "Red" not in str(second.colour())
    assert "Blue" in str(second.colour())


def test_a_submit_button_is_in_the_language_of_its_page() -> None:
    assert 'value="Log In"' in str(_Sample().send())
    with force_locale("zh-CN"):
        chinese = str(_Sample().send())
    assert 'value="Log In"' not in chinese
    assert 'value="Log In"' in str(_Sample().send())


async def test_a_failed_login_shows_what_was_typed_and_its_errors(
    client: Client, csrf: Csrf
) -> None:
    empty = await (await client.get("/auth/login")).get_data(as_text=True)
    assert "is-invalid" not in empty
    token = await csrf(client)
    response = await client.post(
        "/auth/login", form={"email": "typed@example.com", "password": "", "csrf_token": token}
    )
    html = await response.get_data(as_text=True)
    assert 'value="typed@example.com"' in html
    assert 'class="form-control is-invalid"' in html  # the empty password
    again = await (await client.get("/auth/login")).get_data(as_text=True)
    assert "typed@example.com" not in again and "is-invalid" not in again

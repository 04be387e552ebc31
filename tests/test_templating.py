"""Synchronous rendering: what templates see of the reader, and the links they build."""

from __future__ import annotations

from jinja2 import Environment, pass_context, pass_environment, pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from quart import Quart

from service.templating import synchronous_environment

from .fixtures import Client, Login, MakeUser


async def test_the_navigation_follows_whether_the_reader_is_signed_in(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    anonymous = await (await client.get("/")).get_data(as_text=True)
    assert "Hello, Stranger!" in anonymous and 'action="/auth/logout"' not in anonymous
    user = await make_user("reader")
    await login(client, user.email)
    signed_in = await (await client.get("/")).get_data(as_text=True)
    assert "Hello, reader!" in signed_in and 'action="/auth/logout"' in signed_in


async def test_remembered_links_follow_the_root_path(client: Client) -> None:
    plain = await (await client.get("/")).get_data(as_text=True)
    prefixed = await (await client.get("/", root_path="/blog")).get_data(as_text=True)
    again = await (await client.get("/")).get_data(as_text=True)
    assert 'href="/auth/login"' in plain and 'href="/auth/login"' in again
    assert 'href="/blog/auth/login"' in prefixed and 'href="/auth/login"' not in prefixed


async def test_templates_read_the_environments_globals_and_their_own_on_top(app: Quart) -> None:
    environment = synchronous_environment(app)
    shared = environment.from_string("{{ greeting }}")
    own = environment.from_string("{{ greeting }} {{ url_for is defined }}", {"greeting": "own"})
    assert shared.globals is environment.globals
    environment.globals["greeting"] = "added after loading"
    try:
        assert shared.render() == "added after loading"
        assert own.render() == "own True"
    finally:
        del environment.globals["greeting"]
    assert "greeting" not in app.jinja_env.globals


async def test_template_calls_pass_what_jinja_passes(app: Quart) -> None:
    def plain(*args: object, **kwargs: object) -> str:
        return f"{len(args)}:{','.join(sorted(kwargs))}"

    def exhausted() -> str:
        raise StopIteration

    @pass_context
    def with_context(context: Context, name: str) -> str:
        return f"{name}={context.get(name)}"

    @pass_eval_context
    def with_eval_context(eval_context: EvalContext, text: str) -> str:
        return f"{text}:{eval_context.autoescape}"

    @pass_environment
    def with_environment(environment: Environment, text: str) -> str:
        return f"{text}:{environment is synchronous_environment(app)}"

    class Greeter:
        def __init__(self, greeting: str) -> None:
            self.greeting = greeting

        def greet(self, name: str) -> str:
            return f"{self.greeting}, {name}"

        @pass_eval_context
        def greet_escaped(self, eval_context: EvalContext, name: str) -> str:
            return f"{self.greeting}, {name}:{eval_context.autoescape}"

    source = (
        "{% block b %}{% for i in [1] %}{% set n = 2 %}{{ plain(i, k=n) }} {{ ctx('n') }}"
        "{% endfor %}{% endblock %} [{{ exhausted() }}] {{ ev('a') }} {{ env('b') }}"
        " {{ greeter.greet('c') }} {{ greeter.greet_escaped('d') }}"
    )
    names = {
        "plain": plain,
        "exhausted": exhausted,
        "ctx": with_context,
        "ev": with_eval_context,
        "env": with_environment,
        "greeter": Greeter("hi"),
    }
    environment = synchronous_environment(app)
    ours = environment.from_string(source, names).render()
    assert ours == "1:k n=2 [] a:True b:True hi, c hi, d:True"
    # Jinja's own calls, in the same environment, give the same.
    ours_class, environment.context_class = environment.context_class, Context
    try:
        assert environment.from_string(source, names).render() == ours
    finally:
        environment.context_class = ours_class

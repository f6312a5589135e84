"""A process that creates its app again (every test does, a CLI command may) pays werkzeug's URL builders and
Jinja's template compilation once: both are shared between the apps of the process, and build and render
exactly what they would unshared."""

from __future__ import annotations

from unittest import mock

from jinja2 import DictLoader, Environment
from werkzeug.routing import Map, Rule
from werkzeug.routing.converters import NumberConverter

from service.app import TEMPLATE_CODE, SharedBuilderRule

from .conftest import make_app


def _sample_values(rule) -> dict[str, object]:
    return {name: 7 if isinstance(rule._converters[name], NumberConverter) else "2025Q1" for name in rule.arguments}


def test_a_second_app_shares_every_url_builder_and_builds_what_werkzeug_builds(app, seeded_url, tmp_path):
    again = make_app(seeded_url, tmp_path / "again")
    ours = [rule for rule in again.url_map.iter_rules() if isinstance(rule, SharedBuilderRule)]
    assert len(ours) > 90  # every route of the web pages and the API
    first = {rule.rule: rule for rule in app.url_map.iter_rules()}
    for rule in ours:
        assert rule._build.__func__ is first[rule.rule]._build.__func__, rule.rule
        assert rule._build_unknown.__func__ is first[rule.rule]._build_unknown.__func__, rule.rule
        # the same rule compiled by werkzeug alone, in a map of its own
        plain = Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods)
        Map([plain], converters=again.url_map.converters)
        values = _sample_values(rule)
        for append_unknown in (False, True):
            asked = {**values, "page": "2", "q": "财务 处"} if append_unknown else values
            assert rule.build(dict(asked), append_unknown) == plain.build(dict(asked), append_unknown), rule.rule
    with again.test_request_context():
        from flask import url_for

        assert url_for("web.login", next="/projects?year=2025") == "/login?next=/projects?year%3D2025"


def test_a_second_app_renders_its_pages_without_compiling_a_template(app, seeded_url, tmp_path):
    assert app.test_client().get("/login").status_code == 200
    again = make_app(seeded_url, tmp_path / "again")
    with mock.patch.object(again.jinja_env, "compile", wraps=again.jinja_env.compile) as compile_:
        page = again.test_client().get("/login")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)
    assert compile_.call_count == 0


def test_an_edited_template_is_compiled_afresh():
    sources = {"greeting.html": "你好 {{ name }}"}
    environment = Environment(loader=DictLoader(sources), bytecode_cache=TEMPLATE_CODE, auto_reload=True)
    assert environment.get_template("greeting.html").render(name="财务处") == "你好 财务处"
    sources["greeting.html"] = "再见 {{ name }}"
    fresh = Environment(loader=DictLoader(sources), bytecode_cache=TEMPLATE_CODE)
    assert fresh.get_template("greeting.html").render(name="财务处") == "再见 财务处"

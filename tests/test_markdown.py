"""Markdown rendering: what posts and comments may contain once sanitized."""

from __future__ import annotations

import pytest

from service.markdown import render_comment, render_post


def test_post_markdown_renders_to_the_allowed_tags() -> None:
    html = render_post("# Title\n\n> quoted\n\n- *one*\n- **two**\n\n```\ncode\n```")
    assert "<h1>Title</h1>" in html
    assert "<blockquote>" in html and "<ul>" in html and "<li><em>one</em></li>" in html
    assert "<strong>two</strong>" in html
    assert "<pre><code>code\n</code></pre>" in html


def test_links_are_marked_nofollow_noopener() -> None:
    html = render_post("[Flasky](https://example.com/flasky)")
    assert '<a href="https://example.com/flasky" rel="nofollow noopener">Flasky</a>' in html


def test_link_targets_and_other_attributes_are_dropped() -> None:
    html = render_post('<a href="https://example.com" target="_blank" onclick="x()">t</a>')
    assert "target" not in html and "onclick" not in html
    assert 'href="https://example.com"' in html


@pytest.mark.parametrize(
    "body",
    ["[x](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>', "[x](data:text/html,hi)"],
)
def test_script_and_data_urls_never_become_links(body: str) -> None:
    html = render_post(body)
    assert "href" not in html


def test_script_elements_are_removed_with_their_content() -> None:
    html = render_post("before\n\n<script>alert(1)</script>\n\nafter")
    assert "<script" not in html and "alert" not in html
    assert "before" in html and "after" in html


def test_tags_outside_the_allow_list_are_removed_keeping_their_text() -> None:
    html = render_post("#### small\n\n<img src=x onerror=alert(1)><span>kept</span>")
    assert "<h4" not in html and "<img" not in html and "<span" not in html
    assert "small" in html and "kept" in html


def test_comments_allow_inline_tags_only() -> None:
    html = render_comment("# Big\n\n- item\n\n*em* `code` [link](https://example.com)")
    assert "<h1" not in html and "<ul" not in html and "<li" not in html and "<p>" not in html
    assert "<em>em</em>" in html and "<code>code</code>" in html
    assert 'rel="nofollow noopener"' in html
    assert "Big" in html and "item" in html


def test_mailto_links_are_allowed() -> None:
    assert 'href="mailto:john@flasky.dev"' in render_comment("[mail](mailto:john@flasky.dev)")

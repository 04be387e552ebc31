"""The longest text a user may write in each field, in characters: one list for forms, API and docs.

Every text a user writes costs something to store, render and sanitize, and
that cost grows with the length (faster than linearly for some Markdown and
HTML shapes), so each field has a bound a real blog never meets:

- a post may be a long article: 100,000 characters is about 15,000 words;
- a comment is a reply, not an article: 5,000 characters; a private message too;
- name and location are their columns' size (64);
- "about me" is a short biography shown as plain text: 2,000 characters.

Length alone does not bound the cost of Markdown: `service.render_pool` also
gives every render a time budget. See docs/architecture.md ("Rendering").
"""

from __future__ import annotations

POST_BODY_MAX = 100_000
COMMENT_BODY_MAX = 5_000
MESSAGE_BODY_MAX = 5_000
NAME_MAX = 64
LOCATION_MAX = 64
ABOUT_ME_MAX = 2_000

# How many private messages one user may send in `MESSAGE_WINDOW` seconds
# (`service.throttle.message_retry_after` enforces it for every worker).
MESSAGES_PER_WINDOW = 20
MESSAGE_WINDOW = 60

"""Words the domain says to a person, marked so the web app can translate them.

Why a marker and not Flask-Babel here: `fieldkit/` imports no Flask (STYLE.md) and knows no
request, so it cannot know which language the person reading chose. It can say *which* sentence
it means. `_("Hộ %(name)s đã có lượt thăm.", name=…)` returns a `Msg`: a `str` whose value is the
Vietnamese sentence with its values filled in — Vietnamese is the source of truth and the
default, so every caller that treats it as text (comparisons, exports to the province, logs,
the database, the CLI) sees exactly what it saw before — and which also keeps the Vietnamese
msgid and its values, so `pwa/i18n.py` can look the msgid up in the catalogue and fill the
same values into the chosen language when it renders a page, a flash or a JSON error.

`pybabel extract` (babel.cfg) finds these calls like any gettext call: the first argument must
be a literal. Values use gettext's `%(name)s` placeholders, as in the templates.
"""

from __future__ import annotations


class Msg(str):
    """A Vietnamese sentence (the str value) that remembers its msgid and values."""

    __slots__ = ("msgid", "params", "capitalized")
    msgid: str
    params: dict
    capitalized: bool

    def __new__(cls, msgid: str, params: dict | None = None, capitalized: bool = False) -> Msg:
        text = msgid % params if params else msgid
        if capitalized:
            text = text[:1].upper() + text[1:]
        self = super().__new__(cls, text)
        self.msgid = msgid
        self.params = dict(params or {})
        self.capitalized = capitalized
        return self

    def capitalize(self) -> Msg:
        """A field's name at the start of a sentence ("Họ tên dài quá…"): still translatable,
        capitalised in whichever language it is shown."""
        return Msg(self.msgid, self.params, capitalized=True)

    def __reduce__(self):
        return (Msg, (self.msgid, self.params, self.capitalized))


def _(msgid: str, **params) -> Msg:
    """Mark `msgid` (Vietnamese) as a sentence for a person; `params` fill `%(name)s`."""
    return Msg(msgid, params)


def N_(msgid: str) -> str:
    """Mark a Vietnamese word for the catalogue without wrapping it (an enum's label kept in a
    dict whose values are looked up by the web app). Returns `msgid` unchanged."""
    return msgid

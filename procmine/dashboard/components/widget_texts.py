"""Streamlit's own English where no widget parameter reaches it, in the session's language.

Streamlit has no locale setting. Where a widget takes its text as a parameter the pages pass
the catalogue's (``placeholder=``); the file uploader's button ("Upload", "Browse files") and
its instructions ("Drag and drop files here", "Limit 200MB per file • CSV") take none, so a
style sheet hides those text nodes and shows the catalogue's text in their place (CSS
``::after`` content), with Streamlit's size limit; the pages' captions name the file types.
"""

from __future__ import annotations

__all__ = ["css_string", "uploader_css"]

_ZONE = '[data-testid="stFileUploaderDropzone"]'
_HINT = '[data-testid="stFileUploaderDropzoneInstructions"]'
_LABEL = f'{_ZONE} button [data-testid="stMarkdownContainer"]'


def css_string(text: str) -> str:
    """``text`` as a CSS string literal.

    >>> css_string('拖放 "文件"')
    '"拖放 \\\\"文件\\\\""'
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def uploader_css(button: str, hint: str) -> str:
    """The style sheet that shows ``button`` on the uploader's button and ``hint`` as its
    instructions, the English hidden (``display: none``: not read out, not in the page's text).

    >>> "上传" in uploader_css("上传", "拖放文件到此处")
    True
    """
    return (
        "<style>"
        f"{_LABEL} > * {{display: none;}}"
        f"{_LABEL}::after {{content: {css_string(button)};}}"
        f"{_HINT} > * > * {{display: none;}}"
        f"{_HINT} > *::after {{content: {css_string(hint)}; font-size: 0.875rem;"
        " opacity: 0.7;}"
        "</style>"
    )

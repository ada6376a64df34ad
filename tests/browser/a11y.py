"""Accessibility checks run in the page: labels, text contrast, keyboard reach.

Contrast follows WCAG 2.x: relative luminance of the text colour and of the background it sits
on (the nearest opaque ancestor background, with translucent layers blended over it); normal
text needs at least 4.5:1.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.type !== 'hidden')
  .filter(e => {
    if (e.tagName === 'BUTTON') return !e.textContent.trim() && !e.getAttribute('aria-label');
    return !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
      && !e.getAttribute('aria-labelledby');
  })
  .map(e => e.outerHTML)"""

LOW_CONTRAST = """() => {
  const parse = (text) => {
    const m = text && text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let out = {r: 255, g: 255, b: 255, a: 1};
    for (const c of layers.reverse()) out = over(c, out);
    return out;
  };
  const luminance = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const failures = [];
  for (const e of document.body.querySelectorAll('*')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length) continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || e.closest('.sr, title, desc')) continue;
    const inSvg = e.closest('svg') !== null;
    const back = background(inSvg ? e.closest('svg') : e);
    const fore = over(parse(inSvg ? style.fill : style.color), back);
    const [a, b] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) failures.push({text: e.textContent.trim().slice(0, 40), ratio: ratio});
  }
  return failures;
}"""

MARK_FOCUSED = "() => { const e = document.activeElement; if (e) e.dataset.tabbed = '1'; }"

UNREACHED = """() => {
  const visible = (e) => e.getClientRects().length > 0;
  const controls = [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')].filter(visible);
  return controls.filter(e => {
    if (e.dataset.tabbed) return false;
    if (e.type === 'radio') {  // Tab enters a radio group once; arrows move inside it
      return !document.querySelector(`input[type=radio][name="${e.name}"][data-tabbed]`);
    }
    return true;
  }).map(e => e.outerHTML.slice(0, 120));
}"""


def unlabelled_controls(page: Page) -> list[str]:
    found: list[str] = page.evaluate(UNLABELLED)
    return found


def low_contrast_text(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(LOW_CONTRAST)
    return found


def unreachable_by_tab(page: Page) -> list[str]:
    """Visible controls that pressing Tab through the page never focuses."""
    count: int = page.evaluate(
        "() => document.querySelectorAll('input, select, textarea, button, a[href]').length"
    )
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(count + 3):
        page.keyboard.press("Tab")
        page.evaluate(MARK_FOCUSED)
    found: list[str] = page.evaluate(UNREACHED)
    return found


def assert_accessible(page: Page) -> None:
    """Every control labelled, every text at 4.5:1 or more, every control reached by Tab."""
    assert unlabelled_controls(page) == []
    assert low_contrast_text(page) == []
    assert unreachable_by_tab(page) == []

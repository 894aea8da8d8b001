"""Checks every browser journey applies to each page it visits."""
from __future__ import annotations

ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  if (!document.title.trim()) problems.push('the page has no title');
  const headings = document.querySelectorAll('h1').length;
  if (headings !== 1) problems.push(`${headings} h1 elements`);
  const fields = document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea');
  for (const field of fields) {
    const labelled = (field.labels && field.labels.length) || field.getAttribute('aria-label')
      || field.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`field ${field.name || field.id} has no label`);
  }
  for (const button of document.querySelectorAll('button, input[type=submit], a.btn')) {
    const name = [button.innerText, button.value, button.getAttribute('aria-label')]
      .map(text => (text || '').trim()).find(Boolean);
    if (!name) problems.push(`a button has no name: ${button.outerHTML.slice(0, 80)}`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push(`the page is wider (${document.documentElement.scrollWidth}px) than the screen`);
  return problems;
}"""


def assert_page_ok(page) -> None:  # type: ignore[no-untyped-def]
    """Title, one h1, labelled fields, named buttons, and no sideways scrolling of the page."""
    problems = page.evaluate(ACCESSIBILITY_PROBLEMS)
    assert not problems, f"{page.url}: " + "; ".join(problems)


def open_menu(page) -> None:  # type: ignore[no-untyped-def]
    """At phone width the navigation is folded behind the toggler: open it as a user would."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        page.locator("#mainnav.show").wait_for()

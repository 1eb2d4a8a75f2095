"""axe-core (static/vendor/axe-core) in a Playwright page: what it finds against WCAG 2.1 A
and AA in what the page shows."""

from pathlib import Path

from django.conf import settings

AXE_SOURCE = (Path(settings.BASE_DIR) / "static/vendor/axe-core/axe.min.js").read_text()
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
# Runs axe in the page through the DevTools protocol, which the page's policy does not
# govern (no script tag, no bypass_csp), and keeps what a report needs.
RUN_AXE = """async (options) => {
    const results = await axe.run(document, options);
    return results.violations.map((rule) => ({
        id: rule.id,
        impact: rule.impact,
        help: rule.help,
        nodes: rule.nodes.map((node) => ({
            target: node.target.join(" "),
            why: [...node.any, ...node.all, ...node.none].map((check) => check.message)[0],
        })),
    }));
}"""


def axe_violations(page) -> list[dict]:
    """axe's findings in the page as it is now (each rule with the nodes that break it)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE, AXE_OPTIONS)

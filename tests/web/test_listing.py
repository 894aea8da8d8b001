"""List search: Unicode domain names find their stored punycode rows; wildcards are literal."""
from __future__ import annotations

from panel.models import Role


def test_search_by_unicode_domain_finds_punycode_rows(make, login_as):
    domain = make.domain(name="例え.jp")
    make.mailbox(domain, "info")
    other = make.mailbox(make.domain(name="plain.example"), "info")
    client = login_as(make.user(Role.ADMIN))
    page = client.get("/mailboxes/?q=info@例え").get_data(as_text=True)
    assert "info@例え.jp" in page and other.email not in page
    assert "例え.jp" in client.get("/domains/?q=例え").get_data(as_text=True)
    assert "info@" not in client.get("/mailboxes/?q=%25").get_data(as_text=True)  # % is literal

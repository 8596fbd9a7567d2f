"""HTML for the hosted pages: Checkout, the billing portal, invoices and receipts.

Plain server-rendered forms with inline CSS and no scripts or external assets, so the pages
work offline and a browser test can drive them with ordinary clicks and fills.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from .engine import money

Obj = dict[str, Any]

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1f36;
background:#f6f8fa}
main{max-width:960px;margin:0 auto;padding:32px 20px;display:flex;gap:40px;flex-wrap:wrap}
section{flex:1 1 380px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.muted{color:#6a7383;font-size:14px}
.banner{background:#fff4e5;color:#8a4b00;font-size:13px;text-align:center;padding:6px}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:20px;
margin-bottom:16px}.card>:first-child{margin-top:0}
table{width:100%;border-collapse:collapse}td,th{padding:8px 4px;text-align:left;
border-bottom:1px solid #eef1f4;font-size:15px}th{font-weight:600;color:#6a7383;font-size:13px}
td.amount,th.amount{text-align:right}
.total td{font-weight:700;border-bottom:0}
label{display:block;font-size:14px;font-weight:600;margin:12px 0 4px}
input{width:100%;padding:10px;border:1px solid #cfd7df;border-radius:6px;font-size:16px}
.row{display:flex;gap:12px}.row>div{flex:1}
button{margin-top:18px;width:100%;padding:12px;border:0;border-radius:6px;background:#635bff;
color:#fff;font-size:16px;font-weight:600;cursor:pointer}
button.secondary{background:#fff;color:#1a1f36;border:1px solid #cfd7df;width:auto;
margin-top:8px;padding:8px 14px;font-size:14px}
.error{background:#fdecea;color:#b3261e;border-radius:6px;padding:10px 12px;margin-top:12px}
.notice{background:#e6f4ea;color:#1e6b34;border-radius:6px;padding:10px 12px;margin-bottom:16px}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:2px 8px;border-radius:10px;
background:#eef1f4}
.badge.active,.badge.paid,.badge.complete{background:#d7f7c2;color:#05690d}
.badge.past_due,.badge.open{background:#fcedb9;color:#a82c00}
.badge.canceled,.badge.expired{background:#eef1f4;color:#545969}
a{color:#635bff}
ul.hints{padding-left:18px;font-size:13px;color:#6a7383;margin:8px 0 0}
"""


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        "<div class=banner>Stripe stand-in: test mode, no real money moves.</div>"
        f"<main>{body}</main></body></html>"
    )


def _date(ts: int | None) -> str:
    return time.strftime("%d %b %Y", time.gmtime(ts)) if ts else "—"


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status.replace("_", " "))}</span>'


def _error(message: str | None) -> str:
    return f"<div class=error role=alert>{escape(message)}</div>" if message else ""


def _card_fields(prefix: str = "") -> str:
    return (
        f'<label for="{prefix}card">Card number</label>'
        f'<input id="{prefix}card" name=card inputmode=numeric autocomplete=cc-number '
        'placeholder="4242 4242 4242 4242" required>'
        "<div class=row><div>"
        f'<label for="{prefix}exp">Expiry</label>'
        f'<input id="{prefix}exp" name=exp autocomplete=cc-exp placeholder="MM / YY">'
        "</div><div>"
        f'<label for="{prefix}cvc">CVC</label>'
        f'<input id="{prefix}cvc" name=cvc autocomplete=cc-csc placeholder="123">'
        "</div></div>"
    )


_HINTS = (
    "<ul class=hints><li>4242 4242 4242 4242 succeeds</li>"
    "<li>4000 0000 0000 0002 is declined</li>"
    "<li>4000 0000 0000 0341 saves but fails later charges</li>"
    "<li>any future expiry and any CVC</li></ul>"
)


def checkout(
    session: Obj, products: dict[str, str], *, error: str | None = None, form: Obj | None = None
) -> str:
    form = form or {}
    cur = session["currency"]
    rows = []
    interval = ""
    for item in session.get("_line_items", []):
        price = item["price"]
        rec = price.get("recurring")
        if rec:
            interval = (
                f" / {rec['interval']}"
                if rec["interval_count"] == 1
                else (f" every {rec['interval_count']} {rec['interval']}s")
            )
        rows.append(
            f"<tr><td>{escape(item['description'] or products.get(price['product'], ''))}"
            f"</td><td>{item['quantity']}</td>"
            f"<td class=amount>{escape(money(item['amount_total'], cur))}</td></tr>"
        )
    summary = (
        "<section><div class=card><p class=muted>Guildhall</p>"
        f"<h1 data-testid=total>{escape(money(session['amount_total'], cur))}"
        f"<span class=muted>{escape(interval)}</span></h1>"
        "<table><thead><tr><th>Item</th><th>Qty</th><th class=amount>Amount</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody><tfoot><tr class=total><td>Total due today</td><td></td>"
        f"<td class=amount>{escape(money(session['amount_total'], cur))}</td></tr></tfoot>"
        "</table></div></section>"
    )
    if session["status"] != "open":
        message = {
            "complete": "This checkout session is complete.",
            "expired": "This checkout session has expired.",
        }.get(session["status"], "This checkout session is no longer available.")
        link = ""
        if session["status"] == "complete" and session.get("success_url"):
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            link = f'<p><a href="{escape(target)}">Continue</a></p>'
        body = summary + f"<section><div class=card><h1>{message}</h1>{link}</div></section>"
        return _layout("Checkout", body)
    email_field = ""
    if not session.get("customer"):
        email = form.get("email") or session.get("customer_email") or ""
        email_field = (
            "<label for=email>Email</label>"
            f'<input id=email name=email type=email autocomplete=email value="{escape(email)}">'
        )
    cancel = ""
    if session.get("cancel_url"):
        cancel = f'<p class=muted><a href="{escape(session["cancel_url"])}">Cancel</a></p>'
    name = escape(form.get("name", ""))
    body = summary + (
        "<section><div class=card><h1>Pay with card</h1>"
        f'<form method=post action="/checkout/{escape(session["id"])}">{email_field}'
        f'<label for=name>Name on card</label><input id=name name=name value="{name}" '
        "autocomplete=cc-name>"
        f"{_card_fields()}{_error(error)}"
        f"<button type=submit>{'Pay and subscribe' if session['mode'] == 'subscription' else 'Pay'}"
        "</button></form>"
        f"{cancel}{_HINTS}</div></section>"
    )
    return _layout("Checkout", body)


def portal(
    session: Obj,
    customer: Obj,
    subscriptions: list[Obj],
    invoices: list[Obj],
    card: Obj | None,
    products: dict[str, str],
    *,
    notice: str | None = None,
    error: str | None = None,
) -> str:
    base = f"/portal/{escape(session['id'])}"
    subs_html = []
    for sub in subscriptions:
        items = sub["items"]["data"]
        names = ", ".join(products.get(i["price"]["product"], i["price"]["product"]) for i in items)
        amount = sum(i["price"]["unit_amount"] * i["quantity"] for i in items)
        rec = items[0]["price"]["recurring"] if items else {"interval": ""}
        period_end = min((i["current_period_end"] for i in items), default=None)
        if sub["status"] == "canceled":
            when = f"Ended {_date(sub['ended_at'])}"
            action = ""
        elif sub["cancel_at_period_end"] or sub["cancel_at"]:
            when = f"Cancels {_date(sub['cancel_at'] or period_end)}"
            action = (
                f'<form method=post action="{base}/subscriptions/{escape(sub["id"])}/resume">'
                "<button class=secondary type=submit>Renew subscription</button></form>"
            )
        else:
            when = f"Renews {_date(period_end)}"
            action = (
                f'<form method=post action="{base}/subscriptions/{escape(sub["id"])}/cancel">'
                "<button class=secondary type=submit>Cancel subscription</button></form>"
            )
        subs_html.append(
            f'<div class=card data-subscription="{escape(sub["id"])}"><h2>{escape(names)} '
            f"{_badge(sub['status'])}</h2>"
            f"<p>{escape(money(amount, sub['currency']))} / {escape(rec['interval'])}<br>"
            f"<span class=muted>{escape(when)}</span></p>{action}</div>"
        )
    rows = "".join(
        f"<tr><td>{_date(inv['created'])}</td><td>{escape(inv['number'] or '')}</td>"
        f"<td class=amount>{escape(money(inv['total'], inv['currency']))}</td>"
        f"<td>{_badge(inv['status'])}</td>"
        f'<td><a href="{escape(inv["hosted_invoice_url"])}">View</a> · '
        f'<a href="{escape(inv["invoice_pdf"])}">PDF</a></td></tr>'
        for inv in invoices
    )
    card_text = (
        f"{escape(card['card']['brand'].title())} ending in {escape(card['card']['last4'])}, "
        f"expires {card['card']['exp_month']:02d}/{card['card']['exp_year']}"
        if card
        else "No card on file"
    )
    back = ""
    if session.get("return_url"):
        back = f'<p><a href="{escape(session["return_url"])}">← Return to Guildhall</a></p>'
    body = (
        "<section style='flex-basis:100%'>"
        f"{back}<h1>Billing</h1><p class=muted>{escape(customer.get('email') or '')}</p>"
        + (f"<div class=notice role=status>{escape(notice)}</div>" if notice else "")
        + _error(error)
        + "<h2>Subscriptions</h2>"
        + ("".join(subs_html) or "<p class=muted>No subscriptions.</p>")
        + "<h2>Payment method</h2><div class=card>"
        f"<p data-testid=card>{card_text}</p>"
        f'<form method=post action="{base}/card">{_card_fields("new-")}'
        "<button class=secondary type=submit>Update card</button></form></div>"
        "<h2>Invoice history</h2><div class=card><table><thead><tr><th>Date</th><th>Number</th>"
        "<th class=amount>Amount</th><th>Status</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )
    return _layout("Billing", body)


def invoice(inv: Obj, *, error: str | None = None, notice: str | None = None) -> str:
    cur = inv["currency"]
    rows = "".join(
        f"<tr><td>{escape(line['description'] or '')}<br><span class=muted>"
        f"{_date(line['period']['start'])} \u2013 {_date(line['period']['end'])}</span></td>"
        f"<td class=amount>{escape(money(line['amount'], cur))}</td></tr>"
        for line in inv["lines"]["data"]
    )
    pay = ""
    if inv["status"] == "open":
        pay = (
            f'<div class=card><h2>Pay this invoice</h2><form method=post action="/invoice/'
            f'{escape(inv["id"])}">{_card_fields()}{_error(error)}'
            "<button type=submit>Pay</button></form>"
            f"{_HINTS}</div>"
        )
    body = (
        "<section style='flex-basis:100%'><div class=card>"
        + (f"<div class=notice role=status>{escape(notice)}</div>" if notice else "")
        + f"<p class=muted>{escape(inv['account_name'] or '')}</p>"
        f"<h1>Invoice {escape(inv['number'] or inv['id'])} {_badge(inv['status'])}</h1>"
        f"<p class=muted>Issued {_date(inv['created'])} to {escape(inv['customer_email'] or '')}"
        "</p>"
        f"<table><tbody>{rows}</tbody><tfoot><tr class=total><td>Total</td>"
        f"<td class=amount>{escape(money(inv['total'], cur))}</td></tr>"
        f"<tr><td>Amount paid</td><td class=amount>{escape(money(inv['amount_paid'], cur))}"
        f"</td></tr></tfoot></table>"
        f'<p><a href="{escape(inv["invoice_pdf"])}">Download PDF</a></p></div>'
        f"{pay}</section>"
    )
    return _layout(f"Invoice {inv['number']}", body)


def receipt(ch: Obj) -> str:
    cur = ch["currency"]
    details = ch["payment_method_details"]["card"]
    refunded = ""
    if ch["amount_refunded"]:
        refunded = (
            f"<tr><td>Refunded</td><td class=amount>{escape(money(ch['amount_refunded'], cur))}"
            "</td></tr>"
        )
    body = (
        "<section><div class=card><p class=muted>Guildhall</p>"
        f"<h1>Receipt {_badge('refunded' if ch['refunded'] else ch['status'])}</h1>"
        f"<table><tbody><tr><td>Amount</td><td class=amount>{escape(money(ch['amount'], cur))}"
        f"</td></tr>{refunded}<tr><td>Date</td><td class=amount>{_date(ch['created'])}</td></tr>"
        f"<tr><td>Card</td><td class=amount>{escape(details['brand'].title())} "
        f"{escape(details['last4'])}</td></tr></tbody></table></div></section>"
    )
    return _layout("Receipt", body)


def message(title: str, text: str, status_link: str | None = None) -> str:
    link = f'<p><a href="{escape(status_link)}">Continue</a></p>' if status_link else ""
    return _layout(
        title,
        f"<section><div class=card><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p>{link}</div></section>",
    )


def index(url: str, webhook_url: str | None, events: list[Obj]) -> str:
    rows = "".join(
        f"<tr><td>{escape(e['id'])}</td><td>{escape(e['type'])}</td>"
        f"<td>{_date(e['created'])}</td>"
        f"<td>{'pending' if e.get('pending_webhooks') else 'sent'}</td></tr>"
        for e in events[:50]
    )
    body = (
        "<section style='flex-basis:100%'><h1>Stripe stand-in</h1>"
        f"<p>API base: <code>{escape(url)}</code><br>Webhooks to: "
        f"<code>{escape(webhook_url or 'nowhere (no webhook URL configured)')}</code></p>"
        "<h2>Recent events</h2><div class=card><table><thead><tr><th>Id</th><th>Type</th>"
        f"<th>Created</th><th>Delivery</th></tr></thead><tbody>{rows}</tbody></table></div>"
        "</section>"
    )
    return _layout("Stripe stand-in", body)


def invoice_pdf(inv: Obj) -> bytes:
    """A one-page PDF with the invoice's essentials, built by hand to stay dependency-free."""
    cur = inv["currency"]
    lines = [
        f"{inv['account_name']}",
        f"Invoice {inv['number']}  -  {inv['status'].upper()}",
        f"Issued {_date(inv['created'])} to {inv['customer_email'] or inv['customer']}",
        "",
    ]
    lines += [
        f"{line['description']}    {money(line['amount'], cur)}" for line in inv["lines"]["data"]
    ]
    lines += [
        "",
        f"Total: {money(inv['total'], cur)}",
        f"Amount paid: {money(inv['amount_paid'], cur)}",
    ]

    def pdf_text(s: str) -> str:
        # The built-in Helvetica speaks Latin-1 only; PDF strings escape \ ( and ).
        s = (
            s.replace("\u00d7", "x")
            .replace("\u2013", "-")
            .replace("\u2014", "-")
            .replace("\u20ac", "EUR ")
        )
        s = s.encode("latin-1", "replace").decode("latin-1")
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text_ops = ["BT", "/F1 12 Tf", "14 TL", "56 780 Td"]
    for line in lines:
        text_ops.append(f"({pdf_text(line)}) Tj T*")
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)

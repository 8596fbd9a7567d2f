import pytest

from portal.mail import render_email

pytestmark = pytest.mark.django_db


def test_render_email_delivers_text_and_html_parts_over_smtp(smtp_server, settings):
    message = render_email(
        template="portal/email/notice",
        subject="Your renewal\nis due",
        to=["maria@example.org"],
        context={"heading": "Renewal due", "body": "Your dues renew on 1 January."},
        headers={"X-Guildhall-Kind": "notice"},
    )
    message.send()

    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == ["maria@example.org"]
    assert mail.message["Subject"] == "Your renewal is due"
    assert mail.message["X-Guildhall-Kind"] == "notice"
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    html = mail.message.get_body(preferencelist=("html",)).get_content()
    assert "Your dues renew on 1 January." in text
    assert "Your dues renew on 1 January." in html
    assert settings.SITE_URL in html


def test_text_part_is_plain_text_and_html_part_is_escaped():
    message = render_email(
        template="portal/email/notice",
        subject="Dues",
        to=["maria@example.org"],
        context={"heading": "O'Neil & Sons", "body": "Dana's <b>dues</b> are paid."},
    )
    html = message.alternatives[0][0]

    assert "Dana's <b>dues</b> are paid." in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body
    assert "Dana&#x27;s &lt;b&gt;dues&lt;/b&gt; are paid." in html

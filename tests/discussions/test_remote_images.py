"""The archive loads no remote image (a tracking pixel) unless the reader asks, per message."""

from email.message import EmailMessage

import pytest

from discussions import services
from discussions.archive_html import archive_html
from discussions.models import Message
from tests.factories import MemberFactory

from .helpers import authentication_results, make_list

pytestmark = pytest.mark.django_db

HTML = (
    "<p>Hello all,</p>"
    '<img src="https://track.example/open.gif?u=maria" width="1" height="1" alt="">'
    '<img src="//cdn.example/logo.png" alt="Logo">'
    '<img src="http://cdn.example/a.png" srcset="http://cdn.example/a2.png 2x" alt="A">'
)


def html_post(mailing_list, sender, subject="Newsletter", html=HTML) -> Message:
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results(sender)
    msg["From"] = sender
    msg["To"] = mailing_list.address
    msg["Subject"] = subject
    msg.set_content("Hello all,")
    msg.add_alternative(html, subtype="html")
    inbound = services.inbound_store(
        raw=msg.as_bytes(), mail_from=sender, rcpt_to=mailing_list.address
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    return Message.objects.get(inbound=inbound)


def test_a_thread_page_loads_no_remote_images_until_the_reader_asks(client):
    billing = make_list()
    author = MemberFactory()
    first = html_post(billing, author.email)
    second = html_post(billing, author.email, subject="Re: Newsletter")
    assert first.thread_id == second.thread_id
    assert "track.example" in first.body_html  # kept as received, hidden when shown
    client.force_login(MemberFactory())
    url = first.thread.get_absolute_url()

    page = client.get(url).content.decode()
    assert "track.example" not in page and "cdn.example" not in page
    assert "image-hidden" in page
    assert f'href="?images={first.pk}#m{first.pk}"' in page

    shown = client.get(url, {"images": first.pk}).content.decode()
    start, end = shown.index(f'id="m{first.pk}"'), shown.index(f'id="m{second.pk}"')
    assert 'src="https://track.example/open.gif?u=maria"' in shown[start:end]
    assert 'referrerpolicy="no-referrer"' in shown[start:end]
    assert "srcset" not in shown  # never needed, never loaded
    assert "cdn.example" not in shown[end:]  # the other message stays as it was
    assert client.get(url, {"images": "not-a-number"}).status_code == 200


@pytest.mark.parametrize(
    "html",
    [
        '<img src="https://t.example/p.gif">',
        '<IMG SRC="HTTPS://T.EXAMPLE/P.GIF">',
        '<img src="//t.example/p.gif">',
        '<img src="/membership/account/">',
        '<table><tr><td background="https://t.example/bg.png">x</td></tr></table>',
        '<img srcset="https://t.example/p.gif 1x">',
        '<picture><source srcset="https://t.example/p.webp"><img alt="x"></picture>',
    ],
)
def test_every_image_source_is_replaced_when_hidden(html):
    shown, _hidden = archive_html(html, show_images=False)
    assert "t.example" not in shown.lower() and "/membership/" not in shown

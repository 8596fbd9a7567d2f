"""Demo content owned by the portal: the home page, navigation, testimonials, demo accounts."""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from wagtail.models import Page, Site

from .models import HomePage, NavigationSettings, Testimonial
from .sites import sync_default_site

# Demo accounts, one per role. The passwords are public on purpose: they only exist in demo
# mode, which production settings switch off.
DEMO_USERS = [
    # (email, password, first, last, role)
    ("member@norm.local", "demo-member-pass", "Maria", "Lopez", "member"),
    ("practice@norm.local", "demo-practice-pass", "Priya", "Shah", "practice admin"),
    ("editor@norm.local", "demo-editor-pass", "Evan", "Brooks", "editor"),
    ("moderator@norm.local", "demo-moderator-pass", "Monica", "Reyes", "moderator"),
    ("staff@norm.local", "demo-staff-pass", "Sam", "Okafor", "staff"),
    ("checkin@norm.local", "demo-checkin-pass", "Chris", "Nguyen", "check-in"),
]

# Each demo role's groups: page approval and list moderation are separate roles (the demo
# moderator holds both; the lists that name them are in discussions/demo.py), and check-in
# staff check people in and nothing else. The groups come from the apps' migrations.
DEMO_ROLE_GROUPS = {
    "editor": ["Editors"],
    "moderator": ["Moderators", "List moderators"],
    "check-in": ["Check-in staff"],
}

TESTIMONIALS = [
    (
        "The email network is the first place I ask. When our biologics prior authorizations "
        "stalled, three managers had answered with their exact workflow before lunch.",
        "Denise Carter",
        "Practice Administrator",
        "Blue Ridge Arthritis Associates",
    ),
    (
        "I came to my first NORM conference with a list of problems and left with a list of "
        "people who had already solved them. The break-outs on coding paid for the trip.",
        "Marcus Nguyen",
        "Office Manager",
        "Lakeshore Rheumatology",
    ),
    (
        "Our whole front office joined on the practice membership. The articles are now part of "
        "how we train new staff.",
        "Alicia Romero",
        "Director of Operations",
        "Desert Sun Rheumatology Center",
    ),
]


def _link(label, url="", page=None):
    return ("link", {"label": label, "url": url, "page": page})


def load(stdout) -> None:
    home = _home_page()
    # Absolute links (canonical, og:url, sitemap, feeds) are built from the Site's address.
    sync_default_site()
    _navigation(home)
    _testimonials()
    _users(stdout)


def _home_page() -> HomePage:
    home = HomePage.objects.first()
    if home:
        return home
    # A transactional test flush removes even the tree root Wagtail's migration made.
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    home = HomePage(
        title="Home",
        slug="norm",
        hero_kicker="National Organization of Rheumatology Managers",
        hero_title="Run a better rheumatology practice, together.",
        hero_text=(
            "NORM connects practice managers across the country: practical articles, a "
            "peer email network that answers in hours, and an annual conference built "
            "around the problems you face on Monday morning."
        ),
        hero_primary=[_link("Become a member", "/membership/join/")],
        hero_secondary=[_link("Annual conference", "/conferences/")],
        offers=[
            (
                "offer",
                {
                    "icon": "star",
                    "title": "Membership benefits",
                    "text": "Members-only articles, the national email network, salary surveys and member pricing at every event.",
                    "link": {"label": "See the benefits", "url": "/membership/", "page": None},
                },
            ),
            (
                "offer",
                {
                    "icon": "user-plus",
                    "title": "Become a member",
                    "text": "Join as an individual or enroll your whole practice. Dues renew yearly and cover everyone on your team.",
                    "link": {"label": "Join NORM", "url": "/membership/join/", "page": None},
                },
            ),
            (
                "offer",
                {
                    "icon": "calendar",
                    "title": "Annual conference",
                    "text": "Two days of plenaries and hands-on break-outs on billing, staffing, compliance and leadership.",
                    "link": {"label": "See the program", "url": "/conferences/", "page": None},
                },
            ),
            (
                "offer",
                {
                    "icon": "ticket",
                    "title": "Conference registration",
                    "text": "Register yourself and your staff in one order, with member and early-bird prices applied for you.",
                    "link": {"label": "Register now", "url": "/conferences/", "page": None},
                },
            ),
        ],
    )
    root.add_child(instance=home)
    home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    old_root = site.root_page if site else None
    if site:
        site.root_page = home
        site.site_name = "NORM"
        site.save()
    else:
        Site.objects.create(
            hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="NORM"
        )
    # Wagtail's installer leaves a "Welcome" page at the root; the demo home replaces it.
    if (
        old_root
        and old_root.pk != home.pk
        and old_root.depth == 2
        and not old_root.get_children().exists()
    ):
        old_root.delete()
    return home


def _navigation(home: HomePage) -> None:
    site = Site.objects.get(is_default_site=True)
    nav = NavigationSettings.for_site(site)
    if not nav.membership_headline:
        # NORM's logo and colours are the portal's defaults; its membership page speaks to
        # the managers it serves.
        nav.membership_headline = "Belong to the people who run rheumatology practices"
        nav.save()
    if nav.primary_links:
        return
    nav.primary_links = [
        _link("Articles", "/articles/"),
        _link("Membership", "/membership/"),
        _link("Conference", "/conferences/"),
        _link("Discussions", "/discussions/"),
    ]
    nav.footer_links = [
        _link("About NORM", "/"),
        _link("Articles", "/articles/"),
        _link("Become a member", "/membership/join/"),
        _link("Annual conference", "/conferences/"),
    ]
    nav.footer_text = (
        "The National Organization of Rheumatology Managers supports the people who run "
        "rheumatology practices: education, a national peer network and an annual conference."
    )
    nav.contact_email = "hello@norm.local"
    nav.address = "1200 Practice Way, Suite 300, Chicago, IL 60601"
    nav.save()


def _testimonials() -> None:
    for order, (quote, name, title, practice) in enumerate(TESTIMONIALS):
        Testimonial.objects.get_or_create(
            name=name,
            defaults={"quote": quote, "title": title, "practice": practice, "sort_order": order},
        )


def _users(stdout) -> None:
    User = get_user_model()
    for email, password, first, last, role in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                username=email.split("@")[0],
                email=email,
                password=password,
                first_name=first,
                last_name=last,
            )
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if role == "staff":
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        else:
            user.groups.add(*Group.objects.filter(name__in=DEMO_ROLE_GROUPS.get(role, [])))
    stdout.write("Demo logins (demo mode only):")
    for email, password, _first, _last, role in DEMO_USERS:
        stdout.write(f"  {role:<15} {email:<24} {password}")

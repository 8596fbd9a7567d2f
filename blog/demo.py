"""Demo articles: the index page, authors, categories and six posts (one members-only), with
featured images and author photos drawn here with Pillow, so nothing is downloaded.

Every step looks before it creates, so loading twice changes nothing.
"""

import datetime
import io
import math
import random

from django.contrib.auth import get_user_model
from django.core.files.images import ImageFile
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from .models import Author, BlogCategory, BlogIndexPage, BlogPostAuthor, BlogPostPage

SEED_TITLE = "Eight Qualities and Skills Medical Office Managers Must Have"

QUALITIES = [
    (
        "Natural leadership qualities",
        "A medical office runs on people, and people look to the manager when a schedule collapses or a payer changes its rules overnight. Good managers set the tone: calm, clear about priorities, and willing to make the call. They lead by example at the front desk as readily as in the budget meeting.",
    ),
    (
        "A strong communicator",
        "Managers translate between physicians, clinical staff, billing teams, vendors and patients, each with their own vocabulary. Writing a clear policy, explaining a denied claim to a worried patient and giving a colleague honest feedback are all the same skill: saying what matters so that it is understood.",
    ),
    (
        "Detail-oriented",
        "A transposed digit in a policy number or a missed prior authorization can cost a practice thousands of dollars and a patient weeks of delayed treatment. The best managers build checklists and habits that catch small errors before they become expensive ones.",
    ),
    (
        "Self-confident",
        "Managers negotiate with payers, push back on vendors and bring hard news to physician owners. Confidence grounded in preparation lets them hold a position when the facts support it and change course without fuss when they do not.",
    ),
    (
        "Customer service-oriented",
        "Every process in the office ends with a patient. A manager who keeps the patient's experience in view, from the first phone call to the final statement, builds a practice people recommend to their friends and their doctors.",
    ),
    (
        "Dependable",
        "Staff need to know that what the manager promised will happen: the schedule will be posted, the payroll question answered, the broken printer replaced. Reliability is how trust is earned, one small commitment at a time.",
    ),
    (
        "A motivator",
        "Turnover is expensive and morale is contagious. Managers who recognize good work, explain the why behind changes and give people room to grow keep experienced staff, and experienced staff keep the practice running smoothly.",
    ),
    (
        "Diligent",
        "Regulations change, codes are revised every year and new therapies bring new billing rules. Diligent managers keep learning, follow through on the tedious work of compliance and finish what they start.",
    ),
]


def seed_body() -> list:
    """The seed article's body as StreamField data, shared with the blog's richer page type."""
    responsibilities = [
        "Training, supervising, and scheduling staff",
        "Maintaining and organizing records",
        "Improving quality and efficiency",
        "Accounting, budgeting, and billing",
        "Ensuring the facility is compliant with applicable law and regulations",
    ]
    body = [
        ("heading", "What is a medical office manager?"),
        (
            "paragraph",
            "<p>A medical office manager keeps the business side of a practice running so that "
            "clinicians can focus on patients. The role varies with the size of the practice, "
            "but it usually includes:</p><ul>"
            + "".join(f"<li>{item}</li>" for item in responsibilities)
            + "</ul><p>Doing all of that well takes a particular set of qualities. Here are the "
            "eight we hear about most often from NORM members.</p>",
        ),
    ]
    for number, (title, text) in enumerate(QUALITIES, start=1):
        body.append(("heading", f"{number}. {title}"))
        body.append(("paragraph", f"<p>{text}</p>"))
    body.append(
        (
            "paragraph",
            "<p>No one arrives with all eight fully formed. The managers we admire most treat "
            "them as skills to practice: they ask peers how they handled a difficult situation, "
            "they learn from the conference break-outs, and they pass on what they know to the "
            "next person stepping into the role.</p>",
        )
    )
    return body


AUTHORS = [
    # (name, role, bio, colour)
    (
        "Karen Whitfield",
        "Practice Administrator, Piedmont Arthritis Clinic",
        "Karen has run rheumatology practices for twenty years and chairs NORM's education "
        "committee. She still answers the front-desk phone when it rings long enough.",
        "#1f4e8c",
    ),
    (
        "David Osei",
        "Revenue Cycle Director, Great Lakes Rheumatology",
        "David leads billing and prior authorization for a twelve-physician group and teaches "
        "the coding break-outs at the annual conference.",
        "#2f7d6d",
    ),
    (
        "Linda Park",
        "Compliance Officer, Sierra Rheumatology Partners",
        "Linda has prepared practices for payer audits in five states and writes NORM's "
        "compliance checklists.",
        "#8a3b5c",
    ),
]

CATEGORIES = [
    ("Practice management", "practice-management", "Running the business side of a practice."),
    ("Leadership", "leadership", "Leading teams, hiring and keeping good people."),
    ("Revenue cycle", "revenue-cycle", "Billing, coding, prior authorization and payers."),
    ("Compliance", "compliance", "Audits, regulations and the paperwork that protects you."),
]

PALETTES = {
    "practice-management": ("#163a69", "#2f6ab8", "#f0b23e"),
    "leadership": ("#3b2a63", "#6d55b8", "#f0b23e"),
    "revenue-cycle": ("#134e4a", "#2f8f83", "#f6d365"),
    "compliance": ("#5a1f3a", "#a23b6b", "#ffd39a"),
}


def _png(image: PILImage.Image, fmt: str = "JPEG") -> io.BytesIO:
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=88) if fmt == "JPEG" else image.save(buffer, fmt)
    buffer.seek(0)
    return buffer


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def draw_featured(seed: str, palette: tuple[str, str, str], motif: str) -> PILImage.Image:
    """A 1600x900 abstract cover in the category's colours: a diagonal gradient, soft circles
    and a motif (bars, rings, grid or waves) so each article looks different."""
    width, height = 1600, 900
    rng = random.Random(seed)  # noqa: S311 decoration, not security
    dark, mid, light = (_hex(c) for c in palette)
    image = PILImage.new("RGB", (width, height), dark)
    pixels = ImageDraw.Draw(image)
    for x in range(0, width + height, 4):
        t = x / (width + height)
        colour = tuple(int(dark[i] + (mid[i] - dark[i]) * t) for i in range(3))
        pixels.line([(x, 0), (x - height, height)], fill=colour, width=5)
    glow = PILImage.new("RGBA", (width, height), (0, 0, 0, 0))
    glow_draw = ImageDraw.Draw(glow)
    for _ in range(7):
        r = rng.randint(120, 360)
        cx, cy = rng.randint(0, width), rng.randint(0, height)
        glow_draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(*mid, 90))
    glow = glow.filter(ImageFilter.GaussianBlur(40))
    image.paste(glow, (0, 0), glow)
    draw = ImageDraw.Draw(image, "RGBA")
    accent = (*light, 235)
    soft = (255, 255, 255, 60)
    if motif == "bars":
        base = height - 160
        for i in range(9):
            h = 90 + int(60 * i + 40 * math.sin(i + rng.random()))
            x = 860 + i * 72
            draw.rounded_rectangle([x, base - h, x + 46, base], 10, fill=accent if i == 8 else soft)
    elif motif == "rings":
        for i in range(5):
            r = 90 + i * 70
            draw.ellipse([1180 - r, 450 - r, 1180 + r, 450 + r], outline=soft, width=10)
        draw.ellipse([1140, 410, 1220, 490], fill=accent)
    elif motif == "grid":
        for row in range(5):
            for col in range(7):
                x, y = 880 + col * 95, 190 + row * 105
                filled = rng.random() < 0.25
                draw.rounded_rectangle([x, y, x + 70, y + 76], 12, fill=accent if filled else soft)
    else:
        for i in range(6):
            points = [
                (x, 520 + i * 42 + 60 * math.sin(x / 140 + i)) for x in range(700, width + 40, 20)
            ]
            draw.line(points, fill=accent if i == 2 else soft, width=8)
    draw.rounded_rectangle([120, 640, 520, 660], 10, fill=accent)
    draw.rounded_rectangle([120, 690, 400, 706], 8, fill=soft)
    return image


def draw_portrait(name: str, colour: str) -> PILImage.Image:
    """A 480x480 stylised portrait: a head-and-shoulders silhouette on the author's colour."""
    size = 480
    base = _hex(colour)
    image = PILImage.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / size
        draw.line([(0, y), (size, y)], fill=tuple(min(255, int(c + 70 * t)) for c in base))
    rng = random.Random(name)  # noqa: S311 decoration
    skin = rng.choice([(241, 203, 170), (198, 140, 100), (141, 85, 60), (224, 172, 130)])
    hair = rng.choice([(40, 30, 25), (90, 60, 40), (150, 110, 70), (60, 60, 70)])
    draw.ellipse([90, 330, 390, 640], fill=(245, 245, 250))
    draw.rectangle([205, 280, 275, 350], fill=skin)
    draw.ellipse([150, 100, 330, 300], fill=hair)
    draw.ellipse([165, 125, 315, 305], fill=skin)
    draw.chord([160, 95, 320, 240], 180, 360, fill=hair)
    return image


def _image(title: str, alt: str, picture: PILImage.Image, filename: str):
    Image = get_image_model()
    existing = Image.objects.filter(title=title).first()
    if existing:
        return existing
    image = Image(title=title, description=alt)
    image.file = ImageFile(_png(picture), name=filename)
    image.save()
    return image


def _p(*paragraphs: str) -> tuple:
    return ("paragraph", "".join(f"<p>{p}</p>" for p in paragraphs))


def _list(items: list[str], ordered: bool = False) -> tuple:
    tag = "ol" if ordered else "ul"
    return ("paragraph", f"<{tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{tag}>")


def _quote(text: str, who: str) -> tuple:
    return ("quote", {"quote": text, "attribution": who})


def _cta(title: str, text: str, page, label: str) -> tuple:
    return (
        "call_to_action",
        {"title": title, "text": text, "page": page, "button_label": label},
    )


def prior_auth_body(home, chart) -> list:
    return [
        _p(
            "Biologics and targeted synthetic drugs are now the backbone of rheumatology, and "
            "almost every one of them needs a prior authorization. A practice that treats a "
            "few hundred patients on these drugs files thousands of requests a year. When the "
            "process depends on one person's memory, it breaks the week that person is away."
        ),
        ("heading", "Start from a single queue"),
        _p(
            "The practices with the fewest delays put every request, new or renewal, into one "
            "queue that the whole team can see. A spreadsheet works; a work queue in the "
            "practice management system works better. What matters is that each request has "
            "an owner, a due date and a status that anyone can read."
        ),
        _list(
            [
                "Open the request the day the physician decides on the drug, not when the "
                "pharmacy calls.",
                "Attach the last two visit notes, labs and the list of failed conventional "
                "therapies before you submit.",
                "Record the payer's reference number and the date a decision is due.",
                "Check pending requests every morning and chase anything past its due date.",
            ],
            ordered=True,
        ),
        (
            "image",
            {
                "image": chart,
                "alt_text": "A bar chart rising from left to right, with the last bar "
                "highlighted in gold.",
                "caption": "Approvals on first submission rose month by month once renewals "
                "were opened sixty days ahead.",
            },
        ),
        ("heading", "Renewals are where time is lost"),
        _p(
            "Most authorizations expire after six or twelve months, and a lapsed authorization "
            "means a canceled infusion or a patient without medication. Run a report of "
            "expiring authorizations every week and start renewals sixty days ahead."
        ),
        _quote(
            "We stopped treating renewals as surprises. Once they were on a calendar, our "
            "canceled infusions dropped to almost none.",
            "Infusion coordinator, NORM member practice",
        ),
        ("heading", "Measure it"),
        (
            "table",
            {
                "data": [
                    ["Measure", "Before", "After six months"],
                    ["Median days to decision", "9", "4"],
                    ["Approved on first submission", "71%", "88%"],
                    ["Infusions canceled for lapsed authorization", "14 a month", "2 a month"],
                ],
                "first_row_is_table_header": True,
                "first_col_is_header": False,
                "table_caption": "One member practice's prior authorization results",
            },
        ),
        _cta(
            "Ask the people who have solved it",
            "Members share their payer-by-payer tips on the national email network every day.",
            home,
            "Join NORM",
        ),
    ]


def infusion_body(home) -> list:
    return [
        _p(
            "An infusion suite earns its keep when chairs are full and patients are seen on "
            "time. Both depend on a schedule that respects how long each drug really takes and "
            "what has to happen before the first drop goes in."
        ),
        ("heading", "Book by drug, not by slot"),
        _p(
            "A thirty-minute injection and a four-hour infusion should not share a template. "
            "Build appointment types for each drug with the chair time, nurse time and pharmacy "
            "preparation it needs, and let the schedule fit them together."
        ),
        _list(
            [
                "Confirm the authorization and benefits three business days ahead.",
                "Order or reserve the drug once the authorization is confirmed.",
                "Call the patient the day before to check for infections or new medicines.",
            ]
        ),
        _quote(
            "The best thing we did was give the infusion nurses the schedule for the next week "
            "on Thursday. They spot the problems we miss.",
            "Karen Whitfield",
        ),
        ("heading", "Keep a short waitlist"),
        _p(
            "Cancellations happen. A list of patients who can come in at short notice turns an "
            "empty chair into a treated patient and keeps the suite's numbers healthy."
        ),
    ]


def front_desk_body(home) -> list:
    return [
        _p(
            "The front desk is the first and last impression a patient has of the practice, "
            "and in many practices it has the highest turnover of any team. Hiring well and "
            "keeping people takes more than a fair wage, although that is where it starts."
        ),
        ("heading", "Hire for temperament, train for systems"),
        _p(
            "You can teach someone the scheduling system in a week. You cannot teach patience "
            "with a frightened patient on a Monday morning. Ask candidates how they handled a "
            "difficult person, and listen for curiosity rather than blame."
        ),
        ("heading", "A first month with a plan"),
        _list(
            [
                "Week one: shadowing, with a named colleague to ask.",
                "Week two: check-in and check-out with someone beside them.",
                "Weeks three and four: the phones, insurance verification and the portal.",
                "End of the month: a conversation about what is working and what is not.",
            ],
            ordered=True,
        ),
        _quote(
            "People stay where they are trusted, trained and thanked. None of those cost much.",
            "Karen Whitfield",
        ),
        _cta(
            "Staffing break-outs at the annual conference",
            "Two sessions on hiring and retention, led by managers who cut turnover in half.",
            home,
            "See the conference",
        ),
    ]


def survey_body(home) -> list:
    return [
        _p(
            "Each year NORM asks member practices about their staffing, salaries and workloads. "
            "This year 214 practices answered, from solo physicians to groups of thirty. These "
            "are the figures members ask us about most."
        ),
        ("heading", "Staffing ratios"),
        (
            "table",
            {
                "data": [
                    [
                        "Practice size (physicians)",
                        "Staff per physician",
                        "Front desk per physician",
                    ],
                    ["1 to 2", "4.6", "1.3"],
                    ["3 to 6", "4.1", "1.1"],
                    ["7 or more", "3.8", "0.9"],
                ],
                "first_row_is_table_header": True,
                "first_col_is_header": False,
                "table_caption": "Median staff per full-time physician, 2026 survey",
            },
        ),
        ("heading", "Salaries"),
        _p(
            "Median base pay for practice managers rose 4.2% on last year, and 6.1% for "
            "managers who also lead an infusion suite. Practices that offered a retention bonus "
            "after the first year reported half the front-desk turnover of those that did not."
        ),
        _quote(
            "The survey is the first thing I bring to the partners' budget meeting.",
            "Practice administrator, Ohio",
        ),
        _p(
            "The full tables, with figures by region and practice size, are in the members' "
            "area of the conference app and on the email network's file library."
        ),
    ]


def audit_body(home) -> list:
    return [
        _p(
            "A letter from a payer asking for records can unsettle a whole office. Most audits "
            "end well for practices that document carefully and answer promptly. Here is how to "
            "be ready before the letter arrives."
        ),
        ("heading", "Know what they will ask for"),
        _list(
            [
                "Visit notes that support the level of service billed.",
                "Infusion records with start and stop times for each drug.",
                "Signed orders and the authorization for each biologic.",
                "Evidence that the drug was bought and handled as billed.",
            ]
        ),
        ("heading", "Run your own audit first"),
        _p(
            "Each quarter, pull ten random visits and ten infusions and check them against the "
            "claims as an auditor would. Share what you find with the physicians as a lesson, "
            "not a reprimand; the goal is better notes, not fewer claims."
        ),
        _quote(
            "The practices that do well in audits are the ones that already audit themselves.",
            "Linda Park",
        ),
        ("heading", "When the letter comes"),
        _p(
            "Note the deadline, tell your physicians and your billing lead the same day, and "
            "send exactly what was asked for, organized and indexed. Keep a copy of everything "
            "you send and a record of when you sent it."
        ),
    ]


def load(stdout) -> None:
    site = Site.objects.get(is_default_site=True)
    home = site.root_page
    index = BlogIndexPage.objects.first()
    if index is None:
        index = BlogIndexPage(
            title="Articles",
            slug="articles",
            intro="Practical advice for the people who run rheumatology practices.",
        )
        home.add_child(instance=index)
        index.save_revision().publish()
    specific_home = home.specific
    if hasattr(specific_home, "articles_index_id") and not specific_home.articles_index_id:
        specific_home.articles_index = index
        specific_home.save_revision().publish()

    categories = {}
    for name, slug, description in CATEGORIES:
        categories[slug], _ = BlogCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )
    authors = {}
    for name, role, bio, colour in AUTHORS:
        author = Author.objects.filter(name=name).first()
        if author is None:
            photo = _image(
                f"Portrait of {name}",
                f"Illustrated portrait of {name}",
                draw_portrait(name, colour),
                f"author-{name.lower().replace(' ', '-')}.jpg",
            )
            author = Author.objects.create(name=name, role=role, bio=bio, photo=photo)
        authors[name] = author
    # The demo editor writes as themselves: their new articles start signed by this profile.
    editor = get_user_model().objects.filter(email="editor@norm.local").first()
    if editor is not None and not Author.objects.filter(user=editor).exists():
        name = f"{editor.first_name} {editor.last_name}"
        photo = _image(
            f"Portrait of {name}",
            f"Illustrated portrait of {name}",
            draw_portrait(name, AUTHORS[0][3]),
            f"author-{name.lower().replace(' ', '-')}.jpg",
        )
        Author.objects.create(name=name, role="Editor", user=editor, photo=photo)

    chart = _image(
        "Prior authorization approvals chart",
        "A bar chart rising from left to right, with the last bar highlighted in gold.",
        draw_featured("chart", PALETTES["revenue-cycle"], "bars"),
        "prior-authorization-chart.jpg",
    )
    posts = [
        {
            "slug": "eight-qualities-and-skills-medical-office-managers-must-have",
            "title": SEED_TITLE,
            "subtitle": "What separates a good practice manager from a great one",
            "intro": (
                "Medical office managers keep rheumatology practices running. These are the "
                "qualities and skills that set the best of them apart."
            ),
            "category": "practice-management",
            "tags": ["Leadership", "Practice management"],
            "authors": ["Karen Whitfield"],
            "days_ago": 3,
            "motif": "rings",
            "alt": "Concentric rings in blue with a gold center, on a deep blue background.",
            "members_only": False,
            "body": seed_body(),
        },
        {
            "slug": "prior-authorization-for-biologics-a-workflow-that-holds-up",
            "title": "Prior Authorization for Biologics: A Workflow That Holds Up",
            "subtitle": "One queue, early renewals and a few numbers to watch",
            "intro": (
                "Biologics need prior authorization, and renewals are where most practices "
                "lose time. A simple, shared workflow cuts delays and canceled infusions."
            ),
            "category": "revenue-cycle",
            "tags": ["Prior authorization", "Biologics", "Revenue cycle"],
            "authors": ["David Osei"],
            "days_ago": 12,
            "motif": "bars",
            "alt": "Rising green bars with one gold bar, on a teal background.",
            "members_only": False,
            "body": prior_auth_body(home, chart),
        },
        {
            "slug": "infusion-suite-scheduling-without-the-chaos",
            "title": "Infusion Suite Scheduling Without the Chaos",
            "subtitle": "",
            "intro": (
                "Full chairs and patients seen on time: how practices schedule infusions by "
                "drug, confirm benefits early and keep a short waitlist."
            ),
            "category": "practice-management",
            "tags": ["Infusion", "Scheduling", "Practice management"],
            "authors": ["Karen Whitfield", "David Osei"],
            "days_ago": 26,
            "motif": "grid",
            "alt": "A grid of rounded squares, a few of them gold, on a blue background.",
            "members_only": False,
            "body": infusion_body(home),
        },
        {
            "slug": "hiring-and-keeping-great-front-desk-staff",
            "title": "Hiring and Keeping Great Front Desk Staff",
            "subtitle": "Temperament first, then a first month with a plan",
            "intro": (
                "The front desk has the highest turnover in many practices. Hiring for "
                "temperament and planning the first month keeps good people longer."
            ),
            "category": "leadership",
            "tags": ["Leadership", "Staffing"],
            "authors": ["Karen Whitfield"],
            "days_ago": 41,
            "motif": "waves",
            "alt": "Flowing purple and gold waves on a dark violet background.",
            "members_only": False,
            "body": front_desk_body(home),
        },
        {
            "slug": "2026-salary-and-staffing-survey-highlights",
            "title": "2026 Salary and Staffing Survey: The Highlights",
            "subtitle": "Staffing ratios and pay from 214 member practices",
            "intro": (
                "This year's member survey covers staffing ratios, manager salaries and "
                "front-desk turnover in 214 rheumatology practices."
            ),
            "category": "practice-management",
            "tags": ["Benchmarking", "Staffing"],
            "authors": ["David Osei"],
            "days_ago": 55,
            "motif": "bars",
            "alt": "Blue bars of different heights with one gold bar, on a navy background.",
            "members_only": True,
            "body": survey_body(home),
        },
        {
            "slug": "preparing-for-a-payer-audit",
            "title": "Preparing for a Payer Audit",
            "subtitle": "",
            "intro": (
                "Most audits end well for practices that document carefully and answer "
                "promptly. How to get ready before the letter arrives."
            ),
            "category": "compliance",
            "tags": ["Compliance", "Revenue cycle"],
            "authors": ["Linda Park"],
            "days_ago": 70,
            "motif": "rings",
            "alt": "Pink rings around a gold dot, on a deep plum background.",
            "members_only": False,
            "body": audit_body(home),
        },
    ]
    today = timezone.localdate()
    for spec in posts:
        if BlogPostPage.objects.filter(slug=spec["slug"]).exists():
            continue
        category = categories[spec["category"]]
        image = _image(
            spec["title"],
            spec["alt"],
            draw_featured(spec["slug"], PALETTES[category.slug], spec["motif"]),
            spec["slug"][:60] + ".jpg",
        )
        post = BlogPostPage(
            title=spec["title"],
            slug=spec["slug"],
            subtitle=spec["subtitle"],
            intro=spec["intro"],
            date=today - datetime.timedelta(days=spec["days_ago"]),
            category=category,
            featured_image=image,
            members_only=spec["members_only"],
            body=spec["body"],
        )
        for order, name in enumerate(spec["authors"]):
            post.post_authors.add(BlogPostAuthor(author=authors[name], sort_order=order))
        post.tags.add(*spec["tags"])
        index.add_child(instance=post)
        post.save_revision().publish()
        published = timezone.now() - datetime.timedelta(days=spec["days_ago"])
        Page.objects.filter(pk=post.pk).update(
            first_published_at=published, last_published_at=published
        )

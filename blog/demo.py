"""Demo articles: the seed article and its index page."""

from wagtail.models import Site

from .models import BlogIndexPage, BlogPostPage

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
        "Turnover is expensive and morale is contagious. Managers who recognise good work, explain the why behind changes and give people room to grow keep experienced staff, and experienced staff keep the practice running smoothly.",
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
            "them as skills to practise: they ask peers how they handled a difficult situation, "
            "they learn from the conference break-outs, and they pass on what they know to the "
            "next person stepping into the role.</p>",
        )
    )
    return body


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
    if not BlogPostPage.objects.filter(title=SEED_TITLE).exists():
        post = BlogPostPage(
            title=SEED_TITLE,
            slug="eight-qualities-and-skills-medical-office-managers-must-have",
            intro=(
                "Medical office managers keep rheumatology practices running. These are the "
                "qualities and skills that set the best of them apart."
            ),
            body=seed_body(),
        )
        index.add_child(instance=post)
        post.save_revision().publish()

"""Demo people: a treasurer, a moderator, an auditor, leads, members and backers."""

import functools
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from .enums import PublicIdentity, Role
from .models import User
from .services import membership_shares_add, role_grant

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (published demo login)
DEMO_DOMAIN = "demo.biencommun.example"

FIRST_NAMES = [
    "Camille",
    "Léa",
    "Hugo",
    "Inès",
    "Malik",
    "Chloé",
    "Yanis",
    "Manon",
    "Nora",
    "Théo",
    "Awa",
    "Lucas",
    "Sofia",
    "Jules",
    "Amina",
    "Louis",
    "Zoé",
    "Karim",
    "Emma",
    "Paul",
    "Lina",
    "Noé",
    "Jade",
    "Samir",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Diallo",
    "Petit",
    "Nguyen",
    "Moreau",
    "Haddad",
    "Laurent",
    "Fontaine",
    "Garcia",
    "Rousseau",
    "Benali",
    "Lefebvre",
    "Mercier",
    "Traoré",
    "Girard",
    "Bonnet",
    "Dupont",
    "Morel",
    "Faure",
]


@functools.cache
def _demo_password_hash() -> str:
    # Hashing once: a strong password hash takes a noticeable fraction of a second.
    return make_password(DEMO_PASSWORD)


def _person(email: str, name: str, identity: str = PublicIdentity.NAME) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create(
            email=email, password=_demo_password_hash(), display_name=name, public_identity=identity
        )
    return user


@transaction.atomic
def seed(*, context: dict[str, Any]) -> None:
    rng = context["rng"]
    staff = {
        Role.TREASURER: _person(f"treasurer@{DEMO_DOMAIN}", "Claire Trésorière"),
        Role.MODERATOR: _person(f"moderator@{DEMO_DOMAIN}", "Omar Modérateur"),
        Role.AUDITOR: _person(f"auditor@{DEMO_DOMAIN}", "Anne Auditrice"),
    }
    for role, user in staff.items():
        role_grant(user=user, role=role)
    admin = _person(f"admin@{DEMO_DOMAIN}", "Admin")
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    demo = _person(f"demo@{DEMO_DOMAIN}", "Dominique Démo")
    leads = [
        _person(f"lead{i}@{DEMO_DOMAIN}", f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        for i in range(1, 7)
    ]
    for lead in leads:
        role_grant(user=lead, role=Role.LEAD)
    people = []
    identities = [PublicIdentity.NAME, PublicIdentity.PSEUDONYM, PublicIdentity.ANONYMOUS]
    for i in range(context["people"]):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        people.append(_person(f"person{i:03d}@{DEMO_DOMAIN}", name, rng.choice(identities)))
    context.update(staff=staff, admin=admin, demo=demo, leads=leads, people=people)
    for person in [demo, *people[: len(people) // 2]]:
        membership_shares_add(user=person, shares=rng.randint(1, 4))

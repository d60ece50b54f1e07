"""The demo org's made-up but believable data: the catalog, and how a customer's answers depend on who and where."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

UNITS = [
    ("emea", "EMEA"), ("emea/de", "Germany"), ("emea/de/berlin-01", "Berlin Mitte"),
    ("emea/de/munich-01", "München Zentrum"), ("emea/fr", "France"), ("emea/fr/paris-01", "Paris Opéra"),
    ("amer", "Americas"), ("amer/us", "United States"), ("amer/us/nyc-01", "New York 5th Ave"),
    ("amer/us/sf-01", "San Francisco Market St"),
]  # fmt: skip
STORES = [path for path, _ in UNITS if path.count("/") == 2]
# How each store does (added to the NPS latent score) and what its unhappy customers complain about most.
STORE_EFFECT = {"emea/de/berlin-01": 0.6, "emea/de/munich-01": 1.0, "emea/fr/paris-01": -0.4,
                "amer/us/nyc-01": -1.0, "amer/us/sf-01": 0.2}  # fmt: skip
STORE_PROBLEM = {"emea/de/berlin-01": "delivery", "emea/de/munich-01": "price", "emea/fr/paris-01": "staff",
                 "amer/us/nyc-01": "delivery", "amer/us/sf-01": "app"}  # fmt: skip
TIER_EFFECT = {"gold": 1.2, "silver": 0.3, "bronze": -0.6}
TOUCHPOINTS = {
    "delivery": {"name": "Home delivery", "journey": "purchase", "stage": "fulfil"},
    "support": {"name": "Support call", "journey": "service", "stage": "resolve"},
    "store": {"name": "Store visit", "journey": "purchase", "stage": "buy"},
    "relationship": {"name": "Annual relationship", "journey": "relationship", "stage": "retain"},
}


def _both(en: str, de: str) -> dict[str, str]:
    return {"en": en, "de": de}


REASONS = {"delivery": _both("Delivery", "Lieferung"), "price": _both("Price", "Preis"),
           "staff": _both("Staff", "Personal"), "app": _both("App or website", "App oder Website"),
           "quality": _both("Product quality", "Produktqualität")}  # fmt: skip
SURVEYS: dict[str, dict[str, Any]] = {
    "nps": {
        "name": "Relationship NPS+", "kind": "relational", "languages": ["en", "de"],
        "questions": [
            {"key": "nps", "kind": "nps", "required": True,
             "prompt": _both("How likely are you to recommend us?", "Wie wahrscheinlich empfehlen Sie uns?")},
            {"key": "reasons", "kind": "reasons", "prompt": _both("What let you down?", "Was hat Sie enttäuscht?"),
             "options": [{"code": code, "label": label} for code, label in REASONS.items()]},
            {"key": "why", "kind": "text", "show_if": {"question": "nps", "op": "<=", "value": 8},
             "prompt": _both("What could we do better?", "Was können wir besser machen?")},
            {"key": "staff", "kind": "csat", "scale_min": 1, "scale_max": 5,
             "prompt": _both("How satisfied are you with our staff?", "Wie zufrieden sind Sie mit unserem Personal?")},
            {"key": "value", "kind": "rating", "scale_min": 1, "scale_max": 5,
             "prompt": _both("How do you rate value for money?", "Wie bewerten Sie das Preis-Leistungs-Verhältnis?")},
        ],
    },
    "csat": {
        "name": "After the support call", "kind": "transactional", "languages": ["en", "de"],
        "questions": [{"key": "csat", "kind": "csat", "required": True,
                       "prompt": _both("How satisfied are you with the call?", "Wie zufrieden waren Sie?")}],
    },
    "ces": {
        "name": "After delivery", "kind": "transactional", "languages": ["en"],
        "questions": [{"key": "ces", "kind": "ces", "required": True,
                       "prompt": {"en": "How easy was it to get your order?"}}],
    },
    "rating": {
        "name": "Store visit", "kind": "in_the_moment", "languages": ["en"],
        "questions": [{"key": "visit", "kind": "rating", "scale_min": 1, "scale_max": 5, "required": True,
                       "prompt": {"en": "How was your visit today?"}}],
    },
}  # fmt: skip
SURVEY_TOUCHPOINT = {"nps": "relationship", "csat": "support", "ces": "delivery", "rating": "store"}
COMMENTS = {
    "delivery": _both("The parcel came three days late.", "Das Paket kam drei Tage zu spät."),
    "price": _both("Too expensive for what you get.", "Zu teuer für das, was man bekommt."),
    "staff": _both("Nobody at the counter could help me.", "Niemand am Schalter konnte mir helfen."),
    "app": _both("The app kept logging me out at checkout.", "Die App hat mich beim Bezahlen abgemeldet."),
    "quality": _both("It broke after a week.", "Nach einer Woche war es kaputt."),
}
ROOT_CAUSES = [
    ("delivery", None, {"en": "Delivery"}), ("delivery.late", "delivery", {"en": "Late delivery"}),
    ("delivery.damaged", "delivery", {"en": "Damaged parcel"}), ("price", None, {"en": "Pricing"}),
    ("staff", None, {"en": "Staff"}), ("staff.training", "staff", {"en": "Staff training"}),
    ("app", None, {"en": "App and website"}), ("quality", None, {"en": "Product quality"}),
]  # fmt: skip
CAUSE_OF = {
    "delivery": "delivery.late",
    "price": "price",
    "staff": "staff.training",
    "app": "app",
    "quality": "quality",
}


def contact(rng: random.Random, index: int) -> dict[str, Any]:
    """A contact in a store, with a tier, a segment and a product; German stores' customers speak German."""
    store = rng.choice(STORES)
    tier = rng.choices(["gold", "silver", "bronze"], weights=[2, 5, 3])[0]
    return {
        "external_id": f"demo-c{index:06d}",
        "email": f"customer{index}@example.com",
        "locale": "de" if store.startswith("emea/de") else "en",
        "unit": store,
        "attributes": {"tier": tier, "segment": rng.choice(["consumer", "consumer", "business"]),
                       "product": rng.choice(["basic", "plus", "pro"])},
    }  # fmt: skip


def _latent(rng: random.Random, store: str, tier: str, when: dt.datetime) -> float:
    """The customer's mood on a 0-10 scale: store and tier effects, a winter dip and noise."""
    season = -0.5 * math.cos(2 * math.pi * (when.timetuple().tm_yday - 15) / 365)
    return 7.2 + STORE_EFFECT[store] + TIER_EFFECT[tier] - season + rng.gauss(0, 2.0)


def _when(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A year back, more answers recently (a fifth in the last 30 days, so cases open)."""
    days = rng.uniform(0, 29) if rng.random() < 0.2 else rng.uniform(0, 364)
    return (now - dt.timedelta(days=days, minutes=rng.uniform(0, 600))).replace(microsecond=0)


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def response(
    rng: random.Random, index: int, who: dict[str, Any], surveys: dict[str, dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    """One backdated response of a contact to one of the four surveys, its scores driven by the latent mood."""
    key = rng.choices(["nps", "csat", "ces", "rating"], weights=[60, 20, 15, 5])[0]
    when, store, tier = _when(rng, now), who["unit"], who["attributes"]["tier"]
    mood = _latent(rng, store, tier, when)
    language = who["locale"] if who["locale"] in surveys[key]["languages"] else "en"
    answers: dict[str, Any]
    if key == "nps":
        score = _clip(mood, 0, 10)
        answers = {"nps": score, "staff": _clip(1 + mood / 2.5 + rng.gauss(0, 0.6), 1, 5),
                   "value": _clip(1 + mood / 2.7 + rng.gauss(0, 0.8), 1, 5)}  # fmt: skip
        if score <= 8:
            problem = STORE_PROBLEM[store] if rng.random() < 0.6 else rng.choice(list(REASONS))
            answers["reasons"] = [problem]
            if score <= 6 or rng.random() < 0.3:
                answers["why"] = COMMENTS[problem][language]
    elif key == "csat":
        answers = {"csat": _clip(mood / 2, 1, 5)}
    elif key == "ces":
        answers = {"ces": _clip(mood * 0.7, 1, 7)}
    else:
        answers = {"visit": _clip(mood / 2, 1, 5)}
    return {
        "survey_id": surveys[key]["id"], "external_id": f"demo-r{index:07d}",
        "contact": {"external_id": who["external_id"]}, "channel": rng.choice(["email", "email", "sms", "web"]),
        "language": language, "submitted_at": when.isoformat(), "answers": answers,
    }  # fmt: skip


def outcome(rng: random.Random, external_id: str, nps: int, now: dt.datetime) -> dict[str, Any] | None:
    """What a contact did after answering: detractors churn far more often than promoters, who renew."""
    churn = 0.30 if nps <= 6 else 0.12 if nps <= 8 else 0.06
    roll = rng.random()
    if roll < churn:
        kind, value = "churned", None
    elif roll < churn + 0.4:
        kind, value = "renewed", None
    elif roll < churn + 0.6:
        kind, value = "revenue", round(rng.lognormvariate(4 + nps / 10, 0.5), 2)
    else:
        return None
    at = (now - dt.timedelta(hours=rng.uniform(1, 48))).replace(microsecond=0)
    body = {"external_id": f"demo-o-{external_id}", "contact": {"external_id": external_id}, "kind": kind,
            "occurred_at": at.isoformat()}  # fmt: skip
    return body | ({"value": value} if value is not None else {})


def activity(rng: random.Random) -> dict[str, Any]:
    """The owner's call to the customer."""
    reached = rng.random() < 0.8
    text = "Called the customer and apologised." if reached else "No answer; left a voicemail."
    return {"kind": "call", "channel": "phone", "text": text, "reached_customer": reached}


def resolution(rng: random.Random) -> dict[str, Any]:
    """Resolve with root causes and an outcome (most customers are won back)."""
    cause = CAUSE_OF[rng.choice(list(CAUSE_OF))]
    outcome_of = rng.choices(["recovered", "not_recovered", "unreachable"], weights=[6, 3, 1])[0]
    return {"status": "resolved", "root_causes": [cause], "outcome": outcome_of,
            "resolution": "Refunded the delivery fee and escalated to the store manager."}  # fmt: skip

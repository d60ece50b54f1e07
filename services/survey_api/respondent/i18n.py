"""The respondent's language, and the hosted pages' own words (prompts and labels come from the survey)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

FALLBACK = "en"

UI: dict[str, dict[str, str]] = {
    "en": {
        "survey_title": "Survey",
        "required": "required",
        "optional": "optional",
        "next": "Next",
        "submit": "Submit",
        "other": "Other",
        "other_text": "Other (please specify)",
        "choose_language": "Language",
        "error_summary": "Please check your answers",
        "error_required": "Please answer this question.",
        "error_choice": "Please choose one of the options.",
        "error_too_long": "Please shorten your answer.",
        "error_no_other": "Please tick “Other” as well, or clear this text.",
        "error_not_shown": "This question does not apply to your answers.",
        "error_empty": "Please answer at least one question.",
        "error_generic": "This answer could not be saved.",
        "thanks_title": "Thank you!",
        "thanks_body": "Your answers have been received. You can close this page now.",
        "expired_title": "This survey link has expired",
        "expired_body": "The survey can no longer be answered with this link. Thank you for your interest.",
        "closed_title": "This survey is closed",
        "closed_body": "The survey no longer takes answers. Thank you for your interest.",
        "not_found_title": "Survey not found",
        "not_found_body": "This link is not valid. Please check that you copied the whole link from your message.",
        "rate_title": "Too many requests",
        "rate_body": "Please wait a minute and try again.",
        "error_title": "Something went wrong",
        "error_body": "We could not show this page. Please try again later.",
        "unsubscribe_title": "Unsubscribe from surveys",
        "unsubscribe_body": "You will no longer receive survey invitations from us.",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_body": "You will not receive further survey invitations from us.",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "csat_low": "Very dissatisfied",
        "csat_high": "Very satisfied",
        "ces_low": "Very difficult",
        "ces_high": "Very easy",
        "rating_low": "Poor",
        "rating_high": "Excellent",
        "emotion_low": "Very negative",
        "emotion_high": "Very positive",
        "emotion_1": "Very unhappy",
        "emotion_2": "Unhappy",
        "emotion_3": "Neutral",
        "emotion_4": "Happy",
        "emotion_5": "Very happy",
        "success_yes": "Yes",
        "success_partly": "Partly",
        "success_no": "No",
    },
    "de": {
        "survey_title": "Umfrage",
        "required": "Pflichtfrage",
        "optional": "optional",
        "next": "Weiter",
        "submit": "Absenden",
        "other": "Sonstiges",
        "other_text": "Sonstiges (bitte angeben)",
        "choose_language": "Sprache",
        "error_summary": "Bitte prüfen Sie Ihre Antworten",
        "error_required": "Bitte beantworten Sie diese Frage.",
        "error_choice": "Bitte wählen Sie eine der Möglichkeiten.",
        "error_too_long": "Bitte kürzen Sie Ihre Antwort.",
        "error_no_other": "Bitte kreuzen Sie auch „Sonstiges“ an oder löschen Sie diesen Text.",
        "error_not_shown": "Diese Frage gilt für Ihre Antworten nicht.",
        "error_empty": "Bitte beantworten Sie mindestens eine Frage.",
        "error_generic": "Diese Antwort konnte nicht gespeichert werden.",
        "thanks_title": "Vielen Dank!",
        "thanks_body": "Ihre Antworten sind angekommen. Sie können diese Seite jetzt schließen.",
        "expired_title": "Dieser Umfragelink ist abgelaufen",
        "expired_body": "Mit diesem Link kann die Umfrage nicht mehr beantwortet werden. Danke für Ihr Interesse.",
        "closed_title": "Diese Umfrage ist beendet",
        "closed_body": "Die Umfrage nimmt keine Antworten mehr an. Danke für Ihr Interesse.",
        "not_found_title": "Umfrage nicht gefunden",
        "not_found_body": "Dieser Link ist ungültig. Bitte prüfen Sie, ob Sie den ganzen Link kopiert haben.",
        "rate_title": "Zu viele Anfragen",
        "rate_body": "Bitte warten Sie eine Minute und versuchen Sie es erneut.",
        "error_title": "Etwas ist schiefgelaufen",
        "error_body": "Diese Seite konnte nicht angezeigt werden. Bitte versuchen Sie es später erneut.",
        "unsubscribe_title": "Von Umfragen abmelden",
        "unsubscribe_body": "Sie erhalten dann keine Umfrage-Einladungen mehr von uns.",
        "unsubscribe_button": "Abmelden",
        "unsubscribed_title": "Sie sind abgemeldet",
        "unsubscribed_body": "Sie erhalten keine weiteren Umfrage-Einladungen von uns.",
        "nps_low": "Überhaupt nicht wahrscheinlich",
        "nps_high": "Äußerst wahrscheinlich",
        "csat_low": "Sehr unzufrieden",
        "csat_high": "Sehr zufrieden",
        "ces_low": "Sehr schwierig",
        "ces_high": "Sehr einfach",
        "rating_low": "Schlecht",
        "rating_high": "Ausgezeichnet",
        "emotion_low": "Sehr negativ",
        "emotion_high": "Sehr positiv",
        "emotion_1": "Sehr unglücklich",
        "emotion_2": "Unglücklich",
        "emotion_3": "Neutral",
        "emotion_4": "Glücklich",
        "emotion_5": "Sehr glücklich",
        "success_yes": "Ja",
        "success_partly": "Teilweise",
        "success_no": "Nein",
    },
}


def base(tag: str) -> str:
    """The primary language of a tag (`de` for `de-AT`)."""
    return tag.split("-", 1)[0].lower()


def choose_language(languages: Sequence[str], default: str, *wanted: str | None) -> str:
    """The first wanted language the survey has (exactly, else by primary language); else its default."""
    for tag in wanted:
        if not tag:
            continue
        if tag in languages:
            return tag
        same_base = [language for language in languages if base(language) == base(tag)]
        if same_base:
            return same_base[0]
    return default


def ui(language: str) -> Mapping[str, str]:
    """The pages' own words in `language` (English when we have none in it)."""
    return UI.get(base(language), UI[FALLBACK])


def ui_language(language: str) -> str:
    """The language `ui(language)` is really in."""
    return base(language) if base(language) in UI else FALLBACK


def localized(text: Mapping[str, str], language: str, default: str) -> str:
    """A survey text in `language`, else in the survey's default language, else in any it has."""
    return text.get(language) or text.get(default) or next(iter(text.values()), "")


def from_accept_language(header: str | None) -> str:
    """The best of our UI languages for an `Accept-Language` header (for pages without an invitation)."""
    ranked: list[tuple[float, str]] = []
    for part in (header or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and base(tag) in UI:
            ranked.append((quality, base(tag)))
    ranked.sort(key=lambda item: -item[0])
    return ranked[0][1] if ranked and ranked[0][0] > 0 else FALLBACK

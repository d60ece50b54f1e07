"""The built-in invitation texts, per language: email subject and body, the SMS line, the reminder variants.

`{survey}` is the survey's title in the invitation's language as published (its name when it has none). A
language without a template falls back to the survey's default language, then to English.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One language's invitation texts."""

    subject: str
    reminder_subject: str
    greeting: str
    greeting_named: str
    ask: str
    reminder_ask: str
    button: str
    ignore: str
    unsubscribe: str
    sms: str
    sms_reminder: str


TEMPLATES: dict[str, Template] = {
    "en": Template(
        subject="{survey}: how did we do?",
        reminder_subject="Reminder \u2013 {survey}: how did we do?",
        greeting="Hello,",
        greeting_named="Hello {name},",
        ask="We would love to hear about your experience. Answering takes about a minute.",
        reminder_ask="A quick reminder: we would still love to hear about your experience. It takes a minute.",
        button="Take the survey",
        ignore="If the button does not work, open this link:",
        unsubscribe="Don't want survey invitations from us? Unsubscribe:",
        sms="{survey}: how did we do? {url}",
        sms_reminder="Reminder - {survey}: how did we do? {url}",
    ),
    "de": Template(
        subject="{survey}: Wie war Ihre Erfahrung?",
        reminder_subject="Erinnerung \u2013 {survey}: Wie war Ihre Erfahrung?",
        greeting="Guten Tag,",
        greeting_named="Guten Tag {name},",
        ask="Wir würden gern von Ihrer Erfahrung hören. Die Antwort dauert etwa eine Minute.",
        reminder_ask="Eine kurze Erinnerung: Ihre Meinung ist uns weiterhin wichtig. Es dauert nur eine Minute.",
        button="Zur Umfrage",
        ignore="Falls die Schaltfläche nicht funktioniert, öffnen Sie diesen Link:",
        unsubscribe="Sie möchten keine Umfragen mehr von uns erhalten? Abmelden:",
        sms="{survey}: Wie war Ihre Erfahrung? {url}",
        sms_reminder="Erinnerung - {survey}: Wie war Ihre Erfahrung? {url}",
    ),
    "fr": Template(
        subject="{survey} : votre avis nous intéresse",
        reminder_subject="Rappel \u2013 {survey} : votre avis nous intéresse",
        greeting="Bonjour,",
        greeting_named="Bonjour {name},",
        ask="Nous aimerions connaître votre expérience. Répondre prend environ une minute.",
        reminder_ask="Petit rappel : votre avis nous intéresse toujours. Cela prend une minute.",
        button="Répondre",
        ignore="Si le bouton ne fonctionne pas, ouvrez ce lien :",
        unsubscribe="Vous ne souhaitez plus recevoir nos enquêtes ? Se désabonner :",
        sms="{survey} : votre avis ? {url}",
        sms_reminder="Rappel - {survey} : votre avis ? {url}",
    ),
    "es": Template(
        subject="{survey}: ¿qué tal lo hicimos?",
        reminder_subject="Recordatorio \u2013 {survey}: ¿qué tal lo hicimos?",
        greeting="Hola,",
        greeting_named="Hola, {name}:",
        ask="Nos encantaría conocer su experiencia. Responder lleva un minuto.",
        reminder_ask="Un breve recordatorio: su opinión nos sigue interesando. Lleva un minuto.",
        button="Responder la encuesta",
        ignore="Si el botón no funciona, abra este enlace:",
        unsubscribe="¿No desea recibir nuestras encuestas? Darse de baja:",
        sms="{survey}: ¿qué tal lo hicimos? {url}",
        sms_reminder="Recordatorio - {survey}: ¿qué tal lo hicimos? {url}",
    ),
}


def template_for(language: str | None, fallback: str | None = None) -> Template:
    """The template of `language` (or its base language), else of `fallback`, else English."""
    for candidate in (language, fallback):
        if candidate:
            found = TEMPLATES.get(candidate) or TEMPLATES.get(candidate.split("-")[0])
            if found is not None:
                return found
    return TEMPLATES["en"]

"""Readable words for the codes of the contract: member names, code lists, countries.

The words here are English message ids (marked ``N_`` for extraction); the
page shows them through the translation catalogue of the reader's language
(Dutch first). Country and language names come from Babel's CLDR data,
reached from the contract's ISO 3166 alpha-3 and ISO 639 codes through
pycountry; a code neither knows is shown as the code.
"""

from __future__ import annotations

import functools

import pycountry
from babel import Locale, UnknownLocaleError

from connectors.consoles import words
from connectors.consoles.i18n import N_, gettext
from gateway.client.schemas import Catalog, load_catalog


@functools.cache
def catalog() -> Catalog:
    return load_catalog()


CATEGORIES = words.CATEGORIES
"""shared with the auditor's console (``consoles.words``): one list, one translation"""

FIELDS = {
    "given_names": N_("Given names"),
    "family_name": N_("Family name"),
    "birth_date": N_("Date of birth"),
    "gender": N_("Gender"),
    "nationalities": N_("Nationalities"),
    "country_of_birth": N_("Country of birth"),
    "v_number": N_("V-number"),
    "bsn": N_("BSN"),
    "municipality_code": N_("Municipality code"),
    "permit_date": N_("Residence permit date"),
    "taakstelling": N_("Housing target period"),
    "year": N_("Year"),
    "half": N_("Half year"),
    "housing_status": N_("Housing"),
    "housing_needs": N_("Housing needs"),
    "members": N_("Family members"),
    "relation": N_("Relation"),
    "birth_year": N_("Year of birth"),
    "in_household": N_("In the household"),
    "joining_later": N_("Joining later (family reunification)"),
    "highest_level": N_("Highest level of education"),
    "country": N_("Country"),
    "years": N_("Years"),
    "diplomas": N_("Diplomas"),
    "title": N_("Title"),
    "level": N_("Level"),
    "evaluated": N_("Valued by Nuffic/IDW"),
    "literate_latin_script": N_("Literate in the Latin script"),
    "positions": N_("Positions"),
    "occupation": N_("Occupation"),
    "sector": N_("Sector"),
    "spoken": N_("Languages spoken"),
    "language": N_("Language"),
    "native": N_("Native"),
    "dutch": N_("Dutch"),
    "english": N_("English"),
    "listening": N_("Listening"),
    "reading": N_("Reading"),
    "speaking": N_("Speaking"),
    "writing": N_("Writing"),
    "ambitions": N_("Ambitions"),
    "hobbies": N_("Hobbies"),
    "capacities": N_("Capacities"),
    "follow_up_notes": N_("Follow-up notes"),
    "ggd_referral": N_("Referred to the GGD"),
    "adaptations_needed": N_("Adaptations needed"),
    "nt2_lessons_hours": N_("Dutch lessons followed in the reception centre (hours)"),
    "knm_followed": N_("KNM followed"),
    "intro_map_done": N_("MAP introduction done"),
    "intro_pvt_done": N_("PVT introduction done"),
    "notes": N_("Notes"),
    "route": N_("Route"),
    "provider": N_("Provider"),
    "period": N_("Period"),
    "from": N_("From"),
    "until": N_("Until"),
    "status": N_("Status"),
    "hours_planned": N_("Hours planned"),
    "hours_attended": N_("Hours attended"),
    "absences": N_("Absences"),
    "date": N_("Date"),
    "hours": N_("Hours"),
    "reason": N_("Reason"),
    "assessments": N_("Assessments"),
    "skill": N_("Skill"),
    "method": N_("Method"),
    "results": N_("Results"),
    "exam": N_("Exam"),
    "part": N_("Part"),
    "result": N_("Result"),
    "items": N_("Modules"),
    "name": N_("Name"),
    "completed_on": N_("Completed on"),
    "language_and_knm": N_("Dutch lessons and KNM"),
    "participation": N_("Participation"),
    "broad_intake": N_("During the broad intake"),
    "dropout_risk": N_("Dropout risk"),
    "referral_advice": N_("Referral advice"),
    "step_down_advice": N_("Advice to step down"),
    "plan_id": N_("Plan"),
    "plan_version": N_("Version"),
    "change_reason": N_("Reason for change"),
    "dated": N_("Dated (dagtekening)"),
    "estimated_hours_b1": N_("Estimated hours to B1"),
    "may_finish_current_education": N_("May finish current education"),
    "literacy": N_("Literacy"),
    "components": N_("Components"),
    "participation_goals": N_("Participation goals"),
}

VALUES = {
    "female": N_("female"),
    "male": N_("male"),
    "x": N_("X"),
    "unknown": N_("unknown"),
    "in-azc": N_("in a reception centre (azc)"),
    "housing-offered": N_("housing offered"),
    "housed": N_("housed"),
    "temporary-housing": N_("temporary housing"),
    "family-reunification-housing": N_("housing for family reunification"),
    "ground-floor": N_("ground floor"),
    "wheelchair-accessible": N_("wheelchair accessible"),
    "large-household": N_("large household"),
    "near-care-facility": N_("near care"),
    "near-education": N_("near education"),
    "single-room": N_("a room of one's own"),
    "other": N_("other"),
    "partner": N_("partner"),
    "child": N_("child"),
    "parent": N_("parent"),
    "sibling": N_("brother or sister"),
    "none": N_("none"),
    "primary": N_("primary school"),
    "lower-secondary": N_("lower secondary"),
    "upper-secondary": N_("upper secondary"),
    "vocational": N_("vocational"),
    "bachelor": N_("bachelor"),
    "master": N_("master"),
    "doctorate": N_("doctorate"),
    "b1-route": N_("B1 route"),
    "onderwijsroute": N_("education route"),
    "z-route": N_("Z route (self-reliance)"),
    "active": N_("active"),
    "paused": N_("paused"),
    "completed": N_("completed"),
    "stopped": N_("stopped"),
    "planned": N_("planned"),
    "in-progress": N_("in progress"),
    "dropped": N_("dropped"),
    "illness": N_("illness"),
    "work": N_("work"),
    "care-duties": N_("care duties"),
    "appointment": N_("appointment"),
    "unexcused": N_("unexcused"),
    "exam": N_("exam"),
    "test": N_("test"),
    "teacher-assessment": N_("teacher's assessment"),
    "portfolio": N_("portfolio"),
    "knm": N_("KNM"),
    "map": N_("MAP"),
    "pvt": N_("PVT"),
    "ontzorgen": N_("relief (ontzorgen)"),
    "inburgeringsexamen": N_("civic integration exam"),
    "staatsexamen-nt2-i": N_("state exam NT2 I"),
    "staatsexamen-nt2-ii": N_("state exam NT2 II"),
    "passed": N_("passed"),
    "failed": N_("failed"),
    "exempt": N_("exempt"),
    "scheduled": N_("scheduled"),
    "no-show": N_("did not attend"),
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "social-services": N_("social services"),
    "health-care": N_("health care"),
    "debt-counselling": N_("debt counselling"),
    "work-coach": N_("work coach"),
    "initial": N_("first plan"),
    "schakelen": N_("switching route"),
    "afschalen": N_("stepping down to A2"),
    "verhuizing": N_("moving house"),
    "correctie": N_("correction"),
    "A": N_("alphabetised"),
    "AA": N_("not literate (alfa)"),
    "NVT": N_("not applicable"),
    "brede-intake": N_("broad intake"),
    "pip": N_("integration plan"),
    "voortgang": N_("progress"),
    "participatie": N_("participation"),
    "listening": N_("listening"),
    "reading": N_("reading"),
    "speaking": N_("speaking"),
    "writing": N_("writing"),
}

SIGNALS = {
    "no-plan": N_("no plan yet"),
    "no-progress": N_("no progress report"),
    "low-attendance": N_("low attendance"),
    "behind-plan": N_("behind the plan"),
    "term-ending": N_("term ending"),
    "dropout-risk": N_("risk of dropping out"),
}

COUNTRY_FIELDS = frozenset({"nationalities", "country_of_birth", "country"})
LANGUAGE_FIELDS = frozenset({"language"})


def category(code: str) -> str:
    return gettext(CATEGORIES.get(code, code))


def field(name: str) -> str:
    return gettext(FIELDS[name]) if name in FIELDS else name.replace("_", " ")


def value(code: str, name: str = "") -> str:
    """A code's words; countries and languages by name in the reader's language."""
    if name in COUNTRY_FIELDS:
        return country(code)
    if name in LANGUAGE_FIELDS:
        return language(code)
    return gettext(VALUES[code]) if code in VALUES else code


def signal(code: str) -> str:
    return gettext(SIGNALS.get(code, code))


def _locale() -> Locale:
    from connectors.consoles.i18n import current_language

    try:
        return Locale.parse(current_language())
    except (UnknownLocaleError, ValueError):
        return Locale.parse("nl")


def country(alpha3: str) -> str:
    found = pycountry.countries.get(alpha_3=alpha3)
    if found is None:
        return gettext("stateless") if alpha3 in ("XXA", "XXX") else alpha3
    name = _locale().territories.get(found.alpha_2)
    return str(name or found.name)


def language(code: str) -> str:
    found = pycountry.languages.get(alpha_3=code) if len(code) == 3 else None
    alpha2 = getattr(found, "alpha_2", None) if found else code
    name = _locale().languages.get(alpha2 or code) or _locale().languages.get(code)
    return str(name or (found.name if found else code))

"""The time zones a reader can choose: a short list by region, in French, and behind
« Autre » every IANA zone a place uses, grouped by continent.

What the full list leaves out of `zoneinfo.available_timezones()`: the names that are
no place (`Factory`, `localtime`, `posixrules`, `Etc/GMT+3`…), the old country and
state names (`W-SU`, `US/Eastern`, `Canada/Atlantic`, `GB`…) and the old spellings
that tzdata keeps for compatibility (`Asia/Calcutta`, `Europe/Kiev`…): what is left is
the zones of tzdata's `zone.tab`, plus `UTC`. Browsers still report some old
spellings (Chromium: `Asia/Calcutta`), so `canonical` maps them to today's name.
"""

import unicodedata
import zoneinfo
from functools import cache

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

OTHER = "autre"
UTC = "UTC"

_REGIONS = {
    "Africa": _("Afrique"),
    "America": _("Amériques"),
    "Antarctica": _("Antarctique"),
    "Arctic": _("Arctique"),
    "Asia": _("Asie"),
    "Atlantic": _("Océan Atlantique"),
    "Australia": _("Australie"),
    "Europe": _("Europe"),
    "Indian": _("Océan Indien"),
    "Pacific": _("Océan Pacifique"),
}

# The short list: (group, [(zone, label)]). Where one zone covers several places, the
# label names the one readers look for (Montréal is America/Toronto in tzdata).
SHORT_LIST = (
    (
        _("France et Europe"),
        (
            ("Europe/Paris", _("Paris")),
            ("Europe/Brussels", _("Bruxelles")),
            ("Europe/Luxembourg", _("Luxembourg")),
            ("Europe/Zurich", _("Genève")),
            ("Europe/Monaco", _("Monaco")),
            ("Europe/London", _("Londres")),
            ("Europe/Lisbon", _("Lisbonne")),
            ("Europe/Bucharest", _("Bucarest")),
        ),
    ),
    (
        _("Québec et Canada"),
        (
            ("America/Toronto", _("Montréal")),
            ("America/Moncton", _("Moncton")),
            ("America/Halifax", _("Halifax")),
            ("America/St_Johns", _("Saint-Jean de Terre-Neuve")),
            ("America/Miquelon", _("Saint-Pierre-et-Miquelon")),
            ("America/Winnipeg", _("Winnipeg")),
            ("America/Edmonton", _("Edmonton")),
            ("America/Vancouver", _("Vancouver")),
        ),
    ),
    (
        _("Antilles-Guyane"),
        (
            ("America/Martinique", _("Martinique")),
            ("America/Guadeloupe", _("Guadeloupe")),
            ("America/Marigot", _("Saint-Martin")),
            ("America/St_Barthelemy", _("Saint-Barthélemy")),
            ("America/Cayenne", _("Cayenne")),
            ("America/Port-au-Prince", _("Port-au-Prince")),
        ),
    ),
    (
        _("Afrique centrale et de l’Ouest"),
        (
            ("Africa/Abidjan", _("Abidjan")),
            ("Africa/Dakar", _("Dakar")),
            ("Africa/Bamako", _("Bamako")),
            ("Africa/Ouagadougou", _("Ouagadougou")),
            ("Africa/Conakry", _("Conakry")),
            ("Africa/Lome", _("Lomé")),
            ("Africa/Porto-Novo", _("Cotonou, Porto-Novo")),
            ("Africa/Niamey", _("Niamey")),
            ("Africa/Douala", _("Douala, Yaoundé")),
            ("Africa/Libreville", _("Libreville")),
            ("Africa/Brazzaville", _("Brazzaville")),
            ("Africa/Kinshasa", _("Kinshasa")),
            ("Africa/Lubumbashi", _("Lubumbashi")),
            ("Africa/Bangui", _("Bangui")),
            ("Africa/Ndjamena", _("N’Djaména")),
        ),
    ),
    (
        _("Maghreb"),
        (
            ("Africa/Casablanca", _("Casablanca")),
            ("Africa/Algiers", _("Alger")),
            ("Africa/Tunis", _("Tunis")),
        ),
    ),
    (
        _("Océan Indien"),
        (
            ("Indian/Reunion", _("La Réunion")),
            ("Indian/Mayotte", _("Mayotte")),
            ("Indian/Mauritius", _("Maurice")),
            ("Indian/Antananarivo", _("Antananarivo")),
            ("Indian/Comoro", _("Comores")),
            ("Indian/Mahe", _("Seychelles")),
        ),
    ),
    (
        _("Océan Pacifique"),
        (
            ("Pacific/Noumea", _("Nouméa")),
            ("Pacific/Tahiti", _("Papeete")),
            ("Pacific/Wallis", _("Wallis-et-Futuna")),
        ),
    ),
)

# French names of places in the full list that are not in the short list; the others
# are the zone's own place name (`America/Argentina/Buenos_Aires`: « Buenos Aires »).
_PLACES = {
    "Africa/Cairo": _("Le Caire"),
    "Africa/Djibouti": _("Djibouti"),
    "Africa/Johannesburg": _("Johannesbourg"),
    "Africa/Nouakchott": _("Nouakchott"),
    "Africa/Kigali": _("Kigali"),
    "Africa/Bujumbura": _("Bujumbura"),
    "Africa/Malabo": _("Malabo"),
    "Africa/Tripoli": _("Tripoli"),
    "America/New_York": _("New York"),
    "America/Mexico_City": _("Mexico"),
    "America/Havana": _("La Havane"),
    "America/Sao_Paulo": _("São Paulo"),
    "America/Bogota": _("Bogota"),
    "America/Lima": _("Lima"),
    "America/Toronto": _("Montréal, Toronto"),
    "Asia/Beirut": _("Beyrouth"),
    "Asia/Ho_Chi_Minh": _("Hô-Chi-Minh-Ville"),
    "Asia/Phnom_Penh": _("Phnom Penh"),
    "Asia/Vientiane": _("Vientiane"),
    "Asia/Kolkata": _("Inde (Calcutta, New Delhi)"),
    "Asia/Shanghai": _("Chine (Pékin, Shanghai)"),
    "Asia/Singapore": _("Singapour"),
    "Asia/Tokyo": _("Tokyo"),
    "Asia/Jerusalem": _("Jérusalem"),
    "Asia/Dubai": _("Dubaï"),
    "Atlantic/Canary": _("Canaries"),
    "Atlantic/Azores": _("Açores"),
    "Atlantic/Cape_Verde": _("Cap-Vert"),
    "Europe/Amsterdam": _("Amsterdam"),
    "Europe/Athens": _("Athènes"),
    "Europe/Berlin": _("Berlin"),
    "Europe/Copenhagen": _("Copenhague"),
    "Europe/Madrid": _("Madrid"),
    "Europe/Moscow": _("Moscou"),
    "Europe/Rome": _("Rome"),
    "Europe/Vienna": _("Vienne"),
    "Europe/Warsaw": _("Varsovie"),
    "Europe/Zurich": _("Genève, Zurich"),
    "Indian/Kerguelen": _("Kerguelen"),
    "Pacific/Marquesas": _("Marquises"),
    "Pacific/Gambier": _("Gambier"),
}

# tzdata's `backward` names under a region prefix, with the zone of the same place
# today; they are valid names, never offered, and read as today's name.
_OLD_NAMES = {
    "Africa/Asmera": "Africa/Asmara",
    "Africa/Timbuktu": "Africa/Bamako",
    "America/Argentina/ComodRivadavia": "America/Argentina/Catamarca",
    "America/Atka": "America/Adak",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Catamarca": "America/Argentina/Catamarca",
    "America/Coral_Harbour": "America/Atikokan",
    "America/Cordoba": "America/Argentina/Cordoba",
    "America/Ensenada": "America/Tijuana",
    "America/Fort_Wayne": "America/Indiana/Indianapolis",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Jujuy": "America/Argentina/Jujuy",
    "America/Knox_IN": "America/Indiana/Knox",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Mendoza": "America/Argentina/Mendoza",
    "America/Montreal": "America/Toronto",
    "America/Nipigon": "America/Toronto",
    "America/Pangnirtung": "America/Iqaluit",
    "America/Porto_Acre": "America/Rio_Branco",
    "America/Rainy_River": "America/Winnipeg",
    "America/Rosario": "America/Argentina/Cordoba",
    "America/Santa_Isabel": "America/Tijuana",
    "America/Shiprock": "America/Denver",
    "America/Thunder_Bay": "America/Toronto",
    "America/Virgin": "America/St_Thomas",
    "America/Yellowknife": "America/Edmonton",
    "Antarctica/South_Pole": "Antarctica/McMurdo",
    "Asia/Ashkhabad": "Asia/Ashgabat",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Chongqing": "Asia/Shanghai",
    "Asia/Chungking": "Asia/Shanghai",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Harbin": "Asia/Shanghai",
    "Asia/Istanbul": "Europe/Istanbul",
    "Asia/Kashgar": "Asia/Urumqi",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Macao": "Asia/Macau",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Tel_Aviv": "Asia/Jerusalem",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ujung_Pandang": "Asia/Makassar",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Atlantic/Jan_Mayen": "Arctic/Longyearbyen",
    "Australia/ACT": "Australia/Sydney",
    "Australia/Canberra": "Australia/Sydney",
    "Australia/Currie": "Australia/Hobart",
    "Australia/LHI": "Australia/Lord_Howe",
    "Australia/NSW": "Australia/Sydney",
    "Australia/North": "Australia/Darwin",
    "Australia/Queensland": "Australia/Brisbane",
    "Australia/South": "Australia/Adelaide",
    "Australia/Tasmania": "Australia/Hobart",
    "Australia/Victoria": "Australia/Melbourne",
    "Australia/West": "Australia/Perth",
    "Australia/Yancowinna": "Australia/Broken_Hill",
    "Europe/Belfast": "Europe/London",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Nicosia": "Asia/Nicosia",
    "Europe/Tiraspol": "Europe/Chisinau",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Johnston": "Pacific/Honolulu",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Samoa": "Pacific/Pago_Pago",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Yap": "Pacific/Chuuk",
}

# Old names without a region that browsers, imports or other platforms still send.
_OLD_NAMES_OUTSIDE_REGIONS = {
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Hawaii": "Pacific/Honolulu",
    "US/Arizona": "America/Phoenix",
    "Canada/Eastern": "America/Toronto",
    "Canada/Atlantic": "America/Halifax",
    "Canada/Newfoundland": "America/St_Johns",
    "Canada/Central": "America/Winnipeg",
    "Canada/Mountain": "America/Edmonton",
    "Canada/Pacific": "America/Vancouver",
    "W-SU": "Europe/Moscow",
    "GB": "Europe/London",
    "Eire": "Europe/Dublin",
    "Portugal": "Europe/Lisbon",
    "Poland": "Europe/Warsaw",
    "Turkey": "Europe/Istanbul",
    "Egypt": "Africa/Cairo",
    "Japan": "Asia/Tokyo",
    "PRC": "Asia/Shanghai",
    "Hongkong": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "Israel": "Asia/Jerusalem",
    "Iran": "Asia/Tehran",
    "Etc/UTC": UTC,
    "Etc/GMT": UTC,
    "Etc/Universal": UTC,
    "Etc/Zulu": UTC,
    "GMT": UTC,
    "Universal": UTC,
    "Zulu": UTC,
}


@cache
def valid_zones() -> frozenset[str]:
    """Every zone offered: the places of tzdata (its zone.tab), and UTC."""
    available = zoneinfo.available_timezones()
    return frozenset(
        zone
        for zone in available
        if (zone.split("/", 1)[0] in _REGIONS and "/" in zone and zone not in _OLD_NAMES)
        or zone == UTC
    )


def canonical(value: str | None) -> str | None:
    """The offered zone a submitted name stands for (today's name for an old one), or
    None when it is no place we offer."""
    value = (value or "").strip()
    zones = valid_zones()
    if value in zones:
        return value
    today = _OLD_NAMES.get(value) or _OLD_NAMES_OUTSIDE_REGIONS.get(value)
    return today if today in zones else None


def short_zones() -> frozenset[str]:
    return frozenset(zone for _group, places in SHORT_LIST for zone, _label in places)


def _place(zone: str) -> str:
    if zone in _PLACES:
        return str(_PLACES[zone])
    parts = zone.split("/")[1:]
    name = parts[-1].replace("_", " ")
    return f"{name} ({parts[0].replace('_', ' ')})" if len(parts) > 1 else name


def _sort_key(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def short_choices() -> list:
    """The short list, grouped, then « Autre »: choices for a select."""
    return [
        *((group, list(places)) for group, places in SHORT_LIST),
        (OTHER, pgettext_lazy("time zone", "Autre (liste complète)")),
    ]


def full_choices() -> list:
    """Every offered zone grouped by continent, places in alphabetical order (in the
    active language); the first choice is empty (« nothing chosen here »)."""
    groups: dict[str, list] = {}
    for zone in valid_zones():
        if zone == UTC:
            continue
        groups.setdefault(zone.split("/", 1)[0], []).append(zone)
    choices: list = [("", pgettext_lazy("time zone", "— Choisissez —"))]
    for region, label in _REGIONS.items():
        zones = groups.get(region)
        if not zones:
            continue
        places = sorted(((zone, _place(zone)) for zone in zones), key=lambda z: _sort_key(z[1]))
        choices.append((label, places))
    if UTC in valid_zones():
        choices.append((_("Autre"), [(UTC, _("Temps universel (UTC)"))]))
    return choices


def label(zone: str) -> str:
    """The place a zone is shown as (the short list's name when it has one)."""
    for _group, places in SHORT_LIST:
        for value, text in places:
            if value == zone:
                return str(text)
    return str(_("Temps universel (UTC)")) if zone == UTC else _place(zone)

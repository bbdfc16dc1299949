"""Target languages: DeepL target codes, validated and normalised."""

from __future__ import annotations

from .errors import UnsupportedLanguage

# DeepL target language codes (https://developers.deepl.com/docs/resources/supported-languages).
TARGET_LANGUAGES: dict[str, str] = {
    "AR": "العربية",
    "BG": "Български",
    "CS": "Čeština",
    "DA": "Dansk",
    "DE": "Deutsch",
    "EL": "Ελληνικά",
    "EN-GB": "English (UK)",
    "EN-US": "English (US)",
    "ES": "Español",
    "ES-419": "Español (Latinoamérica)",
    "ET": "Eesti",
    "FI": "Suomi",
    "FR": "Français",
    "HE": "עברית",
    "HU": "Magyar",
    "ID": "Bahasa Indonesia",
    "IT": "Italiano",
    "JA": "日本語",
    "KO": "한국어",
    "LT": "Lietuvių",
    "LV": "Latviešu",
    "NB": "Norsk bokmål",
    "NL": "Nederlands",
    "PL": "Polski",
    "PT-BR": "Português (Brasil)",
    "PT-PT": "Português (Portugal)",
    "RO": "Română",
    "RU": "Русский",
    "SK": "Slovenčina",
    "SL": "Slovenščina",
    "SV": "Svenska",
    "TH": "ไทย",
    "TR": "Türkçe",
    "UK": "Українська",
    "VI": "Tiếng Việt",
    "ZH-HANS": "简体中文",
    "ZH-HANT": "繁體中文",
}

# Accepted shorthands -> canonical code.
ALIASES: dict[str, str] = {
    "EN": "EN-US",
    "PT": "PT-PT",
    "ZH": "ZH-HANS",
    "ZH-CN": "ZH-HANS",
    "ZH-SG": "ZH-HANS",
    "ZH-TW": "ZH-HANT",
    "ZH-HK": "ZH-HANT",
    "NO": "NB",
}


def normalize_language(code: str) -> str:
    """Return the canonical DeepL target code for ``code`` (case-insensitive, ``_`` or ``-``).

    Raises UnsupportedLanguage with the list of supported codes.
    """
    key = code.strip().upper().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in TARGET_LANGUAGES:
        raise UnsupportedLanguage(code, sorted(TARGET_LANGUAGES))
    return key


def is_english(code: str) -> bool:
    """English targets need no translation: arXiv metadata is English."""
    return code.upper().startswith("EN")


def base_language(code: str) -> str:
    """``ZH-HANS`` -> ``zh``: the key for UI strings."""
    return code.split("-")[0].lower()
